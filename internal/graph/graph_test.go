package graph

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
)

func pkg(channels ...Channel) *Package {
	p := &Package{Name: "p", DefaultChannel: channels[0].Name, Channels: channels, Versions: map[string]semver.Version{}}
	for _, v := range []string{"0.1.0", "0.2.0", "0.2.1", "0.3.0"} {
		p.Versions["p.v"+v] = semver.MustParse(v)
	}
	return p
}

// The release history of this repo's catalog, one mechanism per channel.
var (
	candidate = Channel{Name: "candidate", Entries: []Entry{
		{Name: "p.v0.1.0"},
		{Name: "p.v0.2.0", Replaces: "p.v0.1.0"},
		{Name: "p.v0.2.1", Replaces: "p.v0.2.0"},
		{Name: "p.v0.3.0", Replaces: "p.v0.2.1"},
	}}
	fast = Channel{Name: "fast", Entries: []Entry{
		{Name: "p.v0.1.0"},
		{Name: "p.v0.2.0", Replaces: "p.v0.1.0"},
		{Name: "p.v0.2.1", Replaces: "p.v0.1.0", Skips: []string{"p.v0.2.0"}},
		{Name: "p.v0.3.0", Replaces: "p.v0.2.1"},
	}}
	stable = Channel{Name: "stable", Entries: []Entry{
		{Name: "p.v0.1.0"},
		{Name: "p.v0.2.1", Replaces: "p.v0.1.0"},
		{Name: "p.v0.3.0", Replaces: "p.v0.2.1", SkipRange: ">=0.1.0 <0.3.0"},
	}}
)

func channel(r *Report, name string) ChannelReport {
	for _, c := range r.Channels {
		if c.Name == name {
			return c
		}
	}
	return ChannelReport{}
}

func TestPaths(t *testing.T) {
	r := Analyze(pkg(stable, fast, candidate))
	if r.Errors() != 0 {
		t.Fatalf("problems: %v", r.Problems)
	}
	for _, tc := range []struct {
		channel, from string
		want          []string
	}{
		{"candidate", "p.v0.1.0", []string{"p.v0.2.0", "p.v0.2.1", "p.v0.3.0"}},
		{"fast", "p.v0.1.0", []string{"p.v0.2.1", "p.v0.3.0"}},
		{"fast", "p.v0.2.0", []string{"p.v0.2.1", "p.v0.3.0"}},
		// skipRange covers 0.1.0, and 0.3.0 is nearer the head than 0.2.1.
		{"stable", "p.v0.1.0", []string{"p.v0.3.0"}},
		{"stable", "p.v0.2.1", []string{"p.v0.3.0"}},
		{"stable", "p.v0.3.0", []string{}},
	} {
		got, _ := channel(r, tc.channel).Path(tc.from)
		if !slices.Equal(got, tc.want) {
			t.Errorf("%s from %s: path %v, want %v", tc.channel, tc.from, got, tc.want)
		}
	}
	if h := channel(r, "fast").Head; h != "p.v0.3.0" {
		t.Errorf("fast head = %s", h)
	}
	if s := channel(r, "fast").Skipped; !slices.Equal(s, []string{"p.v0.2.0"}) {
		t.Errorf("fast skipped = %v, want [p.v0.2.0]", s)
	}
}

func TestSwitches(t *testing.T) {
	r := Analyze(pkg(stable, fast, candidate))
	lands := map[string]string{}
	for _, s := range r.Switches {
		lands[s.From+">"+s.To+":"+s.Bundle] = s.Lands
	}
	for key, want := range map[string]string{
		// 0.2.0 is not in stable, but stable's skipRange covers it.
		"candidate>stable:p.v0.2.0": "p.v0.3.0",
		"candidate>fast:p.v0.2.0":   "p.v0.2.1",
		"stable>candidate:p.v0.1.0": "p.v0.2.0",
		"stable>fast:p.v0.3.0":      "",
	} {
		if got, ok := lands[key]; !ok || got != want {
			t.Errorf("%s lands on %q, want %q", key, got, want)
		}
	}
}

