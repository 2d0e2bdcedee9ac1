package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/olm"
)

// lifecycleRun is one run of B3 on the simulated lane.
type lifecycleRun struct {
	ClusterAndOLMUp float64 `json:"clusterAndOLMUpSeconds"`
	// FirstCSV is the release run bundle installed.
	FirstCSV          string         `json:"firstCSV"`
	RunBundle         float64        `json:"runBundleSeconds"`
	FirstCSVSucceeded float64        `json:"nothingToFirstCSVSucceededSeconds"`
	Hops              []lifecycleHop `json:"upgradeHops"`
	Cleanup           float64        `json:"cleanupSeconds"`
}

// lifecycleHop is one run bundle-upgrade.
type lifecycleHop struct {
	CSV     string  `json:"csv"`
	Seconds float64 `json:"seconds"`
	// Profile splits the hop by OLM's own timestamps (1 s resolution).
	Profile string `json:"profile"`
}

// lifecycleResult is B3 on the simulated lane: every run, and each step's
// figure over them.
type lifecycleResult struct {
	Runs              []lifecycleRun       `json:"runs"`
	ClusterAndOLMUp   figure               `json:"clusterAndOLMUpSeconds"`
	FirstCSV          string               `json:"firstCSV"`
	RunBundle         figure               `json:"runBundleSeconds"`
	FirstCSVSucceeded figure               `json:"nothingToFirstCSVSucceededSeconds"`
	Hops              []lifecycleHopFigure `json:"upgradeHops"`
	Cleanup           figure               `json:"cleanupSeconds"`
}

// lifecycleHopFigure is one hop over the runs.
type lifecycleHopFigure struct {
	CSV     string `json:"csv"`
	Seconds figure `json:"seconds"`
	// Profile is OLM's timestamps of the hop in the run whose hop time is
	// the median.
	Profile string `json:"medianRunProfile"`
}

// benchLifecycle is B3 on the simulated lane (kwok fakes the pods, no
// operator container runs), benchRuns times: from nothing running
// (binaries built) to the first CSV Succeeded through run bundle, then run
// bundle-upgrade hop by hop through the released versions, then cleanup.
func benchLifecycle(args []string) error {
	fs := flag.NewFlagSet("lifecycle", flag.ContinueOnError)
	workdir := fs.String("workdir", ".work/bench-lifecycle", "State of the benchmark's cluster.")
	releases := fs.String("releases", "config/catalog/releases", "Released bundles, upgraded through in version order.")
	opm := fs.String("opm", "bin/opm", "opm binary.")
	out := fs.String("out", "docs/bench", "Where results go.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	bundles, err := releasedBundles(*releases)
	if err != nil {
		return err
	}
	var runs []lifecycleRun
	for i := 1; i <= benchRuns; i++ {
		// A cluster of another name per run: kwokctl recreating a cluster
		// of the same name at once served a certificate the new
		// kubeconfig's CA did not sign.
		name := fmt.Sprintf("bench-lifecycle-%d", i)
		c := localcluster.New(name, filepath.Join(*workdir, name))
		c.Down()
		run, err := measureLifecycle(c, *opm, bundles)
		c.Down()
		if err != nil {
			return fmt.Errorf("run %d of %d: %w", i, benchRuns, err)
		}
		runs = append(runs, run)
	}
	res, err := lifecycleFigures(runs)
	if err != nil {
		return err
	}
	// The simulated lane holds no targets: no operator container runs.
	return save(*out, "lifecycle", res, nil, lifecycleTable(res))
}

// measureLifecycle brings the cluster and OLM up from nothing, installs
// bundles[0], upgrades through the rest and cleans up, timing each step.
func measureLifecycle(c *localcluster.Cluster, opm string, bundles []string) (lifecycleRun, error) {
	var res lifecycleRun
	t0 := time.Now()
	if err := c.Make("cluster-up", "olm-up"); err != nil {
		return res, err
	}
	res.ClusterAndOLMUp = time.Since(t0).Seconds()
	k8s, err := c.Client()
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const ns = "bench"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return res, fmt.Errorf("create namespace %s: %w", ns, err)
	}
	run := &lifecycleRunner{
		k8s:  k8s,
		olm:  &olm.Client{Client: k8s},
		opts: olm.RunOptions{Namespace: ns, OPM: opm, StateDir: filepath.Join(c.Workdir, "run-bundle")},
		res:  &res,
	}
	if err := run.install(ctx, bundles[0], t0); err != nil {
		return res, err
	}
	if err := run.upgrade(ctx, bundles[1:]); err != nil {
		return res, err
	}
	err = run.cleanup(ctx)
	return res, err
}

