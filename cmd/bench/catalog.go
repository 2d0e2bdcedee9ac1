package main

import (
	"cmp"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/graph"
)

// generate builds a catalog of n bundles 1.y.z (ten z per y) in three
// channels, one mechanism each: candidate a replaces chain of all; fast
// where each y's last z replaces the previous y's and skips its own lower
// z; stable holding each y's last z with a skipRange over everything older.
func generate(n int) *declcfg.DeclarativeConfig {
	const pkg = "bench-operator"
	name := func(i int) string { return fmt.Sprintf("%s.v1.%d.%d", pkg, i/10, i%10) }
	cfg := &declcfg.DeclarativeConfig{
		Packages: []declcfg.Package{{Schema: declcfg.SchemaPackage, Name: pkg, DefaultChannel: "stable"}},
	}
	candidate := declcfg.Channel{Schema: declcfg.SchemaChannel, Name: "candidate", Package: pkg}
	fast := declcfg.Channel{Schema: declcfg.SchemaChannel, Name: "fast", Package: pkg}
	stable := declcfg.Channel{Schema: declcfg.SchemaChannel, Name: "stable", Package: pkg}
	prevHead := ""
	for i := 0; i < n; i++ {
		y, z := i/10, i%10
		cfg.Bundles = append(cfg.Bundles, declcfg.Bundle{
			Schema: declcfg.SchemaBundle, Name: name(i), Package: pkg,
			Image:      fmt.Sprintf("example.com/bench-operator-bundle:v1.%d.%d", y, z),
			Properties: []property.Property{property.MustBuildPackage(pkg, fmt.Sprintf("1.%d.%d", y, z))},
		})
		e := declcfg.ChannelEntry{Name: name(i)}
		if i > 0 {
			e.Replaces = name(i - 1)
		}
		candidate.Entries = append(candidate.Entries, e)

		last := z == 9 || i == n-1
		if !last {
			fast.Entries = append(fast.Entries, declcfg.ChannelEntry{Name: name(i)})
			continue
		}
		fe := declcfg.ChannelEntry{Name: name(i), Replaces: prevHead}
		for k := i - z; k < i; k++ {
			fe.Skips = append(fe.Skips, name(k))
		}
		fast.Entries = append(fast.Entries, fe)
		se := declcfg.ChannelEntry{Name: name(i), Replaces: prevHead, SkipRange: fmt.Sprintf(">=1.0.0 <1.%d.%d", y, z)}
		stable.Entries = append(stable.Entries, se)
		prevHead = name(i)
	}
	cfg.Channels = []declcfg.Channel{candidate, fast, stable}
	return cfg
}

type stepResult struct {
	Seconds float64 `json:"seconds"`
	PeakMiB float64 `json:"peakMiB"`
	// The spread of the repeated runs (median returns the median run).
	MinSeconds float64 `json:"minSeconds,omitempty"`
	MaxSeconds float64 `json:"maxSeconds,omitempty"`
	MaxPeakMiB float64 `json:"maxPeakMiB,omitempty"`
}

type catalogResult struct {
	Packages int `json:"packages"`
	// Objects: every bundle carries its manifests, CRDs that evolve.
	Objects bool `json:"objects"`
	// MB is the rendered catalog's size on disk.
	MB       float64               `json:"sizeMB"`
	Bundles  int                   `json:"bundles"`
	Render   stepResult            `json:"render"`
	Steps    map[string]stepResult `json:"steps"`
	Opm      stepResult            `json:"opmValidate"`
	Ratio    float64               `json:"validatePlusAnalysisOverOpm"`
	Edges    int                   `json:"edges"`
	Problems int                   `json:"errors"`
	Warnings int                   `json:"warnings"`
	Policies int                   `json:"policy"`
}

