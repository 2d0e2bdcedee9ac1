package graph

import (
	"fmt"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
)

// The switch summary counts, per pair of channels, the bundles of the first
// that find an upgrade in the second and groups the others by reason; its
// text grows with the pairs of channels, not with pairs x entries.
func TestSwitchSummary(t *testing.T) {
	small := Analyze(pkg(
		Channel{Name: "a", Entries: []Entry{{Name: "p.v0.1.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}, {Name: "p.v0.3.0", Replaces: "p.v0.2.0"}}},
		Channel{Name: "b", Entries: []Entry{{Name: "p.v0.3.0"}}},
	))
	small.Summarize()
	if small.Switches != nil {
		t.Error("Summarize kept the matrix")
	}
	text := small.Text()
	for _, want := range []string{
		"  a -> b: 0 of 3 upgrade; already the head of b: [p.v0.3.0]; no entry of b replaces, skips or skipRange-covers it: [p.v0.1.0 p.v0.2.0]\n",
		"  b -> a: 0 of 1 upgrade; already the head of a: [p.v0.3.0]\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("summary lacks\n%s\nin\n%s", want, text)
		}
	}

	const channels, entries = 25, 40
	p := &Package{Name: "p", DefaultChannel: "c00", Versions: map[string]semver.Version{}}
	for c := range channels {
		ch := Channel{Name: fmt.Sprintf("c%02d", c)}
		for i := range entries {
			v := fmt.Sprintf("1.%d.0", i)
			p.Versions["p.v"+v] = semver.MustParse(v)
			e := Entry{Name: "p.v" + v}
			if i > 0 {
				e.Replaces = fmt.Sprintf("p.v1.%d.0", i-1)
			}
			ch.Entries = append(ch.Entries, e)
		}
		p.Channels = append(p.Channels, ch)
	}
	r := Analyze(p)
	full := len(r.Text())
	r.Summarize()
	summary := r.Text()
	if pairs := strings.Count(summary, fmt.Sprintf(" of %d upgrade", entries)); pairs != channels*(channels-1) {
		t.Errorf("%d summary lines, want one per pair of channels (%d)", pairs, channels*(channels-1))
	}
	if len(summary) > full/4 {
		t.Errorf("the summary is %d bytes of the full report's %d", len(summary), full)
	}
}