// lifecycleRunner is one pass of B3 against a cluster with OLM up; each
// step records its time in res.
type lifecycleRunner struct {
	k8s  client.Client
	olm  *olm.Client
	opts olm.RunOptions
	res  *lifecycleRun
}

// install runs bundle to CSV Succeeded; t0 is when the cluster started coming up.
func (r *lifecycleRunner) install(ctx context.Context, bundle string, t0 time.Time) error {
	r.opts.Bundle = bundle
	start := time.Now()
	inst, err := r.olm.RunBundle(ctx, r.opts)
	if err != nil {
		return fmt.Errorf("run bundle %s: %w", filepath.Base(bundle), err)
	}
	r.res.FirstCSV = inst.CSV
	r.res.RunBundle = time.Since(start).Seconds()
	r.res.FirstCSVSucceeded = time.Since(t0).Seconds()
	fmt.Printf("first CSV Succeeded %.1fs after starting from nothing\n", r.res.FirstCSVSucceeded)
	return nil
}

// upgrade runs bundle-upgrade to each of bundles in turn, one hop each.
func (r *lifecycleRunner) upgrade(ctx context.Context, bundles []string) error {
	for _, b := range bundles {
		r.opts.Bundle = b
		start := time.Now()
		inst, err := r.olm.UpgradeBundle(ctx, r.opts)
		if err != nil {
			return fmt.Errorf("run bundle-upgrade to %s: %w", filepath.Base(b), err)
		}
		hop := lifecycleHop{CSV: inst.CSV, Seconds: time.Since(start).Seconds()}
		hop.Profile = hopProfile(ctx, r.k8s, r.opts.Namespace, inst, start)
		r.res.Hops = append(r.res.Hops, hop)
		fmt.Printf("hop to %s: %.1fs (%s)\n", hop.CSV, hop.Seconds, hop.Profile)
	}
	return nil
}

// cleanup removes what the run installed, CRDs included.
func (r *lifecycleRunner) cleanup(ctx context.Context) error {
	start := time.Now()
	if err := r.olm.Cleanup(ctx, olm.CleanupOptions{Package: "memcached-operator", Namespace: r.opts.Namespace, StateDir: r.opts.StateDir, DeleteCRDs: true}); err != nil {
		return fmt.Errorf("cleanup: %w", err)
	}
	r.res.Cleanup = time.Since(start).Seconds()
	return nil
}

// lifecycleFigures sums the runs up; they must have made the same hops.
func lifecycleFigures(runs []lifecycleRun) (lifecycleResult, error) {
	res := lifecycleResult{Runs: runs}
	if len(runs) == 0 {
		return res, fmt.Errorf("no runs")
	}
	for i, r := range runs[1:] {
		if !slices.EqualFunc(r.Hops, runs[0].Hops, func(a, b lifecycleHop) bool { return a.CSV == b.CSV }) {
			return res, fmt.Errorf("run %d hopped otherwise than run 1", i+2)
		}
	}
	res.ClusterAndOLMUp = figures(runs, func(r lifecycleRun) float64 { return r.ClusterAndOLMUp })
	res.FirstCSV = runs[0].FirstCSV
	res.RunBundle = figures(runs, func(r lifecycleRun) float64 { return r.RunBundle })
	res.FirstCSVSucceeded = figures(runs, func(r lifecycleRun) float64 { return r.FirstCSVSucceeded })
	res.Cleanup = figures(runs, func(r lifecycleRun) float64 { return r.Cleanup })
	for i, h := range runs[0].Hops {
		f := lifecycleHopFigure{CSV: h.CSV, Seconds: figures(runs, func(r lifecycleRun) float64 { return r.Hops[i].Seconds })}
		f.Profile = runs[medianIndex(f.Seconds.Runs)].Hops[i].Profile
		res.Hops = append(res.Hops, f)
	}
	return res, nil
}

