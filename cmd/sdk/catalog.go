package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/graph"
)

type catalogFlags struct {
	src    catalog.Source
	bundle string
}

func (c *catalogFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.src.Template, "template", "config/catalog/template.yaml", "Catalog template opm renders: basic (olm.template.basic), semver (olm.semver), ...")
	fs.StringVar(&c.src.Releases, "releases", "config/catalog/releases", "Directory of released bundles, one <package>.v<version> each.")
	fs.BoolVar(&c.src.Pull, "pull", false, "Render every bundle from its image (tag or digest), pulled from its registry as opm does, instead of the releases directory.")
	fs.BoolVar(&c.src.Insecure, "registry-insecure", false, "With --pull: reach registries over plain HTTP or unverified TLS (a local registry).")
	fs.StringVar(&c.bundle, "bundle", "bundle", "The working bundle; if its version is released, it must equal the released copy. Empty to skip.")
}

// catalogRender is `make catalog`: render, validate as opm does, analyse,
// and write only a catalog with no errors.
func catalogRender(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("catalog render", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf catalogFlags
	cf.register(fs)
	output := fs.String("output", "catalog", "Catalog directory to replace.")
	local := fs.Bool("local", false, "Omit bundle images: OLM installs from the inline manifests (local cluster).")
	strict := fs.Bool("strict", true, "Hold the catalog to the analysis' policy: its warnings and policy findings are errors (our own catalog).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	report, err := catalog.Generate(context.Background(), cf.src, catalog.GenerateOptions{Output: *output, Local: *local, Bundle: cf.bundle, Strict: *strict})
	if errors.Is(err, catalog.ErrInvalid) {
		printProblems(stderr, cf.src.Template, report)
		fmt.Fprintf(stderr, "error: %s was left as it was\n", *output)
		return errReported
	}
	if err != nil {
		// operator-registry reports a tree; print one line per problem.
		for _, l := range catalog.ErrorLines(err) {
			fmt.Fprintln(stderr, "error:", l)
		}
		fmt.Fprintf(stderr, "error: %s was left as it was\n", *output)
		return errReported
	}
	fmt.Fprintf(stdout, "catalog %s: %d channels written to %s\n", report.Package, len(report.Channels), *output)
	return nil
}

func printProblems(w io.Writer, file string, r *graph.Report) {
	for _, p := range r.Problems {
		if p.Severity == graph.Error {
			fmt.Fprintf(w, "%s: %s\n", file, p)
		}
	}
}

// catalogAnalyze prints the upgrade analysis of an FBC directory, every
// package or --package's. It exits 1 when the analysis finds errors (what
// makes OLM fail or strand a user), 2 when it finds warnings (what misleads
// users though OLM works), 0 otherwise: policy findings (patterns OLM
// handles) fail only under --strict.
func catalogAnalyze(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("catalog analyze", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "text", "Output: text or json ({\"packages\": [one report per package]}).")
	strict := fs.Bool("strict", false, "Warnings and policy findings (edges to versions that are not higher, skipRanges unbounded or covering their own version) are errors.")
	pkg := fs.String("package", "", "Analyse only this package.")
	switches := fs.String("switches", "summary", "Channel switches: summary (per pair of channels, grouped) or full (every bundle into every other channel).")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("catalog analyze takes one catalog directory")
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("-o %s: want text or json", *output)
	}
	if *switches != "summary" && *switches != "full" {
		return fmt.Errorf("--switches %s: want summary or full", *switches)
	}
	dir := fs.Arg(0)
	ctx := context.Background()
	cfg, err := catalog.Load(ctx, dir)
	if err != nil {
		return err
	}
	report, err := catalog.AnalyzeCatalog(ctx, cfg, catalog.AnalyzeOptions{Package: *pkg})
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	if *strict {
		report.Escalate()
	}
	if *switches == "summary" {
		report.Summarize()
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, report.Text())
	}
	switch {
	case report.Errors() > 0:
		return fmt.Errorf("%s: %d errors in the upgrade graph", dir, report.Errors())
	case report.Warnings() > 0:
		return &exitError{code: 2, prefix: "warning:", err: fmt.Errorf("%s: %d warnings in the upgrade graph (--strict makes them errors)", dir, report.Warnings())}
	case report.Policies() > 0:
		fmt.Fprintf(stderr, "note: %s: %d policy findings, patterns OLM handles (--strict makes them errors)\n", dir, report.Policies())
	}
	return nil
}

