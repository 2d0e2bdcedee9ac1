package framework

import (
	"os"
	"testing"

	"github.com/example-inc/memcached-operator/internal/reliability"
)

// ReportEnv names the file `make reliability` reads the real-node rows of
// docs/reliability.md from: each row is appended to it as one JSON line.
// Unset (make test), rows are only logged.
const ReportEnv = "RELIABILITY_REPORT"

// FullEnv, set to 1 by `make reliability`, asks for the full repetitions;
// make test runs fewer (Repeats).
const FullEnv = "RELIABILITY_FULL"

// Reliability starts a row of docs/reliability.md measured by this test; it
// is logged, and written to the report, when t ends. A test that fails or
// is skipped leaves its row failed, whatever it counted.
func Reliability(t *testing.T, group, name string) *reliability.Row {
	t.Helper()
	r := &reliability.Row{Group: group, Name: name}
	t.Cleanup(func() {
		switch {
		case t.Failed():
			r.Fail("%s failed: its log says where", t.Name())
		case t.Skipped():
			r.Fail("%s was skipped: nothing was measured", t.Name())
		case r.Runs == 0:
			r.Fail("%s counted no run", t.Name())
		}
		t.Logf("reliability %s / %s: %d/%d passed; %s", r.Group, r.Name, r.Passed, r.Runs, r.Figure)
		if path := os.Getenv(ReportEnv); path != "" {
			if err := reliability.Append(path, *r); err != nil {
				t.Errorf("reliability report: %v", err)
			}
		}
	})
	return r
}

// Repeats is how often a fault is injected: full under make reliability,
// fast under make test.
func Repeats(fast, full int) int {
	if os.Getenv(FullEnv) == "1" {
		return full
	}
	return fast
}