// medianIndex is the index of the run whose value is the figure's median.
func medianIndex(values []float64) int {
	return slices.Index(values, figureOf(values).Median)
}

// lifecycleTable is the Markdown table of res: figures only, no targets,
// since no operator container runs on this lane.
func lifecycleTable(res lifecycleResult) string {
	var b strings.Builder
	s := func(f figure) string { return f.Format("%.1f") }
	fmt.Fprintf(&b, "Simulated lane: no operator container runs. Seconds, median (min-max) of %d runs, each from nothing running.\n\n", len(res.Runs))
	b.WriteString("| step | seconds |\n|---|---|\n")
	fmt.Fprintf(&b, "| local cluster (kwok nodes) + OLM up, from nothing running | %s |\n", s(res.ClusterAndOLMUp))
	fmt.Fprintf(&b, "| run bundle (%s) to CSV Succeeded | %s |\n", res.FirstCSV, s(res.RunBundle))
	fmt.Fprintf(&b, "| **nothing running to first CSV Succeeded** | **%s** |\n", s(res.FirstCSVSucceeded))
	for _, h := range res.Hops {
		fmt.Fprintf(&b, "| run bundle-upgrade to %s (catalog re-served, InstallPlan approved, CSV Succeeded) | %s |\n", h.CSV, s(h.Seconds))
	}
	fmt.Fprintf(&b, "| cleanup (Subscription, CSVs, InstallPlans, CatalogSource, OperatorGroup, CRD, waiting for each) | %s |\n", s(res.Cleanup))
	b.WriteString("\nWhere each hop's time went in its median run, by OLM's own timestamps (1 s resolution, from the hop's start):\n\n")
	for _, h := range res.Hops {
		fmt.Fprintf(&b, "- %s: %s\n", h.CSV, h.Profile)
	}
	return b.String()
}

func verdict(ok bool) string {
	if ok {
		return "(met)"
	}
	return "(**missed**)"
}

// releasedBundles lists the release directories in version order.
func releasedBundles(dir string) ([]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	type rel struct {
		v    semver.Version
		path string
	}
	var rels []rel
	for _, e := range entries {
		_, ver, ok := strings.Cut(e.Name(), ".v")
		if !ok {
			continue
		}
		v, err := semver.Parse(ver)
		if err != nil {
			continue
		}
		rels = append(rels, rel{v, filepath.Join(dir, e.Name())})
	}
	sort.Slice(rels, func(i, j int) bool { return rels[i].v.LT(rels[j].v) })
	var out []string
	for _, r := range rels {
		out = append(out, r.path)
	}
	if len(out) < 2 {
		return nil, fmt.Errorf("%s: need at least two released bundles", dir)
	}
	return out, nil
}

// hopProfile says where a hop's time went, from the InstallPlan's creation
// and the new CSV's phase conditions.
func hopProfile(ctx context.Context, k8s client.Client, ns string, inst *olm.Installed, start time.Time) string {
	ip := &operatorsv1alpha1.InstallPlan{}
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: inst.InstallPlan}, ip) != nil ||
		k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: inst.CSV}, csv) != nil {
		return "no profile"
	}
	at := func(t time.Time) string { return fmt.Sprintf("%.0fs", t.Sub(start).Seconds()) }
	parts := []string{"InstallPlan created at " + at(ip.CreationTimestamp.Time), "CSV created at " + at(csv.CreationTimestamp.Time)}
	for _, c := range csv.Status.Conditions {
		parts = append(parts, fmt.Sprintf("%s at %s", c.Phase, at(c.LastTransitionTime.Time)))
	}
	return strings.Join(parts, ", ")
}
