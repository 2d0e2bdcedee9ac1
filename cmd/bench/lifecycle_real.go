package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/example-inc/memcached-operator/internal/demoreport"
	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/logtail"
)

// demoStep and demoPhases are what the demo's --report holds.
type (
	demoStep   = demoreport.Step
	demoPhases = demoreport.Phases
)

// The demo's step kinds the benchmark reads.
const (
	demoStepCatalog = demoreport.KindCatalog
	demoStepInstall = demoreport.KindInstall
	demoStepHop     = demoreport.KindHop
)

// realLifecycleRun is one run of B3 on the real lane, from nothing running.
type realLifecycleRun struct {
	// ClusterNodeOLMUp: make cluster-up (control plane and the real node) and
	// make olm-up (OLM's Deployments in the cluster), images already built.
	ClusterNodeOLMUp float64 `json:"clusterNodeAndOLMUpSeconds"`
	// DemoStart is when the demo began, in seconds since the run began: the
	// demo's step times count from there.
	DemoStart float64    `json:"demoStartSeconds"`
	Demo      []demoStep `json:"demoSteps"`
	Whole     float64    `json:"wholeSeconds"`
	PeakRSS   stackRSS   `json:"peakWholeStackRSS"`
	EndRSS    stackRSS   `json:"endWholeStackRSS"`
}

// realLifecycleOptions are what every run of the real lane uses.
type realLifecycleOptions struct {
	demo, catalogImage string
	// bin is where the cluster's binaries are: their processes count as
	// the stack.
	bin string
	// head is the newest release's CSV, where the demo's hops must end.
	head string
}

// benchLifecycleReal is B3 on the real-node lane, benchRuns times from
// nothing running (binaries and images built): a real node, OLM in the
// cluster, then make demo's lifecycle, the first CSV Succeeded from the
// catalog image and each upgrade hop with OLM rolling the operator pod,
// with the whole stack's memory sampled every second.
func benchLifecycleReal(args []string) error {
	fs := flag.NewFlagSet("lifecycle-real", flag.ContinueOnError)
	workdir := fs.String("workdir", ".work/bench-lifecycle-real", "State of the benchmark's cluster.")
	demoBin := fs.String("demo", "bin/demo", "The demo binary (make demo's lifecycle).")
	catalogImage := fs.String("catalog-image", "", "Catalog image the CatalogSource names (built and pushed: make catalog-images).")
	bin := fs.String("bin", "bin", "Where the cluster's binaries are (their processes count as the stack).")
	releases := fs.String("releases", "config/catalog/releases", "Released bundles: the demo's hops must end at the newest.")
	out := fs.String("out", "docs/bench", "Where results go.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *catalogImage == "" {
		return fmt.Errorf("--catalog-image is required")
	}
	o := realLifecycleOptions{demo: *demoBin, catalogImage: *catalogImage}
	var err error
	if o.bin, err = filepath.Abs(*bin); err != nil {
		return err
	}
	if o.head, err = newestRelease(*releases); err != nil {
		return err
	}
	runs, err := realLifecycleRuns(*workdir, o)
	if err != nil {
		return err
	}
	res, err := realLifecycleFigures(runs)
	if err != nil {
		return err
	}
	targets := realLifecycleTargets(res)
	return save(*out, "lifecycle-real", res, targets, realLifecycleTable(res, targets))
}

// realLifecycleRuns measures benchRuns runs, each from nothing running,
// and stops at the first that fails or does not reach o.head.
func realLifecycleRuns(workdir string, o realLifecycleOptions) ([]realLifecycleRun, error) {
	var runs []realLifecycleRun
	for i := 1; i <= benchRuns; i++ {
		// A cluster of another name per run: kwokctl recreating a cluster
		// of the same name at once served a certificate the new
		// kubeconfig's CA did not sign.
		name := fmt.Sprintf("bench-real-%d", i)
		c := localcluster.New(name, filepath.Join(workdir, name), "NODE_LANE=real", "OLM_LANE=in-cluster")
		c.Vars = append(c.Vars, "KUBECONFIG="+c.Kubeconfig())
		c.Down()
		run, err := measureRealLifecycle(c, o)
		c.Down()
		if err == nil {
			err = run.reaches(o.head)
		}
		if err != nil {
			return nil, fmt.Errorf("run %d of %d: %w", i, benchRuns, err)
		}
		fmt.Printf("run %d of %d: whole lifecycle %.1fs; whole stack RSS: peak %s; at the end %s\n",
			i, benchRuns, run.Whole, run.PeakRSS, run.EndRSS)
		runs = append(runs, run)
	}
	return runs, nil
}

// reaches checks the run's demo recorded its steps and hopped to head: a
// catalog image older than the releases would measure a stale head.
func (r realLifecycleRun) reaches(head string) error {
	m, err := r.milestones()
	if err != nil {
		return err
	}
	if last := m.hops[len(m.hops)-1].CSV; last != head {
		return fmt.Errorf("the demo's last hop is to %s, the newest release is %s: rebuild the catalog image (make catalog-images)", last, head)
	}
	return nil
}

// measureRealLifecycle brings the real-node cluster and OLM up, then runs
// the demo against the catalog image, sampling the stack's memory.
func measureRealLifecycle(c *localcluster.Cluster, o realLifecycleOptions) (realLifecycleRun, error) {
	var run realLifecycleRun
	sampler := startRSSSampler(o.bin, time.Second)
	t0 := time.Now()
	err := c.Make("cluster-up", "olm-up")
	if err == nil {
		run.ClusterNodeOLMUp = time.Since(t0).Seconds()
		run.DemoStart = run.ClusterNodeOLMUp
		run.Demo, err = runDemo(c, o)
		run.Whole = time.Since(t0).Seconds()
	}
	run.PeakRSS, run.EndRSS = sampler.Stop()
	return run, err
}

// runDemo runs the demo against the catalog image and reads its steps back.
func runDemo(c *localcluster.Cluster, o realLifecycleOptions) ([]demoStep, error) {
	report := filepath.Join(c.Workdir, "demo-steps.json")
	// A previous run's report must not pass for this one's.
	if err := os.Remove(report); err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	cmd := exec.Command(o.demo, "--catalog-image", o.catalogImage, "--catalog", "catalog",
		"--state-dir", filepath.Join(c.Workdir, "demo"), "--report", report)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.Kubeconfig())
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("demo failed at its step %q: %w\n%s", demoStepAt(string(out)), err, logtail.Lines(string(out), 30))
	}
	b, err := os.ReadFile(report)
	if err != nil {
		return nil, err
	}
	var steps []demoStep
	if err := json.Unmarshal(b, &steps); err != nil {
		return nil, fmt.Errorf("%s: %w", report, err)
	}
	return steps, nil
}

// demoStepAt is the heading of the last step the demo's output began
// ("==> ..."), to say where it failed.
func demoStepAt(out string) string {
	step := "before its first step"
	for _, l := range strings.Split(out, "\n") {
		if _, h, ok := strings.Cut(l, "==> "); ok {
			step = strings.TrimSuffix(h, "\033[0m")
		}
	}
	return step
}

// newestRelease is the CSV name of the newest release in dir.
func newestRelease(dir string) (string, error) {
	bundles, err := releasedBundles(dir)
	if err != nil {
		return "", err
	}
	return filepath.Base(bundles[len(bundles)-1]), nil
}
