package catalog

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"

	"github.com/example-inc/memcached-operator/internal/graph"
)

// Validate runs operator-registry's own validation on cfg: what `opm
// validate` (pkg/lib/config.Validate) runs once it has loaded the files,
// the conversion to its model with every model check.
func Validate(_ context.Context, cfg *declcfg.DeclarativeConfig) error {
	if _, err := declcfg.ConvertToModel(*cfg); err != nil {
		return fmt.Errorf("opm validate: %w", err)
	}
	return nil
}

// Analyze validates a one-package cfg (Validate), then analyses its upgrade
// graph and the CRDs on every edge (AnalyzeCRDs). A validation failure is
// an error; analysis findings are in the report. AnalyzeCatalog analyses
// catalogs of any number of packages.
func Analyze(ctx context.Context, cfg *declcfg.DeclarativeConfig) (*graph.Report, error) {
	if err := Validate(ctx, cfg); err != nil {
		return nil, err
	}
	if len(cfg.Packages) != 1 {
		return nil, fmt.Errorf("the catalog holds %d packages; Analyze takes one (AnalyzeCatalog takes any)", len(cfg.Packages))
	}
	return analyzePackage(cfg, true)
}

// analyzePackage analyses one package's graph, and its CRDs when the
// package is valid (they need its bundles to load).
func analyzePackage(cfg *declcfg.DeclarativeConfig, valid bool) (*graph.Report, error) {
	pkg, err := Package(cfg)
	if err != nil {
		return nil, err
	}
	report := graph.Analyze(pkg)
	if !valid {
		return report, nil
	}
	crdProblems, err := AnalyzeCRDs(cfg, report.Edges)
	if err != nil {
		return nil, err
	}
	report.Problems = append(report.Problems, crdProblems...)
	return report, nil
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
	p.Deprecations = deprecations(cfg, p.Name)
	channels := append([]declcfg.Channel(nil), cfg.Channels...)
	sort.Slice(channels, func(i, j int) bool { return channels[i].Name < channels[j].Name })
	for _, c := range channels {
		p.Channels = append(p.Channels, graphChannel(c))
	}
	return p, nil
}

// graphChannel is what the graph analysis needs of a channel.
func graphChannel(c declcfg.Channel) graph.Channel {
	ch := graph.Channel{Name: c.Name}
	for _, e := range c.Entries {
		ch.Entries = append(ch.Entries, graph.Entry{Name: e.Name, Replaces: e.Replaces, Skips: e.Skips, SkipRange: e.SkipRange})
	}
	return ch
}

// deprecations collects the package's olm.deprecations messages.
func deprecations(cfg *declcfg.DeclarativeConfig, pkg string) graph.Deprecations {
	d := graph.Deprecations{Channels: map[string]string{}, Bundles: map[string]string{}}
	for _, dep := range cfg.Deprecations {
		if dep.Package != pkg {
			continue
		}
		for _, e := range dep.Entries {
			switch e.Reference.Schema {
			case declcfg.SchemaPackage:
				d.Package = e.Message
			case declcfg.SchemaChannel:
				d.Channels[e.Reference.Name] = e.Message
			case declcfg.SchemaBundle:
				d.Bundles[e.Reference.Name] = e.Message
			}
		}
	}
	return d
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
