package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// The report's JSON is what make bench-lifecycle-real reads: the golden
// file pins its shape, and cmd/bench's test reads the same file back.
func TestReportShape(t *testing.T) {
	steps := []Step{
		{What: "CatalogSource connected to the registry pod of example.com/catalog:v0.3.2", Kind: stepCatalog, Start: 0.5, Seconds: 14},
		{What: "installed memcached-operator.v0.1.0 (InstallPlan install-abcde)", Kind: stepInstall, Start: 14.5, Seconds: 27.8,
			Phases: &Phases{CSV: "memcached-operator.v0.1.0", Approved: 20.1, CSVSucceeded: 27.8}},
		{What: "OLM runs memcached-operator.v0.1.0's operator: pod [op-1]", Kind: stepOperator, Start: 42.3, Seconds: 0},
		{What: "memcached-sample reconciled: 3 pods ready", Kind: stepSample, Start: 42.3, Seconds: 1.8},
		{What: "OLM runs memcached-operator.v0.2.0's operator: pod [op-2]", Kind: stepOperator, Start: 58, Seconds: 0.5},
		{What: "upgraded to memcached-operator.v0.2.0; memcached-sample still reconciled, memcached pods replaced", Kind: stepHop, Start: 44.1, Seconds: 17.3,
			Phases: &Phases{CSV: "memcached-operator.v0.2.0", Approved: 0.1, CSVSucceeded: 13.9, OperatorReady: 14.4, Reconciled: 17.2, PodsReplaced: true}},
	}
	got, err := json.MarshalIndent(steps, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "report.json")
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(append(got, '\n')) != string(want) {
		t.Fatalf("the report's JSON differs from %s (update it and cmd/bench's demoStep together):\n%s", golden, got)
	}
}
