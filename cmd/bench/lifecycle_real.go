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

	"github.com/example-inc/memcached-operator/internal/logtail"
)

// demoStep is one step the demo records (its --report).
type demoStep struct {
	What    string  `json:"step"`
	Start   float64 `json:"startSeconds"`
	Seconds float64 `json:"seconds"`
}

type realLifecycleResult struct {
	// ClusterNodeOLMUp: make cluster-up (control plane and the real node) and
	// make olm-up (OLM's Deployments in the cluster), images already built.
	ClusterNodeOLMUp float64 `json:"clusterNodeAndOLMUpSeconds"`
	// FirstCSVSucceeded: from nothing running to the first CSV Succeeded,
	// installed from the catalog image; FirstOperatorReady: to OLM's
	// operator pod of that release ready.
	FirstCSVSucceeded  float64    `json:"nothingToFirstCSVSucceededSeconds"`
	FirstOperatorReady float64    `json:"nothingToFirstOperatorPodReadySeconds"`
	Demo               []demoStep `json:"demoSteps"`
	Whole              float64    `json:"wholeSeconds"`
	PeakRSS            stackRSS   `json:"peakWholeStackRSS"`
	EndRSS             stackRSS   `json:"endWholeStackRSS"`
}

// benchLifecycleReal is B3 on the real-node lane: from nothing running
// (binaries and images built) to a real node, OLM in the cluster, the first
// CSV Succeeded from the catalog image and each upgrade hop with OLM rolling
// the operator pod, as make demo does it, with the whole stack's memory
// sampled every second.
func benchLifecycleReal(args []string) error {
	fs := flag.NewFlagSet("lifecycle-real", flag.ContinueOnError)
	workdir := fs.String("workdir", ".work/bench-lifecycle-real", "State of the benchmark's cluster.")
	demoBin := fs.String("demo", "bin/demo", "The demo binary (make demo's lifecycle).")
	catalogImage := fs.String("catalog-image", "", "Catalog image the CatalogSource names (built and pushed: make catalog-images).")
	bin := fs.String("bin", "bin", "Where the cluster's binaries are (their processes count as the stack).")
	out := fs.String("out", "docs/bench", "Where results go.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *catalogImage == "" {
		return fmt.Errorf("--catalog-image is required")
	}
	absBin, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	c := newCluster("bench-real", *workdir, "NODE_LANE=real", "OLM_LANE=in-cluster")
	c.vars = append(c.vars, "KUBECONFIG="+c.kubeconfig())
	c.down()
	defer c.down()

	sampler := startRSSSampler(absBin, time.Second)
	res, err := measureRealLifecycle(c, *demoBin, *catalogImage)
	res.PeakRSS, res.EndRSS = sampler.Stop()
	if err != nil {
		return err
	}
	fmt.Printf("whole stack RSS: peak %s; at the end %s\n", res.PeakRSS, res.EndRSS)
	return save(*out, "lifecycle-real", res, realLifecycleTable(res))
}

// measureRealLifecycle brings the real-node cluster and OLM up, then runs
// the demo against the catalog image, reading its steps back.
func measureRealLifecycle(c *cluster, demoBin, catalogImage string) (realLifecycleResult, error) {
	var res realLifecycleResult
	t0 := time.Now()
	if err := c.make("cluster-up", "olm-up"); err != nil {
		return res, err
	}
	res.ClusterNodeOLMUp = time.Since(t0).Seconds()
	report := filepath.Join(c.workdir, "demo-steps.json")
	cmd := exec.Command(demoBin, "--catalog-image", catalogImage, "--catalog", "catalog",
		"--state-dir", filepath.Join(c.workdir, "demo"), "--report", report)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig())
	demoStart := time.Now()
	if out, err := cmd.CombinedOutput(); err != nil {
		return res, fmt.Errorf("demo: %w\n%s", err, logtail.Lines(string(out), 30))
	}
	res.Whole = time.Since(t0).Seconds()
	b, err := os.ReadFile(report)
	if err != nil {
		return res, err
	}
	if err := json.Unmarshal(b, &res.Demo); err != nil {
		return res, fmt.Errorf("%s: %w", report, err)
	}
	offset := demoStart.Sub(t0).Seconds()
	for _, s := range res.Demo {
		end := offset + s.Start + s.Seconds
		switch {
		case strings.HasPrefix(s.What, "installed ") && res.FirstCSVSucceeded == 0:
			res.FirstCSVSucceeded = end
		case strings.HasPrefix(s.What, "OLM runs ") && res.FirstOperatorReady == 0:
			res.FirstOperatorReady = end
		}
	}
	if res.FirstCSVSucceeded == 0 || res.FirstOperatorReady == 0 {
		return res, fmt.Errorf("%s: the demo recorded no install or no operator pod", report)
	}
	return res, nil
}

// realLifecycleTable is the Markdown table of res.
func realLifecycleTable(res realLifecycleResult) string {
	var b strings.Builder
	b.WriteString("| step | seconds |\n|---|---|\n")
	fmt.Fprintf(&b, "| local cluster with a real node + OLM in the cluster, from nothing running | %.1f |\n", res.ClusterNodeOLMUp)
	for _, s := range res.Demo {
		fmt.Fprintf(&b, "| demo: %s | %.1f |\n", strings.ReplaceAll(s.What, "|", "/"), s.Seconds)
	}
	fmt.Fprintf(&b, "| **nothing running to first CSV Succeeded** (catalog image, bundle image unpacked by OLM) | **%.1f** |\n", res.FirstCSVSucceeded)
	fmt.Fprintf(&b, "| **nothing running to OLM's first operator pod ready** | **%.1f** |\n", res.FirstOperatorReady)
	fmt.Fprintf(&b, "| whole lifecycle (to the head, memcached answering) | %.1f |\n", res.Whole)
	fmt.Fprintf(&b, "\nWhole stack RSS (sampled every second): peak %s; at the end %s.\n", res.PeakRSS, res.EndRSS)
	return b.String()
}
