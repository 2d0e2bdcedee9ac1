package graph

import (
	"fmt"
	"sort"

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
	// drops them, so they are neither installed nor upgraded to.
	pruned map[string]bool
}

func newResolver(pkg *Package, ch Channel) *resolver {
	r := &resolver{pkg: pkg, ch: ch, inChannel: map[string]bool{}, rank: map[string]int{}, ranges: map[string]semver.Range{}, pruned: map[string]bool{}}
	for _, e := range ch.Entries {
		r.inChannel[e.Name] = true
		for _, s := range e.Skips {
			r.pruned[s] = true
		}
		if e.SkipRange != "" {
			if rng, err := semver.ParseRange(e.SkipRange); err == nil {
				r.ranges[e.Name] = rng
			}
		}
	}
	if heads := r.heads(); len(heads) == 1 {
		replaces := map[string]string{}
		for _, e := range ch.Entries {
			replaces[e.Name] = e.Replaces
		}
		for i, cur := 0, heads[0]; cur != "" && r.inChannel[cur]; i, cur = i+1, replaces[cur] {
			if _, seen := r.rank[cur]; seen {
				break // a cycle; opm validate reports it
			}
			r.rank[cur] = i
		}
	}
	return r
}

// heads are the entries nothing in the channel replaces or skips.
func (r *resolver) heads() []string {
	replaced := map[string]bool{}
	for _, e := range r.ch.Entries {
		if e.Replaces != "" {
			replaced[e.Replaces] = true
		}
		for _, s := range e.Skips {
			replaced[s] = true
		}
	}
	var heads []string
	seen := map[string]bool{}
	for _, e := range r.ch.Entries {
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
func (r *resolver) candidates(from string) []Edge {
	v, hasVersion := r.pkg.Versions[from]
	var out []Edge
	for _, e := range r.ch.Entries {
		if e.Name == from || r.pruned[e.Name] {
			continue
		}
		switch {
		case e.Replaces == from:
			out = append(out, Edge{From: from, To: e.Name, Channel: r.ch.Name, By: "replaces"})
		case contains(e.Skips, from):
			out = append(out, Edge{From: from, To: e.Name, Channel: r.ch.Name, By: "skips"})
		case hasVersion && r.ranges[e.Name] != nil && r.ranges[e.Name](v):
			out = append(out, Edge{From: from, To: e.Name, Channel: r.ch.Name, By: "skipRange"})
		}
	}
	return out
}

// next is the upgrade OLM picks from the bundle named from: the candidate
// nearest the head, by replaces-chain rank, then by version.
func (r *resolver) next(from string) (string, bool) {
	best, found := "", false
	for _, c := range r.candidates(from) {
		if !found || r.nearer(c.To, best) {
			best, found = c.To, true
		}
	}
	return best, found
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

// pathToHead follows next from the bundle named from until the head.
func (r *resolver) pathToHead(from, head string) ([]string, error) {
	path := []string{}
	seen := map[string]bool{from: true}
	for cur := from; cur != head; {
		nxt, ok := r.next(cur)
		if !ok {
			if len(path) == 0 {
				return nil, fmt.Errorf("cannot reach the head %s: nothing replaces, skips or skipRange-covers it", head)
			}
			return nil, fmt.Errorf("cannot reach the head %s: stuck at %s after %v", head, cur, path)
		}
		if seen[nxt] {
			return nil, fmt.Errorf("upgrades loop back to %s after %v", nxt, path)
		}
		seen[nxt] = true
		path = append(path, nxt)
		cur = nxt
	}
	return path, nil
}

// edges lists every upgrade the channel allows, from any bundle of the
// package (the tail may replace a bundle that is not in the channel).
func (r *resolver) edges() []Edge {
	var out []Edge
	names := make([]string, 0, len(r.pkg.Versions))
	for n := range r.pkg.Versions {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		out = append(out, r.candidates(n)...)
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

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
