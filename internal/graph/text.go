package graph

import (
	"fmt"
	"strings"
)

// Text is the report as people read it: `sdk catalog analyze` prints it
// and the catalog's README embeds it, so both say the same.
func (r *Report) Text() string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s (default channel %s)\n", r.Package, r.DefaultChannel)
	for _, c := range r.Channels {
		writeChannel(&b, c)
	}
	r.writeSwitches(&b)
	if len(r.Problems) > 0 {
		fmt.Fprintf(&b, "\nfindings\n")
		for _, p := range r.Problems {
			// A multi-line finding (opm's tree) stays indented under it.
			fmt.Fprintf(&b, "  %s\n", strings.ReplaceAll(p.String(), "\n", "\n    "))
		}
	}
	return b.String()
}

// writeChannel writes a channel's head, every bundle's path to it and the
// skipped bundles, which no upgrade leads to.
func writeChannel(b *strings.Builder, c ChannelReport) {
	head := c.Head
	if head == "" {
		head = "(none)"
	}
	fmt.Fprintf(b, "\nchannel %s: head %s\n", c.Name, head)
	for _, n := range c.Bundles() {
		path, _ := c.Path(n)
		if len(path) == 0 {
			fmt.Fprintf(b, "  %s is the head\n", n)
			continue
		}
		fmt.Fprintf(b, "  %s -> %s\n", n, strings.Join(path, " -> "))
	}
	for _, s := range c.Skipped {
		fmt.Fprintf(b, "  %s is skipped: no upgrade leads to it (startingCSV installs it)\n", s)
	}
}