func TestProblems(t *testing.T) {
	for _, tc := range []struct {
		name string
		ch   Channel
		want string
	}{
		{"two heads", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0"}, {Name: "p.v0.2.0"}}},
			"error: channel c: channel has 2 heads ([p.v0.1.0 p.v0.2.0]): exactly one entry may be neither replaced nor skipped"},
		{"cycle", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0", Replaces: "p.v0.2.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}}},
			"error: channel c entry p.v0.1.0: is on a replaces cycle p.v0.1.0 -> p.v0.2.0 -> p.v0.1.0: OLM can never upgrade p.v0.1.0, p.v0.2.0 out of it; make each entry replace an older one"},
		{"cycle without a head", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0", Replaces: "p.v0.2.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}}},
			"error: channel c: channel has no head: every entry is replaced or skipped by another"},
		{"cycle beside a head", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.3.0"}, {Name: "p.v0.3.0", Replaces: "p.v0.2.1"}, {Name: "p.v0.2.1", Replaces: "p.v0.2.0"}}},
			"error: channel c entry p.v0.2.0: is on a replaces cycle p.v0.2.0 -> p.v0.2.1 -> p.v0.3.0 -> p.v0.2.0: OLM can never upgrade p.v0.2.0, p.v0.2.1, p.v0.3.0 out of it; make each entry replace an older one"},
		{"cycle on the head's chain", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0", Replaces: "p.v0.2.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}, {Name: "p.v0.3.0", Replaces: "p.v0.1.0", SkipRange: "<0.3.0"}}},
			"error: channel c entry p.v0.1.0: is on a replaces cycle p.v0.1.0 -> p.v0.2.0 -> p.v0.1.0 that the head's replaces chain enters: OLM cannot order the channel and fails every resolution in the namespace; make each entry replace an older one"},
		{"edge to a higher version", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.2.0"}, {Name: "p.v0.1.0", Replaces: "p.v0.2.0"}}},
			"policy: channel c entry p.v0.1.0: replaces p.v0.2.0 (0.2.0), which is not older than 0.1.0: an upgrade edge should go to a higher version"},
		{"garbage skipRange", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.3.0", SkipRange: "banana"}}},
			`error: channel c entry p.v0.3.0: skipRange "banana" does not parse: Could not get version from string: "banana"`},
		{"unbounded skipRange", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.2.0", SkipRange: ">=0.1.0"}}},
			`policy: channel c entry p.v0.2.0: skipRange ">=0.1.0" has no upper bound: it would claim every future version; end it below 0.2.0`},
		{"skipRange covers itself", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.2.0", SkipRange: ">=0.1.0 <=0.2.1"}}},
			`policy: channel c entry p.v0.2.0: skipRange ">=0.1.0 <=0.2.1" covers [p.v0.2.0 (0.2.0) p.v0.2.1 (0.2.1)], not older than 0.2.0: end it below 0.2.0`},
		{"stranded", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}, {Name: "p.v0.3.0", Skips: []string{"p.v0.2.0"}}}},
			"error: channel c entry p.v0.1.0: cannot reach the head p.v0.3.0: p.v0.2.0 (replaces it) is skipped by p.v0.3.0, and OLM prunes skipped entries"},
		{"stuck behind a skipped entry", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}, {Name: "p.v0.3.0", Replaces: "p.v0.2.0"}, {Name: "p.v0.2.1", Skips: []string{"p.v0.3.0"}}}},
			"error: channel c entry p.v0.1.0: cannot reach the head p.v0.2.1: p.v0.2.0 (replaces it) is off the head's replaces chain, along which OLM orders the channel"},
		{"a cycle the head covers in part", Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0", Replaces: "p.v0.2.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}, {Name: "p.v0.3.0", SkipRange: "<0.2.0"}}},
			"error: channel c entry p.v0.1.0: is on a replaces cycle p.v0.1.0 -> p.v0.2.0 -> p.v0.1.0: OLM can never upgrade p.v0.2.0 out of it; make each entry replace an older one"},
		{"unknown bundle", Channel{Name: "c", Entries: []Entry{{Name: "p.v9.9.9"}}},
			"error: channel c entry p.v9.9.9: names no bundle of package p"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := Analyze(pkg(tc.ch))
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.String())
			}
			if !slices.Contains(got, tc.want) {
				t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), tc.want)
			}
		})
	}
}

