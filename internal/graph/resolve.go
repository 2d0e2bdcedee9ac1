package graph

import (
	"fmt"
	"sort"
	"strings"

	"github.com/blang/semver/v4"
)

// resolver answers "what does OLM upgrade X to in this channel".
type resolver struct {
	pkg       *Package
	ch        Channel
	inChannel map[string]bool
	// rank orders entries by nearness to the head: the head is 0, what it
	// replaces 1, and so on; entries off the replaces chain rank last.
	rank   map[string]int
	ranges map[string]semver.Range
	// pruned entries are skipped by another entry of the channel; OLM
	// drops them from upgrade candidates (startingCSV still installs them).
	pruned map[string]bool
	// Indexes, so that a catalog of thousands of bundles is analysed in
	// linear time: who replaces or skips a name, and the entries that have
	// a skipRange (few, in practice).
	replacedBy map[string][]int
	skippedBy  map[string][]int
	withRange  []int
	nextMemo   map[string]string
}

func newResolver(pkg *Package, ch Channel) *resolver {
	r := &resolver{pkg: pkg, ch: ch, inChannel: map[string]bool{}, rank: map[string]int{}, ranges: map[string]semver.Range{}, pruned: map[string]bool{},
		replacedBy: map[string][]int{}, skippedBy: map[string][]int{}, nextMemo: map[string]string{}}
	for i, e := range ch.Entries {
		r.inChannel[e.Name] = true
		for _, s := range e.Skips {
			r.pruned[s] = true
			r.skippedBy[s] = append(r.skippedBy[s], i)
		}
		if e.Replaces != "" {
			r.replacedBy[e.Replaces] = append(r.replacedBy[e.Replaces], i)
		}
		if e.SkipRange != "" {
			if rng, err := semver.ParseRange(e.SkipRange); err == nil {
				r.ranges[e.Name] = rng
				r.withRange = append(r.withRange, i)
			}
		}
	}
	if heads := r.heads(); len(heads) == 1 {
		for i, name := range r.chain(heads[0]) {
			r.rank[name] = i
		}
	}
	// Nearest the head first: next stops at the first skipRange that fits.
	sort.SliceStable(r.withRange, func(a, b int) bool {
		return r.nearer(r.ch.Entries[r.withRange[a]].Name, r.ch.Entries[r.withRange[b]].Name)
	})
	return r
}

// UpgradesFrom says whether OLM finds an upgrade in the channel from the
// bundle named name of version v, which the channel need not hold (one a
// newer catalog removed, still installed somewhere).
func UpgradesFrom(ch Channel, name string, v semver.Version) bool {
	_, ok := newResolver(&Package{Versions: map[string]semver.Version{name: v}}, ch).next(name)
	return ok
}

// chain is the replaces chain from the entry named from, in order, up to
// the first entry outside the channel or seen before (a cycle).
func (r *resolver) chain(from string) []string {
	replaces := make(map[string]string, len(r.ch.Entries))
	for _, e := range r.ch.Entries {
		replaces[e.Name] = e.Replaces
	}
	var out []string
	seen := map[string]bool{}
	for cur := from; cur != "" && r.inChannel[cur] && !seen[cur]; cur = replaces[cur] {
		seen[cur] = true
		out = append(out, cur)
	}
	return out
}

// replacesChain is the set of entries on the replaces chain from the
// entry named from.
func (r *resolver) replacesChain(from string) map[string]bool {
	set := map[string]bool{}
	for _, n := range r.chain(from) {
		set[n] = true
	}
	return set
}

// heads are the entries nothing in the channel replaces or skips.
func (r *resolver) heads() []string { return Heads(r.ch) }

// Heads are the entries of a channel that nothing in it replaces or skips,
// sorted: OLM needs exactly one.
func Heads(ch Channel) []string {
	replaced := map[string]bool{}
	for _, e := range ch.Entries {
		if e.Replaces != "" {
			replaced[e.Replaces] = true
		}
		for _, s := range e.Skips {
			replaced[s] = true
		}
	}
	var heads []string
	seen := map[string]bool{}
	for _, e := range ch.Entries {
		if !replaced[e.Name] && !seen[e.Name] {
			heads = append(heads, e.Name)
			seen[e.Name] = true
		}
	}
	sort.Strings(heads)
	return heads
}

