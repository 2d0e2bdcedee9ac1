package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/graph"
)

// Diff is what a catalog change means for users, package by package: the
// release gate. Regressions are the changes that leave a user worse off: a
// package or channel removed, a bundle users may run that no longer finds
// an upgrade, an upgrade path that got longer.
type Diff struct {
	Packages []PackageDiff `json:"packages"`
}

// PackageDiff is one package's change.
type PackageDiff struct {
	Name           string        `json:"name"`
	Added          bool          `json:"added,omitempty"`
	Removed        bool          `json:"removed,omitempty"`
	DefaultBefore  string        `json:"defaultChannelBefore,omitempty"`
	DefaultAfter   string        `json:"defaultChannelAfter,omitempty"`
	Channels       []ChannelDiff `json:"channels"`
	Regressions    []string      `json:"regressions"`
	BundlesAdded   []string      `json:"bundlesAdded,omitempty"`
	BundlesRemoved []string      `json:"bundlesRemoved,omitempty"`
	// Deprecations added (or reworded) and lifted: "channel c: message".
	DeprecationsAdded   []string `json:"deprecationsAdded,omitempty"`
	DeprecationsRemoved []string `json:"deprecationsRemoved,omitempty"`
}

// ChannelDiff is one channel's change.
type ChannelDiff struct {
	Name           string       `json:"name"`
	Added          bool         `json:"added,omitempty"`
	Removed        bool         `json:"removed,omitempty"`
	HeadBefore     string       `json:"headBefore,omitempty"`
	HeadAfter      string       `json:"headAfter,omitempty"`
	EntriesAdded   []string     `json:"entriesAdded,omitempty"`
	EntriesRemoved []string     `json:"entriesRemoved,omitempty"`
	EdgesAdded     []string     `json:"edgesAdded,omitempty"`
	EdgesRemoved   []string     `json:"edgesRemoved,omitempty"`
	NewlyStranded  []string     `json:"newlyStranded,omitempty"`
	NewlySkipped   []string     `json:"newlySkipped,omitempty"`
	Paths          []PathChange `json:"paths,omitempty"`
	// Unchanged counts the bundles whose path to the head is the same.
	Unchanged int `json:"unchangedPaths"`
}

// PathChange is how an installed bundle's upgrade path to the head changed.
type PathChange struct {
	From   string   `json:"from"`
	Before []string `json:"before"`
	After  []string `json:"after"`
}

// Regressions lists every package's regressions, prefixed by the package.
func (d *Diff) Regressions() []string {
	var out []string
	for _, p := range d.Packages {
		for _, r := range p.Regressions {
			out = append(out, p.Name+": "+r)
		}
	}
	return out
}

// DiffCatalogs compares two catalogs package by package with the same
// analysis `catalog analyze` runs on each.
func DiffCatalogs(ctx context.Context, before, after *declcfg.DeclarativeConfig) (*Diff, error) {
	rb, err := AnalyzeCatalog(ctx, before, AnalyzeOptions{})
	if err != nil {
		return nil, err
	}
	ra, err := AnalyzeCatalog(ctx, after, AnalyzeOptions{})
	if err != nil {
		return nil, err
	}
	pb, pa := ByPackage(before), ByPackage(after)
	reports := func(r *CatalogReport) map[string]*graph.Report {
		m := map[string]*graph.Report{}
		for _, p := range r.Packages {
			m[p.Package] = p
		}
		return m
	}
	repB, repA := reports(rb), reports(ra)
	names := slices.Sorted(maps.Keys(union(pb, pa)))
	d := &Diff{Packages: []PackageDiff{}}
	for _, name := range names {
		d.Packages = append(d.Packages, diffPackage(name, side{pb[name], repB[name]}, side{pa[name], repA[name]}))
	}
	return d, nil
}

// side is one package on one side of the diff: its objects and analysis.
type side struct {
	cfg    *declcfg.DeclarativeConfig
	report *graph.Report
}

func (s side) present() bool { return s.cfg != nil && len(s.cfg.Packages) == 1 }

