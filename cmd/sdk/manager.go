package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// runManager runs the manager as a local process, the simulated lane's
// stand-in for the operator's pod (localmanager.Start: it says how its flags
// differ from the shipped Deployment's), until sdk is interrupted or
// terminated, which stops it; the scripts of make tutorial and make
// scorecard start the operator this way.
func runManager(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("run manager", flag.ContinueOnError)
	fs.SetOutput(stderr)
	binary := fs.String("manager", "bin/manager", "The manager binary (make build).")
	watch := fs.String("watch-namespace", "", "What OLM's install mode would give the operator: empty for all namespaces, or ns1,ns2.")
	logPath := fs.String("log", "", "File the manager's output goes to (default: sdk's stderr).")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		return errors.New("run manager takes no arguments")
	}
	out := stderr
	if *logPath != "" {
		f, err := os.Create(*logPath)
		if err != nil {
			return fmt.Errorf("run manager: %w", err)
		}
		defer f.Close()
		out = f
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	p, err := localmanager.Start(localmanager.Options{Binary: *binary, WatchNamespace: *watch, Log: out, Why: localmanager.StandIn, Report: stdout})
	if err != nil {
		return err
	}
	select {
	case <-ctx.Done():
		p.Stop()
		return nil
	case <-p.Exited():
		where := "above"
		if *logPath != "" {
			where = "in " + *logPath
		}
		return fmt.Errorf("the manager %s exited: its output is %s", *binary, where)
	}
}

// waitMemcached waits until a Memcached is ready as readiness defines it
// (the object's status, its Deployment and its pods agree), the one
// definition the demo, the tests and the scorecard use.
func waitMemcached(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("wait memcached", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("namespace", "default", "The Memcached's namespace.")
	timeout := fs.Duration("timeout", 2*time.Minute, "How long to wait.")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("wait memcached takes one Memcached name")
	}
	c, err := kubeclient.NewClient()
	if err != nil {
		return err
	}
	key := client.ObjectKey{Namespace: *ns, Name: fs.Arg(0)}
	if err := readiness.WaitFor(context.Background(), c, key, readiness.Options{Wait: wait.Options{Timeout: *timeout}}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "Memcached %s is ready\n", key)
	return nil
}