// Patterns of shipping public catalogs that OLM installs and upgrades: each
// is a policy finding, never an error or a warning, so the catalog's
// analysis passes; --strict (Escalate) makes them errors.
func TestShippingPatternsArePolicy(t *testing.T) {
	for _, tc := range []struct {
		name     string
		versions []string
		entries  []Entry
		want     string
	}{
		{"respin replaces its release", []string{"1.2.3", "1.2.3-1"},
			[]Entry{{Name: "p.v1.2.3"}, {Name: "p.v1.2.3-1", Replaces: "p.v1.2.3"}},
			"policy: channel c entry p.v1.2.3-1: replaces p.v1.2.3 (1.2.3), which is not older than 1.2.3-1: an upgrade edge should go to a higher version"},
		{"timestamped build whose skipRange covers itself", []string{"4.16.0", "4.17.0-202401011200"},
			[]Entry{{Name: "p.v4.16.0"}, {Name: "p.v4.17.0-202401011200", Replaces: "p.v4.16.0", SkipRange: ">=4.8.0 <4.17.0"}},
			`policy: channel c entry p.v4.17.0-202401011200: skipRange ">=4.8.0 <4.17.0" covers [p.v4.17.0-202401011200 (4.17.0-202401011200)], not older than 4.17.0-202401011200: end it below 4.17.0-202401011200`},
		{"build-metadata hotfix skips its release", []string{"2.11.0", "2.11.0+build7"},
			[]Entry{{Name: "p.v2.11.0"}, {Name: "p.v2.11.0+build7", Skips: []string{"p.v2.11.0"}}},
			"policy: channel c entry p.v2.11.0+build7: skips p.v2.11.0 (2.11.0), which is not older than 2.11.0+build7: an upgrade edge should go to a higher version"},
		{"regression", []string{"0.0.5", "0.1.2"},
			[]Entry{{Name: "p.v0.1.2"}, {Name: "p.v0.0.5", Replaces: "p.v0.1.2"}},
			"policy: channel c entry p.v0.0.5: replaces p.v0.1.2 (0.1.2), which is not older than 0.0.5: an upgrade edge should go to a higher version"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &Package{Name: "p", DefaultChannel: "c", Channels: []Channel{{Name: "c", Entries: tc.entries}}, Versions: map[string]semver.Version{}}
			for _, v := range tc.versions {
				p.Versions["p.v"+v] = semver.MustParse(v)
			}
			r := Analyze(p)
			var got []string
			for _, pr := range r.Problems {
				got = append(got, pr.String())
			}
			if r.Errors() != 0 || r.Warnings() != 0 || !slices.Contains(got, tc.want) {
				t.Errorf("%d errors, %d warnings; problems:\n  %s\nwant neither, and:\n  %s", r.Errors(), r.Warnings(), strings.Join(got, "\n  "), tc.want)
			}
			r.Escalate()
			if r.Errors() == 0 || r.Policies() != 0 {
				t.Errorf("Escalate left %d policy findings and made %d errors", r.Policies(), r.Errors())
			}
		})
	}
}

// A replaces cycle off the head's replaces chain whose every entry the
// head covers: OLM orders the channel along that chain, so it never walks
// the cycle, and each entry upgrades to the head in one hop. opm validate
// accepts the catalog when the head skips the entries (it calls entries
// only a skipRange covers stranded, and analyze reports that apart).
func TestCoveredCycleStrandsNoOne(t *testing.T) {
	for _, tc := range []struct {
		name      string
		skipRange string
		next      map[string]string
	}{
		{"the head's skipRange covers both", "<0.3.0", map[string]string{"p.v0.1.0": "p.v0.3.0", "p.v0.2.0": "p.v0.3.0"}},
		{"the head skips both", "", map[string]string{"p.v0.1.0": "p.v0.3.0", "p.v0.2.0": "p.v0.3.0"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			head := Entry{Name: "p.v0.3.0", SkipRange: tc.skipRange}
			if tc.skipRange == "" {
				head.Skips = []string{"p.v0.1.0", "p.v0.2.0"}
			}
			r := Analyze(pkg(Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0", Replaces: "p.v0.2.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}, head}}))
			want := "info: channel c entry p.v0.1.0: is on a replaces cycle p.v0.1.0 -> p.v0.2.0 -> p.v0.1.0 that OLM never walks: it is off the head's replaces chain and an entry on that chain covers each of its entries, so each upgrades out of it"
			var got []string
			for _, p := range r.Problems {
				got = append(got, p.String())
			}
			if r.Errors() != 0 || !slices.Contains(got, want) {
				t.Fatalf("problems:\n  %s\nwant no error and:\n  %s", strings.Join(got, "\n  "), want)
			}
			c := channel(r, "c")
			for from, to := range tc.next {
				if c.Next[from] != to {
					t.Errorf("%s upgrades to %q, want %s", from, c.Next[from], to)
				}
			}
		})
	}
}