func benchCatalog(args []string) error {
	fs := flag.NewFlagSet("catalog", flag.ContinueOnError)
	opm := fs.String("opm", "bin/opm", "opm binary.")
	sizes := fs.String("sizes", "1000,10000,500x40,8x88+objects", "Catalog sizes: BUNDLES in one package, or PACKAGESxBUNDLES (an index); +objects gives every bundle its manifests (a CSV and a large CRD).")
	out := fs.String("out", "docs/bench", "Where results go.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var results []catalogResult
	for _, s := range strings.Split(*sizes, ",") {
		size, err := parseSize(s)
		if err != nil {
			return fmt.Errorf("-sizes: %w", err)
		}
		dir, err := os.MkdirTemp("", "bench-catalog-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		// render: generate the catalog and write it as opm serves it.
		rr, _, err := measureSelf("render", dir, size.String())
		if err != nil {
			return err
		}
		res := catalogResult{Packages: size.Packages, Objects: size.Objects, Bundles: size.bundles(), Render: rr, Steps: map[string]stepResult{}, MB: dirMB(dir)}
		var counts fullCounts
		for _, step := range []string{"load", "validate", "analyze", "full"} {
			var out []byte
			r, err := median(func() (stepResult, error) {
				var r stepResult
				var err error
				r, out, err = measureSelf(step, dir, "")
				return r, err
			})
			if err != nil {
				return err
			}
			res.Steps[step] = r
			if step == "full" {
				if err := json.Unmarshal(out, &counts); err != nil {
					return fmt.Errorf("step full printed %q", out)
				}
			}
		}
		if res.Opm, err = median(func() (stepResult, error) { return measure(exec.Command(*opm, "validate", dir)) }); err != nil {
			return fmt.Errorf("opm validate: %w", err)
		}
		res.Ratio = res.Steps["full"].Seconds / res.Opm.Seconds
		// The counts come from the full step's own process: analysing here
		// would raise this process's peak RSS, which the next steps, forked
		// from it, would inherit and report.
		res.Edges, res.Problems, res.Warnings, res.Policies = counts.Edges, counts.Errors, counts.Warnings, counts.Policies
		results = append(results, res)
		fmt.Printf("%d packages, %d bundles: full %.2fs (%.0f MiB), opm validate %.2fs (%.0f MiB)\n", res.Packages, res.Bundles, res.Steps["full"].Seconds, res.Steps["full"].PeakMiB, res.Opm.Seconds, res.Opm.PeakMiB)
	}
	return save(*out, "catalog", results, catalogTargets(results), catalogTable(results))
}

// catalogTargets are B2's promises, on the inputs they are about.
func catalogTargets(results []catalogResult) []target {
	var out []target
	for _, r := range results {
		full := r.Steps["full"]
		switch {
		case r.Packages == 1 && r.Bundles == 10000:
			out = append(out, newTarget("B2.analysis-10000", "analysis of 10,000 bundles", r.Steps["analyze"].Seconds, 1, "s"))
		case r.Objects:
			out = append(out,
				newTarget("B2.time-vs-opm", fmt.Sprintf("load + validate + analysis of %d bundles with manifests, over opm validate's time", r.Bundles), r.Ratio, 1, "x"),
				newTarget("B2.memory-vs-opm", fmt.Sprintf("load + validate + analysis of %d bundles with manifests, over opm validate's peak RSS", r.Bundles), full.PeakMiB/r.Opm.PeakMiB, 1, "x"))
		case r.Packages == 500:
			out = append(out,
				newTarget("B2.index-time", fmt.Sprintf("an index of %d packages and %d bundles loaded, validated and analysed", r.Packages, r.Bundles), full.Seconds, 5, "s"),
				newTarget("B2.index-memory", fmt.Sprintf("an index of %d packages and %d bundles loaded, validated and analysed: peak RSS", r.Packages, r.Bundles), full.PeakMiB, 1024, "MiB"))
		}
	}
	return out
}

// catalogTable is B2's table: each step's median run, its range and the
// highest peak RSS.
func catalogTable(results []catalogResult) string {
	var b strings.Builder
	b.WriteString("| packages | bundles | size on disk | render | load | validate (opm's model checks) | analysis (graph + CRDs) | load + validate + analysis | `opm validate` | ratio to opm | edges | errors | warnings | policy findings |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	cell := func(r stepResult) string {
		if r.MaxSeconds == 0 {
			return fmt.Sprintf("%.3f s, %.0f MiB", r.Seconds, r.PeakMiB)
		}
		return fmt.Sprintf("%.3f s (%.3f-%.3f), %.0f MiB (max %.0f)", r.Seconds, r.MinSeconds, r.MaxSeconds, r.PeakMiB, r.MaxPeakMiB)
	}
	for _, r := range results {
		fmt.Fprintf(&b, "| %d | %d | %.1f MB | %s | %s | %s | %s | %s | %s | %.2fx | %d | %d | %d | %d |\n", r.Packages, r.Bundles, r.MB, cell(r.Render), cell(r.Steps["load"]),
			cell(r.Steps["validate"]), cell(r.Steps["analyze"]), cell(r.Steps["full"]), cell(r.Opm), r.Ratio, r.Edges, r.Problems, r.Warnings, r.Policies)
	}
	b.WriteString("\nEach step runs 3 times; the table gives the run of median time, the range of the times in brackets and the highest peak RSS of the runs. Seconds of a step are timed inside its process (excluding start-up) except `opm validate` and load + validate + analysis, which are whole processes; memory is each process's peak RSS. `validate` and `analysis` include the load they need. `analysis` and load + validate + analysis take each package on its own, as `catalog analyze` does (validation per package included in the latter). Packages are validated and analysed side by side, one per core. The errors of the catalog with manifests are the CRD checks' findings on the mistakes its generator makes (every fourth package stops serving a version older releases stored; the next tightens a field's schema, which older releases' example breaks); the other packages add a version and move storage to it safely. Targets: analysis of 10,000 bundles under 1 s; load + validate + analysis at most 1.0x `opm validate`'s time and memory on the input with manifests; an index of 500 packages and 20,000 bundles loaded, validated and analysed under 5 s and 1 GiB.\n")
	return b.String()
}

// dirMB is the size of the files under dir, in MB.
func dirMB(dir string) float64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if info, err := d.Info(); err == nil {
				n += info.Size()
			}
		}
		return nil
	})
	return float64(n) / 1e6
}

