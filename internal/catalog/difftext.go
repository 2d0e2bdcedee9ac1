package catalog

import (
	"fmt"
	"slices"
	"strings"

	"github.com/example-inc/memcached-operator/internal/graph"
)

// Text is the diff as a release reviewer reads it.
func (d *Diff) Text() string {
	var b strings.Builder
	for _, pd := range d.Packages {
		writePackageDiff(&b, pd)
	}
	if n := len(d.Regressions()); n > 0 {
		fmt.Fprintf(&b, "\n%d regressions\n", n)
	} else {
		fmt.Fprintf(&b, "\nno regressions\n")
	}
	return b.String()
}

// writeList writes a labelled list, when it has items.
func writeList(b *strings.Builder, what string, items []string) {
	if len(items) > 0 {
		fmt.Fprintf(b, "    %s: %s\n", what, strings.Join(items, ", "))
	}
}

func writePackageDiff(b *strings.Builder, pd PackageDiff) {
	switch {
	case pd.Added:
		fmt.Fprintf(b, "package %s: added (default channel %s)\n", pd.Name, pd.DefaultAfter)
	case pd.Removed:
		fmt.Fprintf(b, "package %s: removed\n", pd.Name)
	default:
		fmt.Fprintf(b, "package %s\n", pd.Name)
		if pd.DefaultBefore != pd.DefaultAfter {
			fmt.Fprintf(b, "  default channel: %s -> %s\n", pd.DefaultBefore, pd.DefaultAfter)
		}
	}
	if len(pd.BundlesAdded)+len(pd.BundlesRemoved) > 0 {
		b.WriteString("  bundles:\n")
		writeList(b, "added", pd.BundlesAdded)
		writeList(b, "removed", pd.BundlesRemoved)
	}
	if len(pd.DeprecationsAdded)+len(pd.DeprecationsRemoved) > 0 {
		b.WriteString("  deprecations:\n")
		for _, x := range pd.DeprecationsAdded {
			fmt.Fprintf(b, "    added %s\n", x)
		}
		for _, x := range pd.DeprecationsRemoved {
			fmt.Fprintf(b, "    lifted %s\n", x)
		}
	}
	for _, c := range pd.Channels {
		writeChannelDiff(b, c)
	}
	if len(pd.Regressions) > 0 {
		b.WriteString("  REGRESSIONS:\n")
		for _, r := range pd.Regressions {
			fmt.Fprintf(b, "    %s\n", r)
		}
	}
}

func writeChannelDiff(b *strings.Builder, c ChannelDiff) {
	switch {
	case c.Added:
		fmt.Fprintf(b, "  channel %s: added, head %s\n", c.Name, c.HeadAfter)
		return
	case c.Removed:
		fmt.Fprintf(b, "  channel %s: removed (head was %s)\n", c.Name, c.HeadBefore)
		return
	case c.HeadBefore != c.HeadAfter:
		fmt.Fprintf(b, "  channel %s: head %s -> %s\n", c.Name, orNone(c.HeadBefore), orNone(c.HeadAfter))
	default:
		fmt.Fprintf(b, "  channel %s: head %s\n", c.Name, c.HeadAfter)
	}
	writeList(b, "entries added", c.EntriesAdded)
	writeList(b, "entries removed", c.EntriesRemoved)
	writeList(b, "edges added", c.EdgesAdded)
	writeList(b, "edges removed", c.EdgesRemoved)
	writeList(b, "newly stranded", c.NewlyStranded)
	writeList(b, "newly skipped", c.NewlySkipped)
	writePaths(b, c)
	fmt.Fprintf(b, "    %d installed versions keep their path\n", c.Unchanged)
}

// shownPaths is how many changed paths the text lists one by one.
const shownPaths = 10

// writePaths writes a channel's changed paths grouped: those that only go
// on to the new head on one line, the others one by one up to shownPaths
// (a release several versions on changes every path; JSON lists them all).
func writePaths(b *strings.Builder, c ChannelDiff) {
	var extended, other []PathChange
	for _, pc := range c.Paths {
		if c.HeadAfter != "" && slices.Equal(pc.After, append(slices.Clone(pc.Before), c.HeadAfter)) {
			extended = append(extended, pc)
			continue
		}
		other = append(other, pc)
	}
	if len(extended) > 0 {
		from := make([]string, len(extended))
		for i, pc := range extended {
			from[i] = pc.From
		}
		fmt.Fprintf(b, "    %d paths go on to the new head %s, one more upgrade (from %s)\n", len(extended), c.HeadAfter, graph.Few(from))
	}
	for i, pc := range other {
		if i == shownPaths {
			fmt.Fprintf(b, "    ... and %d more changed paths (-o json lists every one)\n", len(other)-shownPaths)
			break
		}
		fmt.Fprintf(b, "    path from %s: %s -> now %s\n", pc.From, pathText(pc.Before), pathText(pc.After))
	}
}

func pathText(path []string) string {
	if len(path) == 0 {
		return "(the head)"
	}
	return strings.Join(path, " -> ")
}
