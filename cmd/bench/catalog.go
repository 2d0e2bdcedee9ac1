package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strconv"
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
}

type catalogResult struct {
	Bundles  int                   `json:"bundles"`
	Render   stepResult            `json:"render"`
	Steps    map[string]stepResult `json:"steps"`
	Opm      stepResult            `json:"opmValidate"`
	Ratio    float64               `json:"validatePlusAnalysisOverOpm"`
	Edges    int                   `json:"edges"`
	Problems int                   `json:"errors"`
}

func benchCatalog(args []string) error {
	fs := flag.NewFlagSet("catalog", flag.ContinueOnError)
	opm := fs.String("opm", "bin/opm", "opm binary.")
	sizes := fs.String("sizes", "1000,10000", "Catalog sizes in bundles.")
	out := fs.String("out", "docs/bench", "Where results go.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var results []catalogResult
	for _, s := range strings.Split(*sizes, ",") {
		var n int
		if _, err := fmt.Sscan(s, &n); err != nil {
			return fmt.Errorf("-sizes %q: %w", s, err)
		}
		dir, err := os.MkdirTemp("", "bench-catalog-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		// render: generate the catalog and write it as opm serves it.
		rr, err := measureSelf("render", dir, fmt.Sprint(n))
		if err != nil {
			return err
		}
		res := catalogResult{Bundles: n, Render: rr, Steps: map[string]stepResult{}}
		for _, step := range []string{"load", "validate", "analyze", "full"} {
			r, err := measureSelf(step, dir, "")
			if err != nil {
				return err
			}
			res.Steps[step] = r
		}
		if res.Opm, err = measure(exec.Command(*opm, "validate", dir)); err != nil {
			return fmt.Errorf("opm validate: %w", err)
		}
		res.Ratio = res.Steps["full"].Seconds / res.Opm.Seconds
		cfg, err := declcfg.LoadFS(context.Background(), os.DirFS(dir))
		if err != nil {
			return err
		}
		report, err := catalog.Analyze(context.Background(), cfg)
		if err != nil {
			return err
		}
		res.Edges, res.Problems = len(report.Edges), report.Errors()
		results = append(results, res)
		fmt.Printf("%d bundles: full %.2fs (%.0f MiB), opm validate %.2fs (%.0f MiB)\n", n, res.Steps["full"].Seconds, res.Steps["full"].PeakMiB, res.Opm.Seconds, res.Opm.PeakMiB)
	}
	var b strings.Builder
	b.WriteString("| bundles | render | load | validate (opm's model checks) | analysis (graph + CRDs) | load + validate + analysis | `opm validate` | ratio to opm | edges | errors |\n|---|---|---|---|---|---|---|---|---|---|\n")
	cell := func(r stepResult) string { return fmt.Sprintf("%.3f s, %.0f MiB", r.Seconds, r.PeakMiB) }
	for _, r := range results {
		fmt.Fprintf(&b, "| %d | %s | %s | %s | %s | %s | %s | %.2fx | %d | %d |\n", r.Bundles, cell(r.Render), cell(r.Steps["load"]),
			cell(r.Steps["validate"]), cell(r.Steps["analyze"]), cell(r.Steps["full"]), cell(r.Opm), r.Ratio, r.Edges, r.Problems)
	}
	b.WriteString("\nSeconds of a step are timed inside its process (excluding start-up) except `opm validate` and load + validate + analysis, which are whole processes; memory is each process's peak RSS. `validate` and `analysis` include the load they need. Targets: analysis of 10,000 bundles under 1 s; load + validate + analysis within 1.5x of `opm validate`.\n")
	return save(*out, "catalog", results, b.String())
}

// measureSelf runs `bench catalog-step STEP DIR [N]` and reads its timing.
func measureSelf(step, dir, n string) (stepResult, error) {
	self, err := os.Executable()
	if err != nil {
		return stepResult{}, err
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
		return r, fmt.Errorf("step %s: %w", step, err)
	}
	if step == "full" {
		return r, nil // the whole process, as opm validate is measured
	}
	var inner struct{ Seconds float64 }
	if err := json.Unmarshal([]byte(stdout.String()), &inner); err != nil {
		return r, fmt.Errorf("step %s printed %q", step, stdout.String())
	}
	r.Seconds = inner.Seconds
	return r, nil
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
	switch step {
	case "render":
		if len(args) < 3 {
			return fmt.Errorf("catalog-step render DIR N")
		}
		n, err := strconv.Atoi(args[2])
		if err != nil {
			return fmt.Errorf("catalog size %q: %w", args[2], err)
		}
		cfg := generate(n)
		if err := catalog.Write(dir, cfg, nil); err != nil {
			return err
		}
	case "load":
		if _, err := declcfg.LoadFS(ctx, os.DirFS(dir)); err != nil {
			return err
		}
	case "validate":
		cfg, err := declcfg.LoadFS(ctx, os.DirFS(dir))
		if err != nil {
			return err
		}
		if err := catalog.Validate(ctx, cfg); err != nil {
			return err
		}
	case "analyze":
		cfg, err := declcfg.LoadFS(ctx, os.DirFS(dir))
		if err != nil {
			return err
		}
		loaded := time.Now()
		pkg, err := catalog.Package(cfg)
		if err != nil {
			return err
		}
		report := graph.Analyze(pkg)
		if _, err := catalog.AnalyzeCRDs(cfg, report.Edges); err != nil {
			return err
		}
		start = loaded // the analysis alone; load is its own step
	case "full":
		cfg, err := declcfg.LoadFS(ctx, os.DirFS(dir))
		if err != nil {
			return err
		}
		if _, err := catalog.Analyze(ctx, cfg); err != nil {
			return err
		}
	default:
		return fmt.Errorf("unknown step %q", step)
	}
	return json.NewEncoder(os.Stdout).Encode(map[string]float64{"seconds": time.Since(start).Seconds()})
}