// candidates are the entries that upgrade from the bundle named from,
// with the mechanism that makes each one a candidate.
// An entry that is a candidate by several mechanisms is listed once, by
// the first of replaces, skips, skipRange.
func (r *resolver) candidates(from string) []Edge {
	by := map[int]string{}
	var idx []int
	add := func(i int, mechanism string) {
		e := r.ch.Entries[i]
		if _, seen := by[i]; seen || e.Name == from || !r.candidate(e.Name) {
			return
		}
		by[i] = mechanism
		idx = append(idx, i)
	}
	r.namingUpgrades(from, add)
	// Channel order, so reports do not depend on the mechanism.
	sort.Ints(idx)
	out := make([]Edge, 0, len(idx))
	for _, i := range idx {
		out = append(out, Edge{From: from, To: r.ch.Entries[i].Name, Channel: r.ch.Name, By: by[i]})
	}
	return out
}

// next is the upgrade OLM picks from the bundle named from: the candidate
// nearest the head, by replaces-chain rank, then by version.
func (r *resolver) next(from string) (string, bool) {
	if n, ok := r.nextMemo[from]; ok {
		return n, n != ""
	}
	best, found := "", false
	consider := func(i int) {
		e := r.ch.Entries[i]
		if e.Name == from || !r.candidate(e.Name) {
			return
		}
		if !found || r.nearer(e.Name, best) {
			best, found = e.Name, true
		}
	}
	for _, i := range r.replacedBy[from] {
		consider(i)
	}
	for _, i := range r.skippedBy[from] {
		consider(i)
	}
	if v, ok := r.pkg.Versions[from]; ok {
		for _, i := range r.withRange {
			e := r.ch.Entries[i]
			if e.Name == from || !r.candidate(e.Name) {
				continue
			}
			if found && !r.nearer(e.Name, best) {
				break // sorted: no later skipRange entry is nearer
			}
			if r.ranges[e.Name](v) {
				best, found = e.Name, true
				break
			}
		}
	}
	r.nextMemo[from] = best
	return best, found
}

// candidate says whether OLM ever upgrades to the entry: it sorts a channel
// by walking the head's replaces chain and leaves out skipped entries, so
// an entry off that chain (on a cycle of its own, or behind a skipped one)
// or skipped is never an upgrade.
func (r *resolver) candidate(name string) bool {
	_, onChain := r.rank[name]
	return onChain && !r.pruned[name]
}

func (r *resolver) nearer(a, b string) bool {
	ra, oka := r.rank[a]
	rb, okb := r.rank[b]
	switch {
	case oka && okb && ra != rb:
		return ra < rb
	case oka != okb:
		return oka
	}
	va, vb := r.pkg.Versions[a], r.pkg.Versions[b]
	if !va.EQ(vb) {
		return va.GT(vb)
	}
	return a < b
}

// walkToHead follows next from the bundle named from until the head, or a
// bundle already walked, recording each hop and the distance to the head.
// Every bundle is walked once over all calls: linear in the channel.
func (r *resolver) walkToHead(from, head string, next map[string]string, hops map[string]int) error {
	if from == head {
		hops[head] = 0
		return nil
	}
	var chain []string
	onChain := map[string]bool{}
	cur := from
	for {
		if _, done := hops[cur]; done || cur == head {
			break
		}
		nxt, ok := r.next(cur)
		if !ok {
			if cur == from {
				return fmt.Errorf("cannot reach the head %s: %s", head, r.whyStuck(cur))
			}
			return fmt.Errorf("cannot reach the head %s: stuck at %s after %d upgrades: %s", head, cur, len(chain), r.whyStuck(cur))
		}
		if onChain[nxt] || nxt == from {
			return fmt.Errorf("upgrades loop back to %s after %d upgrades", nxt, len(chain)+1)
		}
		chain = append(chain, cur)
		onChain[cur] = true
		cur = nxt
	}
	// Recorded only once the walk reached the head: a failed walk leaves
	// no partial path.
	base := hops[cur] // 0 for the head
	for i := len(chain) - 1; i >= 0; i-- {
		base++
		hops[chain[i]] = base
		next[chain[i]], _ = r.next(chain[i])
	}
	return nil
}