// A catalog whose every entry's skipRange covers the later entries: each
// finding names a few of the covered versions and their count, so the
// report grows with the catalog, not with its square.
func TestCoveredVersionsAreSummarised(t *testing.T) {
	p := &Package{Name: "p", DefaultChannel: "c", Versions: map[string]semver.Version{}}
	ch := Channel{Name: "c"}
	const n = 200
	for i := range n {
		v := fmt.Sprintf("1.0.%d", i)
		p.Versions["p.v"+v] = semver.MustParse(v)
		e := Entry{Name: "p.v" + v, SkipRange: "<9.0.0"}
		if i > 0 {
			e.Replaces = fmt.Sprintf("p.v1.0.%d", i-1)
		}
		ch.Entries = append(ch.Entries, e)
	}
	p.Channels = []Channel{ch}
	r := Analyze(p)
	text := r.Text()
	if len(text) > 400*n {
		t.Errorf("the report of %d entries is %d bytes", n, len(text))
	}
	want := `policy: channel c entry p.v1.0.0: skipRange "<9.0.0" covers 200 versions [p.v1.0.0 (1.0.0) p.v1.0.1 (1.0.1) ... p.v1.0.99 (1.0.99)], not older than 1.0.0: end it below 1.0.0`
	if !strings.Contains(text, want) {
		t.Errorf("report lacks\n  %s", want)
	}
}

// The same package always gives the same report, text and JSON: the README
// embeds it and CI diffs it.
func TestReportIsDeterministic(t *testing.T) {
	ch := Channel{Name: "c", Entries: []Entry{
		{Name: "p.v0.1.0"}, {Name: "p.v0.2.0", Replaces: "p.v0.1.0"}, {Name: "p.v0.2.1", Replaces: "p.v0.1.0"},
		{Name: "p.v0.3.0", Replaces: "p.v0.1.0", Skips: []string{"p.v0.2.0", "p.v0.2.1"}},
	}}
	first := Analyze(pkg(ch, fast, stable))
	for range 30 {
		if got := Analyze(pkg(ch, fast, stable)); got.Text() != first.Text() || fmt.Sprint(got.Problems) != fmt.Sprint(first.Problems) {
			t.Fatalf("two analyses differ:\n%s\n---\n%s", first.Text(), got.Text())
		}
	}
}

// Empty lists are [] in the JSON report, never null.
func TestReportJSONHasNoNullLists(t *testing.T) {
	b, err := json.Marshal(Analyze(pkg(Channel{Name: "c", Entries: []Entry{{Name: "p.v0.1.0"}}})))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(b), "null") {
		t.Errorf("JSON report has null: %s", b)
	}
}

// FuzzAnalyze feeds arbitrary channels: the analysis must terminate, never
// panic, and every path it reports must follow real edges to the head.
func FuzzAnalyze(f *testing.F) {
	f.Add("p.v0.1.0", "", "", "p.v0.2.0", "p.v0.1.0", ">=0.1.0 <0.2.0", "p.v0.3.0", "p.v0.2.0", "")
	f.Add("p.v0.1.0", "p.v0.3.0", "", "p.v0.2.0", "p.v0.1.0", "", "p.v0.3.0", "p.v0.2.0", "")
	f.Add("p.v0.2.1", "", "x", "p.v0.2.0", "", "<0.2.0 || >1", "p.v0.3.0", "p.v0.2.1", ">=0.0.0")
	f.Fuzz(func(t *testing.T, n1, r1, sr1, n2, r2, sr2, n3, r3, sr3 string) {
		ch := Channel{Name: "c", Entries: []Entry{
			{Name: n1, Replaces: r1, SkipRange: sr1},
			{Name: n2, Replaces: r2, SkipRange: sr2, Skips: []string{r1}},
			{Name: n3, Replaces: r3, SkipRange: sr3},
		}}
		p := pkg(ch)
		r := Analyze(p)
		res := newResolver(p, ch)
		for _, cr := range r.Channels {
			for _, from := range cr.Bundles() {
				path, _ := cr.Path(from)
				cur := from
				for _, hop := range path {
					ok := false
					for _, c := range res.candidates(cur) {
						ok = ok || c.To == hop
					}
					if !ok {
						t.Fatalf("path %v from %s: %s is no candidate from %s", path, from, hop, cur)
					}
					cur = hop
				}
				if len(path) > 0 && cur != cr.Head {
					t.Fatalf("path %v from %s ends at %s, not the head %s", path, from, cur, cr.Head)
				}
			}
		}
		_ = fmt.Sprint(r)
	})
}

func TestFarthest(t *testing.T) {
	c := ChannelReport{Head: "v3", Next: map[string]string{"v1": "v2", "v1b": "v3", "v0": "v2", "v2": "v3"},
		Hops: map[string]int{"v0": 2, "v1": 2, "v1b": 1, "v2": 1, "v3": 0}}
	from, path := c.Farthest()
	if from != "v0" || !slices.Equal(path, []string{"v2", "v3"}) {
		t.Fatalf("got %s %v, want v0 [v2 v3] (longest path, smallest name among equals)", from, path)
	}
	if from, path := (ChannelReport{}).Farthest(); from != "" || path != nil {
		t.Fatalf("empty channel: got %q %v", from, path)
	}
}
