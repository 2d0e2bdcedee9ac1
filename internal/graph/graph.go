// Package graph analyses a package's upgrade graph under OLM's resolution
// rules, which `opm validate` does not check: from an installed bundle, the
// candidates in a channel are the entries that replace it, list it in
// skips, or whose skipRange includes its version, and the candidate nearest
// the channel head wins. The analysis is pure: it reads a Package and
// returns a Report.
package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/blang/semver/v4"
)

// Entry is one channel entry.
type Entry struct {
	Name      string   `json:"name"`
	Replaces  string   `json:"replaces,omitempty"`
	Skips     []string `json:"skips,omitempty"`
	SkipRange string   `json:"skipRange,omitempty"`
}

// Channel is a named list of entries.
type Channel struct {
	Name    string  `json:"name"`
	Entries []Entry `json:"entries"`
}

// Package is what the analysis needs of a catalog package.
type Package struct {
	Name           string
	DefaultChannel string
	Channels       []Channel
	// Versions of every bundle by name.
	Versions map[string]semver.Version
	// Deprecations of the package, its channels and bundles.
	Deprecations Deprecations
}

// Severity of a Problem.
type Severity string

// Error breaks users: OLM refuses the catalog, or a subscriber is
// stranded. Warning misleads or hurts users though OLM works (a deprecated
// head, a broken example). Policy is a pattern OLM handles that a catalog may
// forbid itself (an edge to a version that is not higher, as respins and
// build-metadata hotfixes have; a skipRange without an upper bound or that
// covers its own version): reported, failing only under --strict.
const (
	Error   Severity = "error"
	Warning Severity = "warning"
	Policy  Severity = "policy"
	Info    Severity = "info"
)

// Problem is one finding, tied to a channel entry.
type Problem struct {
	Severity Severity `json:"severity"`
	Channel  string   `json:"channel,omitempty"`
	Entry    string   `json:"entry,omitempty"`
	Message  string   `json:"message"`
}

func (p Problem) String() string {
	where := ""
	switch {
	case p.Channel != "":
		where = "channel " + p.Channel
		if p.Entry != "" {
			where += " entry " + p.Entry
		}
		where += ": "
	case p.Entry != "":
		// A finding about a bundle, whatever channel holds it.
		where = "bundle " + p.Entry + ": "
	}
	return fmt.Sprintf("%s: %s%s", p.Severity, where, p.Message)
}

// ChannelReport is the analysis of one channel.
type ChannelReport struct {
	Name string `json:"name"`
	Head string `json:"head,omitempty"`
	// Next is the bundle OLM upgrades each bundle of the channel to, and
	// Hops how many upgrades lead from it to the head: together the exact
	// path (Path) of every bundle, in space linear in the channel. Bundles
	// that cannot reach the head are absent; the head has no Next.
	Next map[string]string `json:"next"`
	Hops map[string]int    `json:"hops"`
	// Skipped bundles are pruned from OLM's upgrade candidates: no upgrade
	// leads to them, though a Subscription's startingCSV installs them.
	Skipped []string `json:"skipped,omitempty"`
}

// Path is the exact list of upgrades from a bundle of the channel to its
// head (empty for the head), and whether the bundle reaches the head.
func (c ChannelReport) Path(from string) ([]string, bool) {
	hops, ok := c.Hops[from]
	if !ok {
		return nil, false
	}
	path := make([]string, 0, hops)
	for cur := from; len(path) < hops; {
		cur = c.Next[cur]
		path = append(path, cur)
	}
	return path, true
}

// Farthest is the bundle with the longest path to the head (the smallest
// name among equals) and that path: where a walk through every upgrade of
// the channel starts.
func (c ChannelReport) Farthest() (from string, path []string) {
	for _, b := range c.Bundles() {
		if from == "" || c.Hops[b] > c.Hops[from] {
			from = b
		}
	}
	path, _ = c.Path(from)
	return from, path
}

// Bundles lists the channel's bundles that reach the head, sorted.
func (c ChannelReport) Bundles() []string {
	out := make([]string, 0, len(c.Hops))
	for b := range c.Hops {
		out = append(out, b)
	}
	sort.Strings(out)
	return out
}

// Switch says where a Subscription installed at Bundle lands when its
// channel changes From one To another: the upgrade it finds there, or none.
type Switch struct {
	From   string `json:"from"`
	To     string `json:"to"`
	Bundle string `json:"bundle"`
	// Lands is the bundle the next upgrade installs; empty when the
	// Subscription finds no upgrade in the new channel.
	Lands string `json:"lands,omitempty"`
	// Reason explains an empty Lands.
	Reason string `json:"reason,omitempty"`
}

