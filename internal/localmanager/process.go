// Package localmanager starts the manager binary as a local process: the one way the
// tutorial flow, the demo, the OLM tests and the benchmarks run the operator on the
// simulated data plane, where no pod can run it.
package localmanager

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/example-inc/memcached-operator/internal/managerenv"
)

// stopGrace is how long the manager may take to stop after SIGTERM before it is killed.
const stopGrace = 10 * time.Second

// Options configure one manager process.
type Options struct {
	// Binary is the manager (make build: bin/manager).
	Binary string
	// WatchNamespace is what OLM's install mode gives the operator: "" for all
	// namespaces, "a" or "a,b" (managerenv.WatchNamespace).
	WatchNamespace string
	// Kubeconfig points the manager at a cluster; empty keeps the environment's KUBECONFIG.
	Kubeconfig string
	// MetricsAddr and ProbeAddr are the manager's bind addresses; "0" (the default
	// when empty) turns each off.
	MetricsAddr, ProbeAddr string
	// PprofAddr, when set, serves /debug/pprof there (heap profiles), which
	// the shipped Deployment does not.
	PprofAddr string
	// Args are further flags (e.g. --max-concurrent-reconciles=4, --metrics-secure=false).
	Args []string
	// Log receives the manager's output; when nil it is kept in memory (Process.Log).
	Log io.Writer
	// Why says why the manager runs with flags other than the shipped
	// Deployment's (ShippedArgs), which Start then reports to Report;
	// required when it does.
	Why string
	// Report receives that line; os.Stderr when nil.
	Report io.Writer
}

// Process is a running manager.
type Process struct {
	cmd  *exec.Cmd
	buf  *syncBuffer
	done chan struct{}
	once sync.Once
}

// Start runs the manager with o and returns once the process has started.
func Start(o Options) (*Process, error) {
	if o.Binary == "" {
		return nil, errors.New("no manager binary: build it with make build (bin/manager)")
	}
	args := []string{"--metrics-bind-address=" + orZero(o.MetricsAddr), "--health-probe-bind-address=" + orZero(o.ProbeAddr)}
	if o.PprofAddr != "" {
		args = append(args, "--pprof-bind-address="+o.PprofAddr)
	}
	args = append(args, o.Args...)
	if err := reportDepartures(o, args); err != nil {
		return nil, err
	}
	cmd := exec.Command(o.Binary, args...)
	cmd.Env = append(os.Environ(), managerenv.WatchNamespace+"="+o.WatchNamespace)
	if o.Kubeconfig != "" {
		cmd.Env = append(cmd.Env, "KUBECONFIG="+o.Kubeconfig)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	if o.Log != nil {
		cmd.Stdout, cmd.Stderr = o.Log, o.Log
	} else {
		p.buf = &syncBuffer{}
		cmd.Stdout, cmd.Stderr = p.buf, p.buf
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", o.Binary, err)
	}
	go func() { _ = cmd.Wait(); close(p.done) }()
	return p, nil
}

// PID is the process id (the benchmarks read its CPU time and memory).
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited is closed when the process has ended.
func (p *Process) Exited() <-chan struct{} { return p.done }

// Log is the output kept in memory (empty when Options.Log was set).
func (p *Process) Log() string {
	if p.buf == nil {
		return ""
	}
	return p.buf.String()
}

// Stop sends SIGTERM, kills the process if it has not ended within a grace
// period, and waits for it. Calling it again does nothing.
func (p *Process) Stop() {
	p.once.Do(func() {
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(stopGrace):
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
}

// Kill ends the process at once (SIGKILL), as a crash would, and waits for it.
func (p *Process) Kill() {
	p.once.Do(func() {
		_ = p.cmd.Process.Kill()
		<-p.done
	})
}

// reportDepartures says how args differ from the shipped Deployment's and
// why, or refuses a departure nobody explained.
func reportDepartures(o Options, args []string) error {
	deps := Departures(args)
	if len(deps) == 0 {
		return nil
	}
	if o.Why == "" {
		return fmt.Errorf("the manager would run with flags other than the shipped Deployment's (%s): say why (localmanager.Options.Why)", strings.Join(deps, ", "))
	}
	report := o.Report
	if report == nil {
		report = os.Stderr
	}
	_, err := fmt.Fprintf(report, "operator: not the shipped flags: %s; why: %s\n", strings.Join(deps, ", "), o.Why)
	return err
}

func orZero(addr string) string {
	if addr == "" {
		return "0"
	}
	return addr
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
