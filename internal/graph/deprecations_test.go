package graph

import (
	"slices"
	"testing"
)

// Deprecations: a deprecated default channel and a deprecated channel head
// are warnings (subscribers are stranded on them); bundles that upgrade
// paths pass through, and a deprecated package, are facts.
func TestDeprecations(t *testing.T) {
	p := pkg(stable, candidate)
	p.Deprecations = Deprecations{
		Package:  "use q instead",
		Channels: map[string]string{"stable": "stable ends here"},
		Bundles:  map[string]string{"p.v0.2.1": "loses data", "p.v0.3.0": "crashes on start"},
	}
	r := Analyze(p)
	var got []string
	for _, pr := range r.Problems {
		got = append(got, pr.String())
	}
	want := []string{
		`info: package p is deprecated ("use q instead")`,
		`warning: channel stable: is the default channel and deprecated ("stable ends here"): a Subscription that names no channel lands in it; make another channel the default`,
		`warning: channel stable entry p.v0.3.0: is the channel's head and deprecated ("crashes on start"): every subscriber of the channel ends on it; release a successor into the channel`,
		`warning: channel candidate entry p.v0.3.0: is the channel's head and deprecated ("crashes on start"): every subscriber of the channel ends on it; release a successor into the channel`,
		`info: channel candidate entry p.v0.2.1: is deprecated ("loses data"); upgrades from [p.v0.1.0 p.v0.2.0] pass through it on the way to the head`,
	}
	if !slices.Equal(got, want) {
		t.Errorf("findings:\n%q\nwant:\n%q", got, want)
	}
	if r.Warnings() != 3 {
		t.Errorf("%d warnings, want 3", r.Warnings())
	}
}
