package catalog

import (
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
)

// Text is the listing as a reviewer reads it: what an OperatorHub console
// shows on the package's tile and its install page, from the default
// channel's head, then every channel.
func (l Listing) Text() string {
	var b strings.Builder
	p := func(format string, a ...any) { fmt.Fprintf(&b, format, a...) }
	if len(l.Channels) == 0 {
		p("package %s: no channel with a head; the package server does not list it\n", l.PackageName)
		return b.String()
	}
	head := l.defaultHead()
	d := head.CurrentCSVDesc
	p("package %s: %s %s, by %s\n", l.PackageName, orNone(d.DisplayName), d.Version.String(), link(l.Provider))
	if l.Deprecation != nil {
		p("  DEPRECATED: %s\n", l.Deprecation.Message)
	}
	p("  short description: %s\n", orNone(d.Annotations["description"]))
	p("  capability level: %s; categories: %s; maturity: %s\n", orNone(d.Annotations["capabilities"]), orNone(d.Annotations["categories"]), orNone(d.Maturity))
	p("  icon: %s\n", icon(d.Icon))
	p("  keywords: %s\n", orNone(strings.Join(d.Keywords, ", ")))
	p("  links: %s\n", orNone(joinMap(d.Links, link)))
	p("  maintainers: %s\n", orNone(joinMap(d.Maintainers, func(m Maintainer) string { return fmt.Sprintf("%s <%s>", m.Name, m.Email) })))
	p("  container image: %s; repository: %s; support: %s; created: %s\n", orNone(d.Annotations["containerImage"]), orNone(d.Annotations["repository"]), orNone(d.Annotations["support"]), orNone(d.Annotations["createdAt"]))
	p("  minimum Kubernetes: %s\n", orNone(d.MinKubeVersion))
	var modes []string
	for _, m := range d.InstallModes {
		if m.Supported {
			modes = append(modes, string(m.Type))
		}
	}
	p("  install modes: %s\n", orNone(strings.Join(modes, ", ")))
	p("  default channel: %s (installs %s)\n", l.DefaultChannel, head.CurrentCSV)
	p("  channels:\n")
	for _, ch := range l.Channels {
		p("    %s: head %s; %s", ch.Name, ch.CurrentCSV, joinMap(ch.Entries, func(e ListedEntry) string { return e.Version }))
		if ch.Deprecation != nil {
			p("; DEPRECATED: %s", ch.Deprecation.Message)
		}
		p("\n")
		for _, e := range ch.Entries {
			if e.Deprecation != nil {
				p("      %s DEPRECATED: %s\n", e.Name, e.Deprecation.Message)
			}
		}
	}
	p("  provided APIs:\n")
	for _, crd := range d.CustomResourceDefinitions.Owned {
		p("    %s (%s %s): %s\n", crd.DisplayName, crd.Name, crd.Version, orNone(crd.Description))
	}
	for _, api := range d.APIServiceDefinitions.Owned {
		p("    %s (%s.%s %s): %s\n", api.DisplayName, api.Name, api.Group, api.Version, orNone(api.Description))
	}
	p("  related images: %s\n", orNone(strings.Join(d.RelatedImages, ", ")))
	p("  description:\n")
	for line := range strings.SplitSeq(strings.TrimRight(d.Description, "\n"), "\n") {
		p("%s\n", strings.TrimRight("    | "+line, " "))
	}
	return b.String()
}

// defaultHead is the channel an admin installs unless they pick another.
func (l Listing) defaultHead() ListedChannel {
	if i := slices.IndexFunc(l.Channels, func(c ListedChannel) bool { return c.Name == l.DefaultChannel }); i >= 0 {
		return l.Channels[i]
	}
	return l.Channels[0]
}

func orNone(s string) string {
	if strings.TrimSpace(s) == "" {
		return "(none)"
	}
	return s
}

func link(l AppLink) string {
	if l.URL == "" {
		return orNone(l.Name)
	}
	return fmt.Sprintf("%s (%s)", orNone(l.Name), l.URL)
}

func icon(icons []Icon) string {
	if len(icons) == 0 {
		return "(none)"
	}
	n, err := base64.StdEncoding.DecodeString(icons[0].Base64Data)
	if err != nil {
		return fmt.Sprintf("%s, not base64: %v", icons[0].Mediatype, err)
	}
	return fmt.Sprintf("%s, %d bytes", icons[0].Mediatype, len(n))
}

func joinMap[T any](items []T, f func(T) string) string {
	s := make([]string, len(items))
	for i, it := range items {
		s[i] = f(it)
	}
	return strings.Join(s, ", ")
}
