package graph

import (
	"slices"
	"strings"
)

// replacesCycles finds the cycles of the channel's replaces edges, each as
// the upgrades around it (every entry upgrades to the one that replaces
// it), starting at its smallest name. OLM can never upgrade out of one,
// and opm reports them only by their effect (stranded bundles, no head).
func replacesCycles(ch Channel) [][]string {
	replaces := map[string]string{}
	for _, e := range ch.Entries {
		replaces[e.Name] = e.Replaces
	}
	const (
		unseen = iota
		onPath
		done
	)
	state := map[string]int{}
	var cycles [][]string
	for _, e := range ch.Entries {
		var path []string
		cur := e.Name
		for {
			if _, in := replaces[cur]; !in || state[cur] == done {
				break
			}
			if state[cur] == onPath {
				cycles = append(cycles, upgradeOrder(path[slices.Index(path, cur):]))
				break
			}
			state[cur] = onPath
			path = append(path, cur)
			cur = replaces[cur]
		}
		for _, p := range path {
			state[p] = done
		}
	}
	slices.SortFunc(cycles, func(a, b []string) int { return strings.Compare(a[0], b[0]) })
	return cycles
}

// upgradeOrder turns a walk along replaces (newer to older) into the
// upgrade order, starting at the smallest name.
func upgradeOrder(walk []string) []string {
	out := slices.Clone(walk)
	slices.Reverse(out)
	i := slices.Index(out, slices.Min(out))
	return append(out[i:], out[:i]...)
}
