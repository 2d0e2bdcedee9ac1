package framework

import (
	"encoding/json"
	"fmt"
	"os"
	"testing"
)

// ReportEnv names the file `make reliability` reads the real-node rows of
// docs/reliability.md from: each Row is appended to it as one JSON line.
// Unset (make test), rows are only logged.
const ReportEnv = "RELIABILITY_REPORT"

// FullEnv, set to 1 by `make reliability`, asks for the full repetitions;
// make test runs fewer (Repeats).
const FullEnv = "RELIABILITY_FULL"

// Row is one row of docs/reliability.md measured by a cluster test: how
// often a fault was injected, how often everything asserted held, and the
// figures. A test that fails leaves its row failed, whatever it counted.
type Row struct {
	Group    string   `json:"group"`
	Name     string   `json:"scenario"`
	Runs     int      `json:"runs"`
	Passed   int      `json:"passed"`
	Figure   string   `json:"figure"`
	Failures []string `json:"failures,omitempty"`
}

// Reliability starts a row of group; it is logged, and written to the
// report, when t ends.
func Reliability(t *testing.T, group, name string) *Row {
	t.Helper()
	r := &Row{Group: group, Name: name}
	t.Cleanup(func() {
		switch {
		case t.Failed():
			r.Failures = append(r.Failures, fmt.Sprintf("%s failed: its log says where", t.Name()))
		case t.Skipped():
			r.Failures = append(r.Failures, fmt.Sprintf("%s was skipped: nothing was measured", t.Name()))
		case r.Runs == 0:
			r.Failures = append(r.Failures, fmt.Sprintf("%s counted no run", t.Name()))
		}
		t.Logf("reliability %s / %s: %d/%d passed; %s", r.Group, r.Name, r.Passed, r.Runs, r.Figure)
		path := os.Getenv(ReportEnv)
		if path == "" {
			return
		}
		b, err := json.Marshal(r)
		if err != nil {
			t.Errorf("reliability row: %v", err)
			return
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
		if err != nil {
			t.Errorf("reliability report: %v", err)
			return
		}
		defer f.Close()
		if _, err := f.Write(append(b, '\n')); err != nil {
			t.Errorf("reliability report %s: %v", path, err)
		}
	})
	return r
}

// Run counts one injected fault and whether everything held after it.
func (r *Row) Run(ok bool) {
	r.Runs++
	if ok {
		r.Passed++
	}
}

// Figuref sets the row's figures.
func (r *Row) Figuref(format string, args ...any) { r.Figure = fmt.Sprintf(format, args...) }

// Repeats is how often a fault is injected: full under make reliability,
// fast under make test.
func Repeats(fast, full int) int {
	if os.Getenv(FullEnv) == "1" {
		return full
	}
	return fast
}
