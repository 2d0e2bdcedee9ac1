package catalog

import (
	"context"
	"fmt"
	"maps"
	"runtime"
	"slices"
	"strings"
	"sync"

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
	// Packages are independent: analysed side by side, one per core, as
	// opm's loader reads files; reports stay in name order.
	r := &CatalogReport{Packages: make([]*graph.Report, len(names))}
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(runtime.GOMAXPROCS(0), len(names)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				r.Packages[i] = analyzePart(ctx, names[i], parts[names[i]])
			}
		}()
	}
	for i := range names {
		next <- i
	}
	close(next)
	wg.Wait()
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
	if verr != nil {
		// One finding per problem opm found, in a fixed order.
		for _, l := range ErrorLines(verr) {
			msg := "opm validate: " + strings.TrimPrefix(l, "opm validate: ")
			report.Problems = append(report.Problems, graph.Problem{Severity: graph.Error, Message: msg})
		}
	}
	if err != nil {
		report.Problems = append(report.Problems, graph.Problem{Severity: graph.Error, Message: err.Error()})
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

// Policies counts the policy findings of every package.
func (c *CatalogReport) Policies() int { return c.sum((*graph.Report).Policies) }

func (c *CatalogReport) sum(f func(*graph.Report) int) int {
	n := 0
	for _, r := range c.Packages {
		n += f(r)
	}
	return n
}

// Summarize replaces every package's switch matrix with its summary.
func (c *CatalogReport) Summarize() {
	for _, r := range c.Packages {
		r.Summarize()
	}
}

// Escalate makes every package's warnings and policy findings errors.
func (c *CatalogReport) Escalate() {
	for _, r := range c.Packages {
		r.Escalate()
	}
}

// Text is each package's report, and for several packages a summary that
// names those with errors, with warnings and with policy findings only.
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
	var errs, warns, policies []string
	for _, r := range c.Packages {
		switch {
		case r.Errors() > 0:
			errs = append(errs, fmt.Sprintf("%s (%d)", r.Package, r.Errors()))
		case r.Warnings() > 0:
			warns = append(warns, fmt.Sprintf("%s (%d)", r.Package, r.Warnings()))
		case r.Policies() > 0:
			policies = append(policies, fmt.Sprintf("%s (%d)", r.Package, r.Policies()))
		}
	}
	clean := len(c.Packages) - len(errs) - len(warns) - len(policies)
	fmt.Fprintf(&b, "\nsummary: %d packages, %d with errors, %d with warnings, %d with policy findings only, %d clean\n", len(c.Packages), len(errs), len(warns), len(policies), clean)
	for _, l := range []struct {
		what  string
		names []string
	}{{"errors", errs}, {"warnings", warns}, {"policy", policies}} {
		if len(l.names) > 0 {
			fmt.Fprintf(&b, "  %s: %s\n", l.what, strings.Join(l.names, ", "))
		}
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
