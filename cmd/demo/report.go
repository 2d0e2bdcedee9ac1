package main

import (
	"encoding/json"
	"os"
	"time"

	"github.com/example-inc/memcached-operator/internal/demoreport"
)

// Step and Phases are the report's shape (internal/demoreport).
type (
	Step   = demoreport.Step
	Phases = demoreport.Phases
)

const (
	stepCatalog  = demoreport.KindCatalog
	stepInstall  = demoreport.KindInstall
	stepOperator = demoreport.KindOperator
	stepSample   = demoreport.KindSample
	stepHop      = demoreport.KindHop
)

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
