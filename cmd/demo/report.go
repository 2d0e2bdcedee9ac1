package main

import (
	"encoding/json"
	"os"
	"time"
)

// Step is one recorded step of the demo, as --report writes it.
type Step struct {
	What string `json:"step"`
	// Kind says what the step is (one of the step... constants): stable for
	// readers of the report, where What is prose.
	Kind string `json:"kind"`
	// Start is when the step began, in seconds since the demo began.
	Start   float64 `json:"startSeconds"`
	Seconds float64 `json:"seconds"`
	// Phases time the install within a stepInstall or stepHop step.
	Phases *Phases `json:"phases,omitempty"`
}

// The kinds of step. An upgrade hop's stepHop comes after the stepOperator
// step the hop records on the real lane for the new operator pod.
const (
	stepCatalog  = "catalog"  // CatalogSource connected
	stepInstall  = "install"  // the first release installed: Subscription to CSV Succeeded
	stepOperator = "operator" // OLM's operator pod of a release ready (real lane)
	stepSample   = "sample"   // the sample created and reconciled
	stepHop      = "hop"      // one upgrade: approval to the sample reconciled by the new operator
)

// Phases is when each point of one install was reached, in seconds since
// its step began (the Subscription's creation for the first install, the
// approval's start for a hop). The first install reaches only the first
// two: its operator and the sample are steps of their own.
type Phases struct {
	CSV          string  `json:"csv"`
	Approved     float64 `json:"installPlanApprovedSeconds"`
	CSVSucceeded float64 `json:"csvSucceededSeconds"`
	// OperatorReady: OLM's new operator pod ready (real lane), or the
	// manager started here (simulated lane).
	OperatorReady float64 `json:"operatorReadySeconds,omitempty"`
	// Reconciled: the Memcached ready by the served CRD's fields and, on the
	// real lane, every memcached pod running the CSV's operand image.
	Reconciled float64 `json:"reconciledSeconds,omitempty"`
	// PodsReplaced: the Memcached's pods differ from before the hop.
	PodsReplaced bool `json:"memcachedPodsReplaced,omitempty"`
}

// since is the time from start to now in seconds, a phase's time.
func since(start time.Time) float64 { return time.Since(start).Seconds() }

// writeReport writes the steps as JSON when --report asks for it.
func (d *demo) writeReport() error {
	if d.report == "" {
		return nil
	}
	b, err := json.MarshalIndent(d.steps, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(d.report, append(b, '\n'), 0o644)
}