// catalogDiff prints what changing catalog OLD into NEW means for users
// (the release gate) and exits 1 when it strands or slows down anyone.
func catalogDiff(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("catalog diff", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "text", "Output: text or json.")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 2 {
		return errors.New("catalog diff takes two catalog directories: OLD NEW")
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("-o %s: want text or json", *output)
	}
	ctx := context.Background()
	var cfgs [2]*declcfg.DeclarativeConfig
	for i, dir := range fs.Args() {
		cfg, err := catalog.Load(ctx, dir)
		if err != nil {
			return err
		}
		cfgs[i] = cfg
	}
	d, err := catalog.DiffCatalogs(ctx, cfgs[0], cfgs[1])
	if err != nil {
		return err
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return err
		}
	} else {
		fmt.Fprint(stdout, d.Text())
	}
	if regs := d.Regressions(); len(regs) > 0 {
		return fmt.Errorf("%s -> %s: %d user-visible regressions:\n  %s", fs.Arg(0), fs.Arg(1), len(regs), strings.Join(regs, "\n  "))
	}
	return nil
}

// catalogShow prints what OLM's package server lists for the catalog's
// packages (what OperatorHub shows), without a cluster: text for
// reviewers, or JSON in the fields of a PackageManifest's status.
func catalogShow(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("catalog show", flag.ContinueOnError)
	fs.SetOutput(stderr)
	output := fs.String("o", "text", "Output: text, or json (a list of PackageManifest statuses without the CatalogSource's fields).")
	pkg := fs.String("package", "", "Show only this package.")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("catalog show takes one catalog directory")
	}
	if *output != "text" && *output != "json" {
		return fmt.Errorf("-o %s: want text or json", *output)
	}
	dir := fs.Arg(0)
	cfg, err := catalog.Load(context.Background(), dir)
	if err != nil {
		return err
	}
	listings, omitted, err := catalog.Show(cfg)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	for _, o := range omitted {
		fmt.Fprintf(stderr, "note: %s: %s (as OLM's package server does)\n", dir, o)
	}
	if *pkg != "" {
		i := slices.IndexFunc(listings, func(l catalog.Listing) bool { return l.PackageName == *pkg })
		if i < 0 {
			return fmt.Errorf("%s: no package %q; the catalog has %s", dir, *pkg, packageNames(listings))
		}
		listings = listings[i : i+1]
	}
	if *output == "json" {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(listings)
	}
	for i, l := range listings {
		if i > 0 {
			fmt.Fprintln(stdout)
		}
		fmt.Fprint(stdout, l.Text())
	}
	return nil
}

func packageNames(ls []catalog.Listing) string {
	names := make([]string, len(ls))
	for i, l := range ls {
		names[i] = l.PackageName
	}
	return strings.Join(names, ", ")
}

// catalogRelease adds the working bundle to the released history and the
// template.
func catalogRelease(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("catalog release", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var cf catalogFlags
	cf.register(fs)
	image := fs.String("image", "", "The bundle image reference (BUNDLE_IMG), tagged v<version>.")
	channels := fs.String("channels", "", "Channels to add the release to (CHANNELS).")
	skipRange := fs.String("skip-range", "", "skipRange of the new channel entries (SKIP_RANGE).")
	output := fs.String("output", "", "Catalog directory to render from the new template and releases in the same change (catalog/); empty for none.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *image == "" || *channels == "" {
		return errors.New("catalog release needs --image and --channels")
	}
	res, err := catalog.Release(context.Background(), catalog.ReleaseOptions{
		Source: cf.src, Bundle: cf.bundle, Image: *image, Channels: strings.Split(*channels, ","), SkipRange: *skipRange, Output: *output,
	})
	if res != nil && res.Diff != nil {
		fmt.Fprint(stdout, res.Diff.Text())
	}
	if err != nil {
		return err
	}
	if *output != "" {
		fmt.Fprintf(stdout, "released %s into %s, %s and %s\n", res.Name, cf.src.Releases, cf.src.Template, *output)
		return nil
	}
	fmt.Fprintf(stdout, "released %s into %s and %s; run make catalog\n", res.Name, cf.src.Releases, cf.src.Template)
	return nil
}
