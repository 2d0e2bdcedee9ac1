package catalog

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/graph"
)

// CatalogReport is the analysis of every package of a catalog, by name.
type CatalogReport struct {
	Packages []*graph.Report `json:"packages"`
}

// AnalyzeOptions select what AnalyzeCatalog analyses.
type AnalyzeOptions struct {
	// Package names the one package to analyse; empty analyses all.
	Package string
}

// AnalyzeCatalog analyses each package of cfg on its own, as an index
// holds hundreds: operator-registry's validation of that package (a failure
// is an error finding of the package, and its graph is still analysed, so
// a cycle is named with its entries even where opm only says "stranded
// bundles"), its upgrade graph and, for a valid package, its CRDs.
func AnalyzeCatalog(ctx context.Context, cfg *declcfg.DeclarativeConfig, o AnalyzeOptions) (*CatalogReport, error) {
	parts := ByPackage(cfg)
	names := slices.Sorted(maps.Keys(parts))
	if o.Package != "" {
		if _, ok := parts[o.Package]; !ok {
			return nil, fmt.Errorf("no package %q in the catalog; it has %s", o.Package, summarizeNames(names))
		}
		names = []string{o.Package}
	}
	r := &CatalogReport{Packages: []*graph.Report{}}
	for _, name := range names {
		r.Packages = append(r.Packages, analyzePart(ctx, name, parts[name]))
	}
	return r, nil
}

// analyzePart analyses one package's objects; what stops the analysis
// (no olm.package, a bundle without a version) is an error finding of the
// package, so one broken package does not hide the others.
func analyzePart(ctx context.Context, name string, part *declcfg.DeclarativeConfig) *graph.Report {
	verr := Validate(ctx, part)
	var report *graph.Report
	var err error
	if len(part.Packages) == 1 {
		report, err = analyzePackage(part, verr == nil)
	}
	if report == nil {
		report = graph.Analyze(&graph.Package{Name: name})
	}
	for _, e := range []error{verr, err} {
		if e != nil {
			report.Problems = append(report.Problems, graph.Problem{Severity: graph.Error, Message: e.Error()})
		}
	}
	return report
}

// ByPackage splits cfg into one config per package name that any of its
// objects names (a channel of a package without olm.package gets its own,
// which validation then refuses).
func ByPackage(cfg *declcfg.DeclarativeConfig) map[string]*declcfg.DeclarativeConfig {
	out := map[string]*declcfg.DeclarativeConfig{}
	part := func(name string) *declcfg.DeclarativeConfig {
		if out[name] == nil {
			out[name] = &declcfg.DeclarativeConfig{}
		}
		return out[name]
	}
	for _, p := range cfg.Packages {
		part(p.Name).Packages = append(part(p.Name).Packages, p)
	}
	for _, c := range cfg.Channels {
		part(c.Package).Channels = append(part(c.Package).Channels, c)
	}
	for _, b := range cfg.Bundles {
		part(b.Package).Bundles = append(part(b.Package).Bundles, b)
	}
	for _, d := range cfg.Deprecations {
		part(d.Package).Deprecations = append(part(d.Package).Deprecations, d)
	}
	for _, m := range cfg.Others {
		if m.Package != "" {
			part(m.Package).Others = append(part(m.Package).Others, m)
		}
	}
	return out
}

// Errors counts the error findings of every package.
func (c *CatalogReport) Errors() int { return c.sum((*graph.Report).Errors) }

// Warnings counts the warnings of every package.
func (c *CatalogReport) Warnings() int { return c.sum((*graph.Report).Warnings) }

func (c *CatalogReport) sum(f func(*graph.Report) int) int {
	n := 0
	for _, r := range c.Packages {
		n += f(r)
	}
	return n
}

// Escalate makes every package's warnings errors.
func (c *CatalogReport) Escalate() {
	for _, r := range c.Packages {
		r.Escalate()
	}
}

// Text is each package's report, and for several packages a summary that
// names those with errors and with warnings.
func (c *CatalogReport) Text() string {
	var b strings.Builder
	for i, r := range c.Packages {
		if i > 0 {
			b.WriteString("\n")
		}
		b.WriteString(r.Text())
	}
	if len(c.Packages) < 2 {
		return b.String()
	}
	var errs, warns []string
	for _, r := range c.Packages {
		switch {
		case r.Errors() > 0:
			errs = append(errs, fmt.Sprintf("%s (%d)", r.Package, r.Errors()))
		case r.Warnings() > 0:
			warns = append(warns, fmt.Sprintf("%s (%d)", r.Package, r.Warnings()))
		}
	}
	fmt.Fprintf(&b, "\nsummary: %d packages, %d with errors, %d with warnings only, %d clean\n", len(c.Packages), len(errs), len(warns), len(c.Packages)-len(errs)-len(warns))
	if len(errs) > 0 {
		fmt.Fprintf(&b, "  errors: %s\n", strings.Join(errs, ", "))
	}
	if len(warns) > 0 {
		fmt.Fprintf(&b, "  warnings: %s\n", strings.Join(warns, ", "))
	}
	return b.String()
}

// summarizeNames lists a few names of many.
func summarizeNames(names []string) string {
	const shown = 10
	if len(names) <= shown {
		return strings.Join(names, ", ")
	}
	return fmt.Sprintf("%d packages (%s, ...)", len(names), strings.Join(names[:shown], ", "))
}