// namingUpgrades calls f with every entry that names the bundle as one it
// upgrades from, pruned or not: by replaces, skips, then skipRange.
func (r *resolver) namingUpgrades(from string, f func(i int, mechanism string)) {
	for _, i := range r.replacedBy[from] {
		f(i, "replaces")
	}
	for _, i := range r.skippedBy[from] {
		f(i, "skips")
	}
	if v, ok := r.pkg.Versions[from]; ok {
		for _, i := range r.withRange {
			if r.ranges[r.ch.Entries[i].Name](v) {
				f(i, "skipRange")
			}
		}
	}
}

// whyStuck says why OLM finds no upgrade from the bundle: nothing in the
// channel replaces, skips or skipRange-covers it, or what does is skipped
// (OLM prunes skipped entries) or off the head's replaces chain (OLM orders
// a channel along that chain only).
func (r *resolver) whyStuck(from string) string {
	var why []string
	r.namingUpgrades(from, func(i int, how string) {
		e := r.ch.Entries[i]
		if e.Name == from {
			return
		}
		if how == "skipRange" {
			how = "its skipRange covers"
		}
		switch {
		case r.pruned[e.Name]:
			var by []string
			for _, j := range r.skippedBy[e.Name] {
				by = append(by, r.ch.Entries[j].Name)
			}
			why = append(why, fmt.Sprintf("%s (%s it) is skipped by %s, and OLM prunes skipped entries", e.Name, how, strings.Join(by, ", ")))
		case !r.candidate(e.Name):
			why = append(why, fmt.Sprintf("%s (%s it) is off the head's replaces chain, along which OLM orders the channel", e.Name, how))
		}
	})
	if len(why) == 0 {
		return "nothing replaces, skips or skipRange-covers it"
	}
	return strings.Join(why, "; ")
}

// edges lists the upgrades the channel declares (replaces and skips, to
// entries OLM does not prune) and, for every bundle of the package, the hop
// OLM takes from it when that hop comes from a skipRange. Listing every
// bundle a skipRange covers would be quadratic; OLM only ever takes the
// nearest candidate.
func (r *resolver) edges() []Edge {
	var out []Edge
	declared := map[[2]string]bool{}
	for _, e := range r.ch.Entries {
		if !r.candidate(e.Name) {
			continue
		}
		if e.Replaces != "" {
			out = append(out, Edge{From: e.Replaces, To: e.Name, Channel: r.ch.Name, By: "replaces"})
			declared[[2]string{e.Replaces, e.Name}] = true
		}
		for _, s := range e.Skips {
			if !declared[[2]string{s, e.Name}] {
				out = append(out, Edge{From: s, To: e.Name, Channel: r.ch.Name, By: "skips"})
				declared[[2]string{s, e.Name}] = true
			}
		}
	}
	names := make([]string, 0, len(r.pkg.Versions))
	for n := range r.pkg.Versions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if nxt, ok := r.next(n); ok && !declared[[2]string{n, nxt}] {
			out = append(out, Edge{From: n, To: nxt, Channel: r.ch.Name, By: "skipRange"})
		}
	}
	return out
}

// switches computes, for every ordered pair of channels and every bundle of
// the first, where a Subscription lands after switching to the second.
func switches(pkg *Package, resolvers map[string]*resolver) []Switch {
	var out []Switch
	for _, from := range pkg.Channels {
		for _, to := range pkg.Channels {
			if from.Name == to.Name {
				continue
			}
			res := resolvers[to.Name]
			for _, e := range from.Entries {
				s := Switch{From: from.Name, To: to.Name, Bundle: e.Name}
				if nxt, ok := res.next(e.Name); ok {
					s.Lands = nxt
				} else if res.inChannel[e.Name] {
					s.Reason = "already the head of " + to.Name
					if heads := res.heads(); len(heads) != 1 || heads[0] != e.Name {
						s.Reason = "in " + to.Name + " but nothing there upgrades from it"
					}
				} else {
					s.Reason = "no entry of " + to.Name + " replaces, skips or skipRange-covers it"
				}
				out = append(out, s)
			}
		}
	}
	return out
}
