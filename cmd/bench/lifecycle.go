package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/olm"
)

type lifecycleResult struct {
	ClusterAndOLMUp   float64            `json:"clusterAndOLMUpSeconds"`
	RunBundle         float64            `json:"runBundleSeconds"`
	FirstCSVSucceeded float64            `json:"nothingToFirstCSVSucceededSeconds"`
	Hops              map[string]float64 `json:"upgradeHopSeconds"`
	// HopProfile splits each hop by OLM's own timestamps (1 s resolution).
	HopProfile map[string]string `json:"upgradeHopProfile"`
	Cleanup    float64           `json:"cleanupSeconds"`
}

// benchLifecycle is B3: from nothing running (binaries built) to the first
// CSV Succeeded through run bundle, then run bundle-upgrade hop by hop
// through the released versions, then cleanup.
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
	c := newCluster("bench-lifecycle", *workdir)
	c.down()
	defer c.down()

	res, err := measureLifecycle(c, *opm, bundles)
	if err != nil {
		return err
	}
	return save(*out, "lifecycle", res, lifecycleTable(res, bundles))
}

// measureLifecycle brings the cluster and OLM up from nothing, installs
// bundles[0], upgrades through the rest and cleans up, timing each step.
func measureLifecycle(c *cluster, opm string, bundles []string) (lifecycleResult, error) {
	res := lifecycleResult{Hops: map[string]float64{}, HopProfile: map[string]string{}}
	t0 := time.Now()
	if err := c.make("cluster-up", "olm-up"); err != nil {
		return res, err
	}
	res.ClusterAndOLMUp = time.Since(t0).Seconds()
	k8s, err := c.client()
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	const ns = "bench"
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		return res, err
	}
	run := &lifecycleRun{
		k8s:  k8s,
		olm:  &olm.Client{Client: k8s},
		opts: olm.RunOptions{Namespace: ns, OPM: opm, StateDir: filepath.Join(c.workdir, "run-bundle")},
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

// lifecycleRun is one pass of B3 against a cluster with OLM up; each step
// records its time in res.
type lifecycleRun struct {
	k8s  client.Client
	olm  *olm.Client
	opts olm.RunOptions
	res  *lifecycleResult
}

// install runs bundle to CSV Succeeded; t0 is when the cluster started coming up.
func (r *lifecycleRun) install(ctx context.Context, bundle string, t0 time.Time) error {
	r.opts.Bundle = bundle
	start := time.Now()
	if _, err := r.olm.RunBundle(ctx, r.opts); err != nil {
		return err
	}
	r.res.RunBundle = time.Since(start).Seconds()
	r.res.FirstCSVSucceeded = time.Since(t0).Seconds()
	fmt.Printf("first CSV Succeeded %.1fs after starting from nothing\n", r.res.FirstCSVSucceeded)
	return nil
}

// upgrade runs bundle-upgrade to each of bundles in turn, one hop each.
func (r *lifecycleRun) upgrade(ctx context.Context, bundles []string) error {
	for _, b := range bundles {
		r.opts.Bundle = b
		start := time.Now()
		inst, err := r.olm.UpgradeBundle(ctx, r.opts)
		if err != nil {
			return err
		}
		r.res.Hops[inst.CSV] = time.Since(start).Seconds()
		r.res.HopProfile[inst.CSV] = hopProfile(ctx, r.k8s, r.opts.Namespace, inst, start)
		fmt.Printf("hop to %s: %.1fs (%s)\n", inst.CSV, r.res.Hops[inst.CSV], r.res.HopProfile[inst.CSV])
	}
	return nil
}

// cleanup removes what the run installed, CRDs included.
func (r *lifecycleRun) cleanup(ctx context.Context) error {
	start := time.Now()
	if err := r.olm.Cleanup(ctx, olm.CleanupOptions{Package: "memcached-operator", Namespace: r.opts.Namespace, StateDir: r.opts.StateDir, DeleteCRDs: true}); err != nil {
		return err
	}
	r.res.Cleanup = time.Since(start).Seconds()
	return nil
}

// lifecycleTable is the Markdown table of res, each step against its target.
func lifecycleTable(res lifecycleResult, bundles []string) string {
	var b strings.Builder
	b.WriteString("| step | seconds | target |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| local cluster + OLM up, from nothing running | %.1f | |\n", res.ClusterAndOLMUp)
	fmt.Fprintf(&b, "| run bundle (%s) to CSV Succeeded | %.1f | |\n", filepath.Base(bundles[0]), res.RunBundle)
	fmt.Fprintf(&b, "| **nothing running to first CSV Succeeded** | **%.1f** | under 30 %s |\n", res.FirstCSVSucceeded, verdict(res.FirstCSVSucceeded < 30))
	names := make([]string, 0, len(res.Hops))
	for n := range res.Hops {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		fmt.Fprintf(&b, "| run bundle-upgrade hop to %s (catalog re-served, InstallPlan approved, CSV Succeeded): %s | %.1f | under 10 %s |\n", n, res.HopProfile[n], res.Hops[n], verdict(res.Hops[n] < 10))
	}
	fmt.Fprintf(&b, "| cleanup (Subscription, CSVs, InstallPlans, CatalogSource, OperatorGroup, CRD, waiting for each) | %.1f | |\n", res.Cleanup)
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
