package graph

import (
	"slices"
	"sort"
)

// Deprecations are the messages of a package's olm.deprecations: the
// package's own, and by channel and bundle name.
type Deprecations struct {
	Package  string            `json:"package,omitempty"`
	Channels map[string]string `json:"channels,omitempty"`
	Bundles  map[string]string `json:"bundles,omitempty"`
}

// checkDeprecations reports what deprecations mean for subscribers: a
// deprecated default channel or channel head strands them on something
// deprecated (warnings); upgrade paths that pass a deprecated bundle, and a
// deprecated package, are facts (info).
func checkDeprecations(pkg *Package, r *Report, add addFunc) {
	d := pkg.Deprecations
	if d.Package != "" {
		add(Info, "", "", "package %s is deprecated (%q)", pkg.Name, d.Package)
	}
	if msg, ok := d.Channels[pkg.DefaultChannel]; ok {
		add(Warning, pkg.DefaultChannel, "", "is the default channel and deprecated (%q): a Subscription that names no channel lands in it; make another channel the default", msg)
	}
	for _, c := range r.Channels {
		if msg, ok := d.Bundles[c.Head]; ok && c.Head != "" {
			add(Warning, c.Name, c.Head, "is the channel's head and deprecated (%q): every subscriber of the channel ends on it; release a successor into the channel", msg)
		}
		passing := upstreamOf(c, d.Bundles)
		names := make([]string, 0, len(passing))
		for b := range passing {
			names = append(names, b)
		}
		sort.Strings(names)
		for _, b := range names {
			add(Info, c.Name, b, "is deprecated (%q); upgrades from %s pass through it on the way to the head", d.Bundles[b], Few(passing[b]))
		}
	}
}

// upstreamOf lists, for each deprecated bundle of the channel that is not
// its head, the bundles whose path to the head passes through it: the
// subtree above it in the tree of next hops. Linear in the channel for
// each deprecated bundle, so a long replaces chain stays cheap.
func upstreamOf(c ChannelReport, deprecated map[string]string) map[string][]string {
	out := map[string][]string{}
	if len(deprecated) == 0 {
		return out
	}
	from := map[string][]string{} // next hop -> bundles that take it
	for b, n := range c.Next {
		from[n] = append(from[n], b)
	}
	for b := range deprecated {
		if _, ok := c.Hops[b]; !ok || b == c.Head {
			continue
		}
		var up []string
		for stack := slices.Clone(from[b]); len(stack) > 0; {
			x := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			up = append(up, x)
			stack = append(stack, from[x]...)
		}
		if len(up) > 0 {
			sort.Strings(up)
			out[b] = up
		}
	}
	return out
}