func (s side) channel(name string) (*declcfg.Channel, *graph.ChannelReport) {
	var ch *declcfg.Channel
	for i := range s.cfg.Channels {
		if s.cfg.Channels[i].Name == name {
			ch = &s.cfg.Channels[i]
		}
	}
	var cr *graph.ChannelReport
	if s.report != nil {
		for i := range s.report.Channels {
			if s.report.Channels[i].Name == name {
				cr = &s.report.Channels[i]
			}
		}
	}
	return ch, cr
}

func (s side) channelNames() map[string]bool {
	out := map[string]bool{}
	if s.cfg != nil {
		for _, c := range s.cfg.Channels {
			out[c.Name] = true
		}
	}
	return out
}

func (s side) bundleNames() map[string]bool {
	out := map[string]bool{}
	if s.cfg != nil {
		for _, b := range s.cfg.Bundles {
			out[b.Name] = true
		}
	}
	return out
}

func diffPackage(name string, b, a side) PackageDiff {
	pd := PackageDiff{Name: name, Channels: []ChannelDiff{}, Regressions: []string{}}
	switch {
	case !b.present() && !a.present():
		return pd
	case !b.present():
		pd.Added = true
	case !a.present():
		pd.Removed = true
		pd.Regressions = append(pd.Regressions, "the package was removed: its subscribers find no upgrade and new installs fail")
		return pd
	}
	if b.present() {
		pd.DefaultBefore = b.cfg.Packages[0].DefaultChannel
	}
	pd.DefaultAfter = a.cfg.Packages[0].DefaultChannel
	bb, ba := b.bundleNames(), a.bundleNames()
	pd.BundlesAdded, pd.BundlesRemoved = onlyIn(ba, bb), onlyIn(bb, ba)
	versions := map[string]semver.Version{}
	deprB := map[string]bool{}
	if b.cfg != nil {
		versions = bundleVersions(b.cfg)
		deprB = deprecationSet(deprecations(b.cfg, name))
	}
	deprA := deprecationSet(deprecations(a.cfg, name))
	pd.DeprecationsAdded, pd.DeprecationsRemoved = onlyIn(deprA, deprB), onlyIn(deprB, deprA)
	for _, ch := range slices.Sorted(maps.Keys(union(b.channelNames(), a.channelNames()))) {
		cd, regs := diffChannel(ch, b, a, versions)
		pd.Channels = append(pd.Channels, cd)
		pd.Regressions = append(pd.Regressions, regs...)
	}
	return pd
}

func diffChannel(name string, b, a side, versions map[string]semver.Version) (ChannelDiff, []string) {
	cd := ChannelDiff{Name: name}
	var regs []string
	var chB, chA *declcfg.Channel
	var crB, crA *graph.ChannelReport
	if b.present() {
		chB, crB = b.channel(name)
	}
	chA, crA = a.channel(name)
	if crB != nil {
		cd.HeadBefore = crB.Head
	}
	if crA != nil {
		cd.HeadAfter = crA.Head
	}
	switch {
	case chB == nil && chA == nil:
		return cd, nil // only in an old catalog that has no such package to compare
	case chB == nil:
		cd.Added = true
		cd.EntriesAdded = entryNames(graphChannel(*chA))
		return cd, nil
	case chA == nil:
		cd.Removed = true
		return cd, []string{fmt.Sprintf("channel %s was removed: its subscribers find no upgrade", name)}
	}
	eb, ea := toSet(entryNames(graphChannel(*chB))), toSet(entryNames(graphChannel(*chA)))
	cd.EntriesAdded, cd.EntriesRemoved = onlyIn(ea, eb), onlyIn(eb, ea)
	edges := func(r *graph.Report) map[string]bool {
		out := map[string]bool{}
		if r != nil {
			for _, e := range r.Edges {
				if e.Channel == name {
					out[fmt.Sprintf("%s -> %s (%s)", e.From, e.To, e.By)] = true
				}
			}
		}
		return out
	}
	gb, ga := edges(b.report), edges(a.report)
	cd.EdgesAdded, cd.EdgesRemoved = onlyIn(ga, gb), onlyIn(gb, ga)
	if crB == nil || crA == nil {
		return cd, regs
	}
	cd.NewlySkipped = onlyIn(toSet(crA.Skipped), toSet(crB.Skipped))
	if crA.Head == "" && crB.Head != "" {
		cd.NewlyStranded = crB.Bundles()
		return cd, []string{fmt.Sprintf("channel %s: %s, so none of the %d bundles that reached %s reaches a head", name, headsText(graph.Heads(graphChannel(*chA))), len(cd.NewlyStranded), crB.Head)}
	}
	return cd, diffPaths(&cd, graphChannel(*chA), *crB, *crA, versions)
}

