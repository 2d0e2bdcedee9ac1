package localmanager

import (
	"context"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// fakeManager is a script standing in for bin/manager: it prints its flags
// and environment, then waits to be stopped.
func fakeManager(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "manager")
	script := "#!/bin/sh\necho \"args: $*\"\necho \"watch: [$WATCH_NAMESPACE] kubeconfig: [$KUBECONFIG]\"\ntrap 'echo stopping; exit 0' TERM\nwhile :; do sleep 0.1; done\n"
	if err := os.WriteFile(path, []byte(script), 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestStartPassesWatchNamespaceAndFlags(t *testing.T) {
	p, err := Start(Options{Binary: fakeManager(t), WatchNamespace: "a,b", Kubeconfig: "/k", MetricsAddr: "127.0.0.1:9", Args: []string{"--leader-elect"}, Why: "test", Report: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Stop()
	err = waitForLog(p, "kubeconfig:")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{
		"args: --metrics-bind-address=127.0.0.1:9 --health-probe-bind-address=0 --leader-elect",
		"watch: [a,b] kubeconfig: [/k]",
	} {
		if !strings.Contains(p.Log(), want) {
			t.Errorf("log %q lacks %q", p.Log(), want)
		}
	}
	p.Stop()
	if !strings.Contains(p.Log(), "stopping") {
		t.Errorf("Stop did not send SIGTERM first: log %q", p.Log())
	}
	select {
	case <-p.Exited():
	default:
		t.Error("Stop returned before the process ended")
	}
}

func TestKillEndsAtOnce(t *testing.T) {
	p, err := Start(Options{Binary: fakeManager(t), Why: "test", Report: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if err := waitForLog(p, "watch:"); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	p.Kill()
	p.Stop() // a second end is a no-op
	if time.Since(start) > 5*time.Second || strings.Contains(p.Log(), "stopping") {
		t.Errorf("Kill was not immediate (log %q)", p.Log())
	}
}

func TestStartWithoutBinary(t *testing.T) {
	if _, err := Start(Options{}); err == nil || !strings.Contains(err.Error(), "make build") {
		t.Fatalf("got %v, want an error that says how to build the manager", err)
	}
}

func waitForLog(p *Process, s string) error {
	return wait.For(context.Background(), wait.Options{What: "the fake manager to print " + s, Interval: 10 * time.Millisecond, Timeout: 10 * time.Second},
		func(context.Context) (bool, string, error) { return strings.Contains(p.Log(), s), p.Log(), nil })
}

func TestDepartures(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want []string
	}{
		{ShippedArgs, nil},
		{[]string{"--health-probe-bind-address=:8081", "--leader-elect", "--metrics-bind-address=:8443"}, nil},
		{[]string{"--metrics-bind-address=:8443", "--leader-elect=true", "--health-probe-bind-address=:8081"}, nil},
		{[]string{"--metrics-bind-address=:8443", "--leader-elect=false", "--health-probe-bind-address=:8081"}, []string{"--leader-elect=false (shipped on)"}},
		{[]string{"--metrics-bind-address=0", "--health-probe-bind-address=0", "--metrics-secure=false"}, []string{
			"--metrics-bind-address=0 (shipped :8443)", "no --leader-elect (shipped on)", "--health-probe-bind-address=0 (shipped :8081)", "--metrics-secure=false (not shipped)"}},
	} {
		if got := Departures(tc.args); !slices.Equal(got, tc.want) {
			t.Errorf("Departures(%q) = %q, want %q", tc.args, got, tc.want)
		}
	}
}

// A departure from the shipped flags is reported with its reason, and
// refused without one.
func TestStartReportsDepartures(t *testing.T) {
	var report strings.Builder
	p, err := Start(Options{Binary: fakeManager(t), Why: "a local process stands in for the pod", Report: &report})
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	want := "operator: not the shipped flags: --metrics-bind-address=0 (shipped :8443), no --leader-elect (shipped on), --health-probe-bind-address=0 (shipped :8081); why: a local process stands in for the pod\n"
	if report.String() != want {
		t.Errorf("report %q, want %q", report.String(), want)
	}
	if _, err := Start(Options{Binary: fakeManager(t)}); err == nil || !strings.Contains(err.Error(), "say why") {
		t.Errorf("Start without Why: %v, want a refusal asking why", err)
	}
	shipped := Options{Binary: fakeManager(t), MetricsAddr: ":8443", ProbeAddr: ":8081", Args: []string{"--leader-elect"}, Report: &report}
	report.Reset()
	p, err = Start(shipped)
	if err != nil {
		t.Fatal(err)
	}
	p.Stop()
	if report.Len() != 0 {
		t.Errorf("the shipped flags reported %q", report.String())
	}
}
