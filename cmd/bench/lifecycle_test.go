package main

import (
	"strings"
	"testing"
)

// fabricatedSimRun is one simulated-lane run, every duration scaled by k;
// each hop's profile names k so the test can tell whose it is.
func fabricatedSimRun(k float64, profile string) lifecycleRun {
	r := lifecycleRun{ClusterAndOLMUp: 5.5 * k, FirstCSV: "memcached-operator.v0.1.0", RunBundle: 7.7 * k, FirstCSVSucceeded: 13.2 * k, Cleanup: 0.7 * k}
	for i, csv := range fabricatedHops {
		r.Hops = append(r.Hops, lifecycleHop{CSV: csv, Seconds: (8 + float64(i)) * k, Profile: profile})
	}
	return r
}

// The simulated lane's runs become figures in release order; each hop's
// profile is its median run's; the table carries no targets or verdicts.
func TestLifecycleFigures(t *testing.T) {
	runs := []lifecycleRun{fabricatedSimRun(1.1, "slow run"), fabricatedSimRun(0.9, "fast run"), fabricatedSimRun(1, "median run")}
	res, err := lifecycleFigures(runs)
	if err != nil {
		t.Fatal(err)
	}
	if !near(res.FirstCSVSucceeded.Median, 13.2) || !near(res.FirstCSVSucceeded.Max, 1.1*13.2) || len(res.Hops) != 5 {
		t.Fatalf("result %+v", res)
	}
	if h := res.Hops[4]; h.CSV != "memcached-operator.v0.3.2" || !near(h.Seconds.Median, 12) || h.Profile != "median run" {
		t.Errorf("last hop %+v", h)
	}
	table := lifecycleTable(res)
	t.Log("\n" + table)
	for _, word := range []string{"met", "missed", "target", "under"} {
		if strings.Contains(table, word) {
			t.Errorf("the simulated lane's table says %q", word)
		}
	}
	for _, want := range []string{
		"| **nothing running to first CSV Succeeded** | **13.2 (11.9-14.5)** |",
		"| run bundle (memcached-operator.v0.1.0) to CSV Succeeded | 7.7 (6.9-8.5) |",
		"- memcached-operator.v0.3.2: median run",
	} {
		if !strings.Contains(table, want) {
			t.Errorf("table lacks %q", want)
		}
	}
	other := fabricatedSimRun(1, "")
	other.Hops = other.Hops[:4]
	if _, err := lifecycleFigures([]lifecycleRun{runs[0], other}); err == nil {
		t.Errorf("runs with different hops summed up")
	}
}