// writeCatalog writes the catalog as opm serves it, one directory per
// package.
func writeCatalog(dir string, cfg *declcfg.DeclarativeConfig) error {
	for name, part := range catalog.ByPackage(cfg) {
		if err := os.MkdirAll(filepath.Join(dir, name), 0o755); err != nil {
			return err
		}
		f, err := os.Create(filepath.Join(dir, name, "catalog.json"))
		if err != nil {
			return err
		}
		if err := declcfg.WriteJSON(*part, f); err != nil {
			f.Close()
			return err
		}
		if err := f.Close(); err != nil {
			return err
		}
	}
	return nil
}

// runs is how many times each step runs; its median time is reported (with
// that run's memory): start-up noise is a good part of a small catalog's time.
const runs = 3

// median runs f runs times and returns the run of median time.
func median(f func() (stepResult, error)) (stepResult, error) {
	var rs []stepResult
	for range runs {
		r, err := f()
		if err != nil {
			return r, err
		}
		rs = append(rs, r)
	}
	slices.SortFunc(rs, func(a, b stepResult) int { return cmp.Compare(a.Seconds, b.Seconds) })
	m := rs[len(rs)/2]
	m.MinSeconds, m.MaxSeconds = rs[0].Seconds, rs[len(rs)-1].Seconds
	for _, r := range rs {
		m.MaxPeakMiB = max(m.MaxPeakMiB, r.PeakMiB)
	}
	return m, nil
}

// fullCounts is what the full step found.
type fullCounts struct {
	Edges, Errors, Warnings, Policies int
}