// Edge is an upgrade OLM may perform: from an installed bundle to a
// channel entry that replaces, skips or skipRange-covers it.
type Edge struct {
	From    string `json:"from"`
	To      string `json:"to"`
	Channel string `json:"channel"`
	By      string `json:"by"` // replaces, skips or skipRange
}

// Report is the whole analysis.
type Report struct {
	Package        string          `json:"package"`
	DefaultChannel string          `json:"defaultChannel"`
	Channels       []ChannelReport `json:"channels"`
	// Switches is the full channel-switch matrix, every bundle of every
	// channel into every other: channels x channels x entries. Summarize
	// replaces it with SwitchSummary, one line per pair of channels.
	Switches      []Switch        `json:"switches,omitempty"`
	SwitchSummary []SwitchSummary `json:"switchSummary,omitempty"`
	Edges         []Edge          `json:"edges"`
	Problems      []Problem       `json:"problems"`
}

// Errors counts problems of severity error.
func (r *Report) Errors() int { return r.count(Error) }

// Warnings counts problems of severity warning.
func (r *Report) Warnings() int { return r.count(Warning) }

// Policies counts problems of severity policy.
func (r *Report) Policies() int { return r.count(Policy) }

func (r *Report) count(sev Severity) int {
	n := 0
	for _, p := range r.Problems {
		if p.Severity == sev {
			n++
		}
	}
	return n
}

// Escalate makes every warning and policy finding an error: what a
// catalog's own authors hold themselves to (make catalog, catalog analyze
// --strict).
func (r *Report) Escalate() {
	for i := range r.Problems {
		if sev := r.Problems[i].Severity; sev == Warning || sev == Policy {
			r.Problems[i].Severity = Error
			r.Problems[i].Message += fmt.Sprintf(" (%s; an error under --strict)", sev)
		}
	}
}

// maxVersion stands for "any future version" when checking that a
// skipRange is bounded.
var maxVersion = semver.Version{Major: 1<<63 - 1}

// Analyze runs every check on pkg.
func Analyze(pkg *Package) *Report {
	r := &Report{Package: pkg.Name, DefaultChannel: pkg.DefaultChannel}
	add := func(sev Severity, ch, entry, format string, args ...any) {
		r.Problems = append(r.Problems, Problem{Severity: sev, Channel: ch, Entry: entry, Message: fmt.Sprintf(format, args...)})
	}
	resolvers := map[string]*resolver{}
	for _, ch := range pkg.Channels {
		res := newResolver(pkg, ch)
		resolvers[ch.Name] = res
		r.Channels = append(r.Channels, analyzeChannel(pkg, ch, res, add))
		r.Edges = append(r.Edges, res.edges()...)
	}
	r.Switches = switches(pkg, resolvers)
	checkDeprecations(pkg, r, add)
	// Empty lists are [] in JSON, not null.
	if r.Channels == nil {
		r.Channels = []ChannelReport{}
	}
	if r.Edges == nil {
		r.Edges = []Edge{}
	}
	if r.Problems == nil {
		r.Problems = []Problem{}
	}
	return r
}

type addFunc func(sev Severity, ch, entry, format string, args ...any)

func analyzeChannel(pkg *Package, ch Channel, res *resolver, add addFunc) ChannelReport {
	cr := ChannelReport{Name: ch.Name, Next: map[string]string{}, Hops: map[string]int{}}
	if len(ch.Entries) == 0 {
		add(Error, ch.Name, "", "channel has no entries")
		return cr
	}
	for _, e := range ch.Entries {
		checkEntry(pkg, ch.Name, e, add)
	}
	heads := res.heads()
	switch len(heads) {
	case 0:
		add(Error, ch.Name, "", "channel has no head: every entry is replaced or skipped by another")
		checkCycles(ch, res, cr, add)
		return cr
	case 1:
		cr.Head = heads[0]
	default:
		add(Error, ch.Name, "", "channel has %d heads (%v): exactly one entry may be neither replaced nor skipped", len(heads), heads)
		checkCycles(ch, res, cr, add)
		return cr
	}

	skipped := map[string]bool{}
	for _, e := range ch.Entries {
		for _, s := range e.Skips {
			if res.inChannel[s] {
				skipped[s] = true
			}
		}
	}
	for s := range skipped {
		cr.Skipped = append(cr.Skipped, s)
	}
	// In order: the report's text and JSON must not change from run to run.
	sort.Strings(cr.Skipped)
	for _, s := range cr.Skipped {
		add(Info, ch.Name, s, "is skipped by another entry: OLM never upgrades to it (skipped entries are pruned from upgrade candidates); a Subscription's startingCSV still installs it")
	}

	walked := checkCycles(ch, res, cr, add)
	for _, e := range ch.Entries {
		if walked[e.Name] {
			continue
		}
		if err := res.walkToHead(e.Name, cr.Head, cr.Next, cr.Hops); err != nil {
			add(Error, ch.Name, e.Name, "%v", err)
		}
	}
	return cr
}