// diffPaths compares the path to the head of every bundle that reached it
// before (into cd) and returns the regressions: a bundle removed that
// nothing upgrades from, one that no longer reaches the head, a path that
// grew through bundles it did not pass before.
func diffPaths(cd *ChannelDiff, chA graph.Channel, crB, crA graph.ChannelReport, versions map[string]semver.Version) []string {
	var regs []string
	inA, added := toSet(entryNames(chA)), toSet(cd.EntriesAdded)
	for _, from := range crB.Bundles() {
		before, _ := crB.Path(from)
		if !inA[from] {
			if !graph.UpgradesFrom(chA, from, versions[from]) {
				regs = append(regs, fmt.Sprintf("channel %s: %s was removed and OLM finds no upgrade from it in the channel (no entry it considers replaces, skips or skipRange-covers it): its users are stranded", cd.Name, from))
			}
			continue
		}
		after, reaches := crA.Path(from)
		switch {
		case !reaches:
			cd.NewlyStranded = append(cd.NewlyStranded, from)
			regs = append(regs, fmt.Sprintf("channel %s: %s no longer reaches the head %s", cd.Name, from, crA.Head))
		case slices.Equal(before, after):
			cd.Unchanged++
		default:
			cd.Paths = append(cd.Paths, PathChange{From: from, Before: before, After: after})
			if grown := grewBy(before, after, added, crA.Head != crB.Head); grown > 0 {
				regs = append(regs, fmt.Sprintf("channel %s: the path from %s grew from %d to %d upgrades (%s), %d more than the bundles this change added account for; add a skip or skipRange", cd.Name, from, len(before), len(after), strings.Join(after, " -> "), grown))
			}
		}
	}
	return regs
}

// grewBy is how many upgrades a path gained beyond those it may: every hop
// to a bundle this change added (a release, or several when comparing
// catalogs releases apart), and one for a new head that is not new.
func grewBy(before, after []string, added map[string]bool, newHead bool) int {
	allowed := len(before)
	for _, b := range after {
		if added[b] {
			allowed++
		}
	}
	if newHead && len(after) > 0 && !added[after[len(after)-1]] {
		allowed++
	}
	return max(0, len(after)-allowed)
}

// headsText says how many heads a channel has, and which.
func headsText(heads []string) string {
	if len(heads) == 0 {
		return "the channel now has no head"
	}
	return fmt.Sprintf("the channel now has %d heads (%s); OLM needs exactly one", len(heads), strings.Join(heads, ", "))
}

// deprecationSet names each deprecation with its message.
func deprecationSet(d graph.Deprecations) map[string]bool {
	out := map[string]bool{}
	if d.Package != "" {
		out["package: "+d.Package] = true
	}
	for c, m := range d.Channels {
		out["channel "+c+": "+m] = true
	}
	for b, m := range d.Bundles {
		out["bundle "+b+": "+m] = true
	}
	return out
}

func bundleVersions(cfg *declcfg.DeclarativeConfig) map[string]semver.Version {
	out := map[string]semver.Version{}
	for _, b := range cfg.Bundles {
		if v, err := bundleVersion(b); err == nil {
			out[b.Name] = v
		}
	}
	return out
}

func entryNames(ch graph.Channel) []string {
	out := make([]string, 0, len(ch.Entries))
	for _, e := range ch.Entries {
		out = append(out, e.Name)
	}
	return out
}

func toSet(s []string) map[string]bool {
	out := map[string]bool{}
	for _, x := range s {
		out[x] = true
	}
	return out
}

// onlyIn lists, sorted, what a holds and b does not.
func onlyIn(a, b map[string]bool) []string {
	var out []string
	for x := range a {
		if !b[x] {
			out = append(out, x)
		}
	}
	slices.Sort(out)
	return out
}

// union is the set of keys of either map.
func union[V any](a, b map[string]V) map[string]bool {
	out := map[string]bool{}
	for k := range a {
		out[k] = true
	}
	for k := range b {
		out[k] = true
	}
	return out
}
