package main

import (
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

var fabricatedHops = []string{
	"memcached-operator.v0.2.0", "memcached-operator.v0.2.1", "memcached-operator.v0.3.0",
	"memcached-operator.v0.3.1", "memcached-operator.v0.3.2",
}

// fabricatedRealRun is one real-lane run as the demo reports it, every
// duration scaled by k; hops at odd positions replace the memcached pods,
// and the first hop does too when replaceFirst is set.
func fabricatedRealRun(k float64, replaceFirst bool) realLifecycleRun {
	steps := []demoStep{
		{What: "CatalogSource connected to the registry pod", Kind: demoStepCatalog, Start: 0.5, Seconds: 14 * k},
		{What: "installed memcached-operator.v0.1.0", Kind: demoStepInstall, Start: 15, Seconds: 27.8 * k,
			Phases: &demoPhases{CSV: "memcached-operator.v0.1.0", Approved: 20 * k, CSVSucceeded: 27.8 * k}},
		{What: "OLM runs memcached-operator.v0.1.0's operator", Kind: "operator", Start: 43, Seconds: 0.1},
		{What: "memcached-sample reconciled: 3 pods ready", Kind: "sample", Start: 43.1, Seconds: 1.8},
	}
	for i, csv := range fabricatedHops {
		f := float64(i)
		steps = append(steps,
			demoStep{What: "OLM runs " + csv + "'s operator", Kind: "operator", Start: 50 + 20*f, Seconds: 0.5},
			demoStep{What: "upgraded to " + csv, Kind: demoStepHop, Start: 45 + 20*f, Seconds: (12 + 3*f) * k, Phases: &demoPhases{
				CSV: csv, Approved: 0.1 * k, CSVSucceeded: (10 + f) * k, OperatorReady: (11 + f) * k, Reconciled: (12 + 3*f) * k,
				PodsReplaced: i%2 == 1 || (i == 0 && replaceFirst),
			}})
	}
	return realLifecycleRun{
		ClusterNodeOLMUp: 50 * k, DemoStart: 50 * k, Demo: steps, Whole: 220 * k,
		PeakRSS: stackRSS{ControlPlane: 790 * k, Node: 400 * k, Pods: 460 * k, Total: 1650 * k},
		EndRSS:  stackRSS{ControlPlane: 790 * k, Node: 380 * k, Pods: 420 * k, Total: 1590 * k},
	}
}

func near(a, b float64) bool { return math.Abs(a-b) < 1e-9 }

// Three runs become a figure per step and per hop, in the demo's hop
// order, and the targets hold the medians: the first CSV from nothing
// running (the run's start to the demo's start, plus the install step's
// start and its CSV Succeeded phase) and each hop's approval to reconciled.
func TestRealLifecycleFigures(t *testing.T) {
	runs := []realLifecycleRun{fabricatedRealRun(1.2, false), fabricatedRealRun(0.9, true), fabricatedRealRun(1, false)}
	res, err := realLifecycleFigures(runs)
	if err != nil {
		t.Fatal(err)
	}
	first := res.FirstCSVSucceeded
	if !near(first.Median, 50+15+27.8) || !near(first.Min, 45+15+0.9*27.8) || !near(first.Max, 60+15+1.2*27.8) || len(first.Runs) != 3 {
		t.Errorf("nothing to first CSV Succeeded: %+v", first)
	}
	if !near(res.CatalogConnected.Median, 14) || !near(res.FirstApproved.Median, 20) || res.FirstCSV != "memcached-operator.v0.1.0" {
		t.Errorf("catalog %+v, first approved %+v, first CSV %s", res.CatalogConnected, res.FirstApproved, res.FirstCSV)
	}
	if len(res.Hops) != len(fabricatedHops) || res.Hops[4].CSV != "memcached-operator.v0.3.2" {
		t.Fatalf("hops %+v", res.Hops)
	}
	h := res.Hops[1]
	if !near(h.OperatorReady.Median, 12) || !near(h.Reconciled.Median, 15) || !near(h.Reconciled.Min, 13.5) || !near(h.Reconciled.Max, 18) {
		t.Errorf("hop to %s: %+v", h.CSV, h)
	}
	if res.Hops[0].PodsReplaced != 1 || res.Hops[1].PodsReplaced != 3 || res.Hops[2].PodsReplaced != 0 {
		t.Errorf("pods replaced: %d, %d, %d", res.Hops[0].PodsReplaced, res.Hops[1].PodsReplaced, res.Hops[2].PodsReplaced)
	}
	if !near(res.PeakRSS.Total.Median, 1650) || !near(res.EndRSS.Node.Max, 1.2*380) {
		t.Errorf("RSS peak %+v end %+v", res.PeakRSS, res.EndRSS)
	}
	targets := realLifecycleTargets(res)
	met := map[string]bool{}
	for _, tg := range targets {
		met[tg.ID] = tg.Met
	}
	want := map[string]bool{"B3.first-csv": false, "B3.hop.memcached-operator.v0.2.0": true, "B3.hop.memcached-operator.v0.3.0": true, "B3.hop.memcached-operator.v0.3.1": false, "B3.hop.memcached-operator.v0.3.2": false}
	for id, w := range want {
		if got, ok := met[id]; !ok || got != w {
			t.Errorf("target %s: met %v (present %v), want %v", id, got, ok, w)
		}
	}
	for _, tg := range targets {
		if !regexp.MustCompile("^B[123]\\.[a-z0-9.-]+$").MatchString(tg.ID) {
			t.Errorf("target ID %q is not B<n>.<name> (docs_test.go)", tg.ID)
		}
	}
	if len(targets) != 1+len(fabricatedHops) {
		t.Errorf("%d targets, want one for the first CSV and one per hop", len(targets))
	}
}

// The table shows each figure with its range, marks every target, names
// every hop once and says why there is no first-operator-pod row.
func TestRealLifecycleTable(t *testing.T) {
	res, err := realLifecycleFigures([]realLifecycleRun{fabricatedRealRun(1.2, false), fabricatedRealRun(0.9, true), fabricatedRealRun(1, false)})
	if err != nil {
		t.Fatal(err)
	}
	table := realLifecycleTable(res, realLifecycleTargets(res))
	t.Log("\n" + table)
	for _, want := range []string{
		"| **nothing running to first CSV Succeeded** | **92.8 (85.0-108.4)** | `B3.first-csv`: at most 45 s (**missed**) |",
		"| memcached-operator.v0.2.0 | 0.1 (0.1-0.1) | 10.0 (9.0-12.0) | 11.0 (9.9-13.2) | **12.0 (10.8-14.4)** | replaced in 1 of 3 runs | `B3.hop.memcached-operator.v0.2.0`: at most 20 s (met) |",
		"| memcached-operator.v0.3.2 |",
		"so the first CSV Succeeded is also the first operator pod ready",
		"| peak | 1650 (1485-1980) |",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	if strings.Contains(table, "first operator pod ready |") {
		t.Errorf("table still has a first-operator-pod row")
	}
}

// Runs that hopped differently, or a demo that reported no phases, are
// errors that name the run.
func TestRealLifecycleFiguresRefuses(t *testing.T) {
	other := fabricatedRealRun(1, false)
	other.Demo = other.Demo[:len(other.Demo)-2]
	if _, err := realLifecycleFigures([]realLifecycleRun{fabricatedRealRun(1, false), other}); err == nil || !strings.Contains(err.Error(), "run 2") {
		t.Errorf("different hops: %v", err)
	}
	old := fabricatedRealRun(1, false)
	old.Demo[1].Phases = nil
	if _, err := realLifecycleFigures([]realLifecycleRun{old}); err == nil || !strings.Contains(err.Error(), "run 1") {
		t.Errorf("install without phases: %v", err)
	}
	if err := other.reaches("memcached-operator.v0.3.2"); err == nil || !strings.Contains(err.Error(), "v0.3.1") {
		t.Errorf("a run that stopped at 0.3.1 reaches the head: %v", err)
	}
}

// The benchmark reads the report cmd/demo's test pins: the kinds and the
// phases arrive.
func TestDemoReportShape(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "demo", "testdata", "report.json"))
	if err != nil {
		t.Fatal(err)
	}
	var steps []demoStep
	if err := json.Unmarshal(b, &steps); err != nil {
		t.Fatal(err)
	}
	m, err := realLifecycleRun{DemoStart: 50, Demo: steps}.milestones()
	if err != nil {
		t.Fatal(err)
	}
	if !near(m.catalog.Seconds, 14) || !near(m.firstCSV, 50+14.5+27.8) || !near(m.install.Phases.Approved, 20.1) {
		t.Errorf("catalog %+v, first CSV %v, install %+v", m.catalog, m.firstCSV, m.install.Phases)
	}
	if len(m.hops) != 1 || m.hops[0] != (demoPhases{CSV: "memcached-operator.v0.2.0", Approved: 0.1, CSVSucceeded: 13.9, OperatorReady: 14.4, Reconciled: 17.2, PodsReplaced: true}) {
		t.Errorf("hops %+v", m.hops)
	}
}

// A failed demo names the step it was in, without the terminal's bold.
func TestDemoStepAt(t *testing.T) {
	out := "\n\033[1m==> fresh namespace memcached-demo\033[0m\n\n\033[1m==> upgrade to memcached-operator.v0.3.0: approve the InstallPlan the Subscription names\033[0m\n\nerror: timed out\n"
	if got := demoStepAt(out); got != "upgrade to memcached-operator.v0.3.0: approve the InstallPlan the Subscription names" {
		t.Errorf("got %q", got)
	}
	if got := demoStepAt("error: no cluster\n"); got != "before its first step" {
		t.Errorf("got %q", got)
	}
}