// checkCycles walks the entries of every replaces cycle to the head. A
// cycle on the head's replaces chain is an error: OLM sorts a channel by
// walking that chain and fails the namespace's whole resolution on a cycle.
// A cycle off it that OLM upgrades out of (entries on the chain skip or
// skipRange-cover its entries; OLM's candidates are on the chain only)
// strands no one; one it does not is an error. It returns the entries walked.
func checkCycles(ch Channel, res *resolver, cr ChannelReport, add addFunc) map[string]bool {
	walked := map[string]bool{}
	onHeadChain := res.replacesChain(cr.Head)
	for _, c := range replacesCycles(ch) {
		var stuck []string
		for _, n := range c {
			walked[n] = true
			if res.walkToHead(n, cr.Head, cr.Next, cr.Hops) != nil {
				stuck = append(stuck, n)
			}
		}
		around := strings.Join(append(c, c[0]), " -> ")
		switch {
		case onHeadChain[c[0]]:
			add(Error, ch.Name, c[0], "is on a replaces cycle %s that the head's replaces chain enters: OLM cannot order the channel and fails every resolution in the namespace; make each entry replace an older one", around)
		case len(stuck) == 0:
			add(Info, ch.Name, c[0], "is on a replaces cycle %s that OLM never walks: it is off the head's replaces chain and an entry on that chain covers each of its entries, so each upgrades out of it", around)
		default:
			add(Error, ch.Name, c[0], "is on a replaces cycle %s: OLM can never upgrade %s out of it; make each entry replace an older one", around, strings.Join(stuck, ", "))
		}
	}
	return walked
}

// checkEntry checks the versions an entry's edges name and its skipRange.
func checkEntry(pkg *Package, ch string, e Entry, add addFunc) {
	v, ok := pkg.Versions[e.Name]
	if !ok {
		add(Error, ch, e.Name, "names no bundle of package %s", pkg.Name)
		return
	}
	// Policy, not breakage: OLM follows such edges (a respin X.Y.Z-1 that
	// replaces X.Y.Z, a build-metadata hotfix, a regression).
	older := func(what, name string) {
		if w, ok := pkg.Versions[name]; ok && !w.LT(v) {
			add(Policy, ch, e.Name, "%s %s (%s), which is not older than %s: an upgrade edge should go to a higher version", what, name, w, v)
		}
	}
	if e.Replaces != "" {
		older("replaces", e.Replaces)
	}
	for _, s := range e.Skips {
		older("skips", s)
	}
	if e.SkipRange == "" {
		return
	}
	rng, err := semver.ParseRange(e.SkipRange)
	if err != nil {
		add(Error, ch, e.Name, "skipRange %q does not parse: %v", e.SkipRange, err)
		return
	}
	if rng(maxVersion) {
		add(Policy, ch, e.Name, "skipRange %q has no upper bound: it would claim every future version; end it below %s", e.SkipRange, v)
	}
	var covered []string
	for name, w := range pkg.Versions {
		if !w.LT(v) && rng(w) {
			covered = append(covered, fmt.Sprintf("%s (%s)", name, w))
		}
	}
	sort.Strings(covered)
	if len(covered) > 0 {
		add(Policy, ch, e.Name, "skipRange %q covers %s, not older than %s: end it below %s", e.SkipRange, Few(covered), v, v)
	}
}

// Few names a few of many items, with their count: a catalog whose every
// entry's skipRange covers the later ones would otherwise print the square
// of its size. Every list a report prints goes through it.
func Few(items []string) string {
	const shown = 3
	if len(items) <= shown {
		return "[" + strings.Join(items, " ") + "]"
	}
	return fmt.Sprintf("%d versions [%s ... %s]", len(items), strings.Join(items[:shown-1], " "), items[len(items)-1])
}
