package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"

	"github.com/example-inc/memcached-operator/internal/graph"
)

// Check validates cfg exactly as `opm validate` does, then analyses its
// upgrade graph and the CRDs on every edge. An opm validation failure is
// an error; analysis findings are in the report.
func Check(ctx context.Context, cfg *declcfg.DeclarativeConfig) (*graph.Report, error) {
	if err := Validate(ctx, cfg); err != nil {
		return nil, err
	}
	if len(cfg.Packages) != 1 {
		return nil, fmt.Errorf("the catalog holds %d packages; this tool analyses one", len(cfg.Packages))
	}
	pkg, err := Package(cfg)
	if err != nil {
		return nil, err
	}
	report := graph.Analyze(pkg)
	crdProblems, err := CheckCRDs(cfg, report.Edges)
	if err != nil {
		return nil, err
	}
	report.Problems = append(report.Problems, crdProblems...)
	return report, nil
}

// Validate runs operator-registry's own validation on cfg: what `opm
// validate` (pkg/lib/config.Validate) runs once it has loaded the files,
// the conversion to its model with every model check.
func Validate(_ context.Context, cfg *declcfg.DeclarativeConfig) error {
	if _, err := declcfg.ConvertToModel(*cfg); err != nil {
		return fmt.Errorf("opm validate: %w", err)
	}
	return nil
}

// Package extracts what the graph analysis needs from a one-package FBC.
func Package(cfg *declcfg.DeclarativeConfig) (*graph.Package, error) {
	p := &graph.Package{
		Name:           cfg.Packages[0].Name,
		DefaultChannel: cfg.Packages[0].DefaultChannel,
		Versions:       map[string]semver.Version{},
	}
	for _, b := range cfg.Bundles {
		v, err := bundleVersion(b)
		if err != nil {
			return nil, err
		}
		p.Versions[b.Name] = v
	}
	channels := append([]declcfg.Channel(nil), cfg.Channels...)
	sort.Slice(channels, func(i, j int) bool { return channels[i].Name < channels[j].Name })
	for _, c := range channels {
		ch := graph.Channel{Name: c.Name}
		for _, e := range c.Entries {
			ch.Entries = append(ch.Entries, graph.Entry{Name: e.Name, Replaces: e.Replaces, Skips: e.Skips, SkipRange: e.SkipRange})
		}
		p.Channels = append(p.Channels, ch)
	}
	return p, nil
}

func bundleVersion(b declcfg.Bundle) (semver.Version, error) {
	for _, prop := range b.Properties {
		if prop.Type != property.TypePackage {
			continue
		}
		var pp property.Package
		if err := json.Unmarshal(prop.Value, &pp); err != nil {
			return semver.Version{}, fmt.Errorf("bundle %s: olm.package property: %w", b.Name, err)
		}
		v, err := semver.Parse(pp.Version)
		if err != nil {
			return semver.Version{}, fmt.Errorf("bundle %s: version %q: %w", b.Name, pp.Version, err)
		}
		return v, nil
	}
	return semver.Version{}, fmt.Errorf("bundle %s has no olm.package property", b.Name)
}

// Text is the report as people read it.
func Text(r *graph.Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "package %s (default channel %s)\n", r.Package, r.DefaultChannel)
	for _, c := range r.Channels {
		fmt.Fprintf(&b, "\nchannel %s: head %s\n", c.Name, orNone(c.Head))
		for _, n := range c.Bundles() {
			path, _ := c.Path(n)
			if len(path) == 0 {
				fmt.Fprintf(&b, "  %s is the head\n", n)
				continue
			}
			fmt.Fprintf(&b, "  %s -> %s\n", n, strings.Join(path, " -> "))
		}
		for _, s := range c.Skipped {
			fmt.Fprintf(&b, "  %s is skipped: not installable by startingCSV\n", s)
		}
	}
	fmt.Fprintf(&b, "\nchannel switches (installed bundle: from -> to lands on)\n")
	for _, s := range r.Switches {
		if s.Lands != "" {
			fmt.Fprintf(&b, "  %s: %s -> %s lands on %s\n", s.Bundle, s.From, s.To, s.Lands)
		} else {
			fmt.Fprintf(&b, "  %s: %s -> %s finds no upgrade (%s)\n", s.Bundle, s.From, s.To, s.Reason)
		}
	}
	if len(r.Problems) > 0 {
		fmt.Fprintf(&b, "\nfindings\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  %s\n", p)
		}
	}
	return b.String()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

// Lines flattens operator-registry's validation error tree
//
//	invalid index:
//	└── invalid package "p":
//	    └── invalid channel "stable":
//	        └── invalid bundle "p.v1":
//	            └── invalid skipRange "x": ...
//
// into one line per leaf that carries its whole path:
//
//	invalid package "p": invalid channel "stable": invalid bundle "p.v1": invalid skipRange "x": ...
func Lines(err error) []string {
	type frame struct {
		depth int
		text  string
	}
	var stack []frame
	var out []string
	rows := strings.Split(err.Error(), "\n")
	for i, row := range rows {
		trimmed := strings.TrimLeft(row, " │├└─")
		depth := len([]rune(row)) - len([]rune(trimmed))
		for len(stack) > 0 && stack[len(stack)-1].depth >= depth {
			stack = stack[:len(stack)-1]
		}
		text := strings.TrimSuffix(strings.TrimSpace(trimmed), ":")
		nextDepth := -1
		if i+1 < len(rows) {
			next := rows[i+1]
			nextDepth = len([]rune(next)) - len([]rune(strings.TrimLeft(next, " │├└─")))
		}
		if nextDepth > depth {
			stack = append(stack, frame{depth, text})
			continue
		}
		var parts []string
		for _, f := range stack {
			if f.text != "opm validate: invalid index" && f.text != "invalid index" {
				parts = append(parts, f.text)
			}
		}
		out = append(out, strings.Join(append(parts, text), ": "))
	}
	return out
}