// measureSelf runs `bench catalog-step STEP DIR [N]`, times it and returns
// what it printed.
func measureSelf(step, dir, n string) (stepResult, []byte, error) {
	self, err := os.Executable()
	if err != nil {
		return stepResult{}, nil, err
	}
	args := []string{"catalog-step", step, dir}
	if n != "" {
		args = append(args, n)
	}
	cmd := exec.Command(self, args...)
	var stdout strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, os.Stderr
	r, err := measure(cmd)
	if err != nil {
		return r, nil, fmt.Errorf("step %s: %w", step, err)
	}
	out := []byte(stdout.String())
	if step == "full" {
		return r, out, nil // the whole process, as opm validate is measured
	}
	var inner struct{ Seconds float64 }
	if err := json.Unmarshal(out, &inner); err != nil {
		return r, nil, fmt.Errorf("step %s printed %q", step, out)
	}
	r.Seconds = inner.Seconds
	return r, out, nil
}

// measure runs a command; wall time and peak RSS.
func measure(cmd *exec.Cmd) (stepResult, error) {
	start := time.Now()
	if err := cmd.Run(); err != nil {
		return stepResult{}, err
	}
	ru := cmd.ProcessState.SysUsage().(*syscall.Rusage)
	return stepResult{Seconds: time.Since(start).Seconds(), PeakMiB: mib(ru.Maxrss)}, nil
}

// catalogStep is one measured step, in its own process.
func catalogStep(args []string) error {
	if len(args) < 2 {
		return fmt.Errorf("catalog-step STEP DIR [N]")
	}
	step, dir := args[0], args[1]
	ctx := context.Background()
	start := time.Now()
	var err error
	switch step {
	case "render":
		err = renderStep(dir, args[2:])
	case "load":
		_, err = declcfg.LoadFS(ctx, os.DirFS(dir))
	case "validate":
		var cfg *declcfg.DeclarativeConfig
		if cfg, err = declcfg.LoadFS(ctx, os.DirFS(dir)); err == nil {
			err = catalog.Validate(ctx, cfg)
		}
	case "analyze":
		start, err = analyzeStep(ctx, dir)
	case "full":
		return fullStep(ctx, dir)
	default:
		return fmt.Errorf("unknown step %q", step)
	}
	if err != nil {
		return err
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]float64{"seconds": time.Since(start).Seconds()})
}

// renderStep generates the catalog of a size into dir as opm serves it.
func renderStep(dir string, args []string) error {
	if len(args) < 1 {
		return fmt.Errorf("catalog-step render DIR SIZE")
	}
	size, err := parseSize(args[0])
	if err != nil {
		return err
	}
	cfg, err := generateSize(size)
	if err != nil {
		return err
	}
	return writeCatalog(dir, cfg)
}

// analyzeStep loads the catalog, then analyses each package's graph and
// CRDs; it returns when the load ended, so the step times the analysis
// alone (load is its own step).
func analyzeStep(ctx context.Context, dir string) (time.Time, error) {
	cfg, err := declcfg.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		return time.Time{}, err
	}
	loaded := time.Now()
	for _, part := range catalog.ByPackage(cfg) {
		pkg, err := catalog.Package(part)
		if err != nil {
			return loaded, err
		}
		report := graph.Analyze(pkg)
		if _, err := catalog.AnalyzeCRDs(part, report.Edges); err != nil {
			return loaded, err
		}
	}
	return loaded, nil
}

// fullStep is what `sdk catalog analyze` runs; it prints what it found.
func fullStep(ctx context.Context, dir string) error {
	cfg, err := catalog.Load(ctx, dir)
	if err != nil {
		return err
	}
	report, err := catalog.AnalyzeCatalog(ctx, cfg, catalog.AnalyzeOptions{})
	if err != nil {
		return err
	}
	c := fullCounts{Errors: report.Errors(), Warnings: report.Warnings(), Policies: report.Policies()}
	for _, r := range report.Packages {
		c.Edges += len(r.Edges)
	}
	return json.NewEncoder(os.Stdout).Encode(c)
}
