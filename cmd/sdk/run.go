package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/wait"
)

type runFlags struct {
	opts    olm.RunOptions
	timeout time.Duration
}

func (r *runFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&r.opts.Namespace, "namespace", "default", "Namespace to install into.")
	fs.StringVar(&r.opts.InstallMode, "install-mode", "", "AllNamespaces, OwnNamespace, SingleNamespace=NS or MultiNamespace=NS1,NS2 (default: as operator-sdk chooses).")
	fs.StringVar(&r.opts.IndexImage, "index-image", "", "Serve the catalog from a registry pod running this image (opm and sh; e.g. the opm image), as operator-sdk does: needed when OLM runs in the cluster. Unset: --opm serves it on this host, for OLM running on this host.")
	fs.StringVar(&r.opts.DecompressionImage, "decompression-image", "", "Image of the registry pod's init container that unpacks the catalog (sh, cat, gzip); default --index-image.")
	fs.StringVar(&r.opts.OPM, "opm", "bin/opm", "opm binary that serves the catalog on this host (without --index-image).")
	fs.StringVar(&r.opts.StateDir, "state-dir", ".work/run-bundle", "Where the served catalogs, their logs and pid files live.")
	fs.BoolVar(&r.opts.UseHTTP, "use-http", false, "Pull a bundle image over plain HTTP or unverified TLS (a local registry).")
	fs.DurationVar(&r.timeout, "timeout", 5*time.Minute, "How long to wait for the install (CatalogSource, InstallPlan, CSV).")
}

// runBundle is `run bundle` and `run bundle-upgrade`.
func runBundle(args []string, upgrade bool, stdout, stderr io.Writer) error {
	name := "run bundle"
	if upgrade {
		name = "run bundle-upgrade"
	}
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	var rf runFlags
	rf.register(fs)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%s takes one bundle directory or image", name)
	}
	rf.opts.Bundle, rf.opts.Out = fs.Arg(0), stdout
	c, err := newOLMClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), rf.timeout)
	defer cancel()
	run := c.RunBundle
	if upgrade {
		run = c.UpgradeBundle
	}
	start := time.Now()
	inst, err := run(ctx, rf.opts)
	if err != nil {
		var stalled *wait.Error
		if errors.As(err, &stalled) {
			printStall(stderr, stalled)
			return errReported
		}
		return err
	}
	fmt.Fprintf(stdout, "%s is installed in %s through OLM in %s (Subscription %s, InstallPlan %s)\n",
		inst.CSV, inst.Namespace, time.Since(start).Round(100*time.Millisecond), inst.Subscription, inst.InstallPlan)
	return nil
}

// printStall prints a wait that did not finish with OLM's account of why:
// what was awaited (and for how long), the last state seen, the diagnosis.
func printStall(w io.Writer, stalled *wait.Error) {
	what := stalled.What
	if stalled.LastState != "" {
		what += "; last seen: " + stalled.LastState
	}
	fmt.Fprintf(w, "error: %s; what OLM reports:\n%s", what, stalled.Diagnosis)
}

// cleanup is `cleanup PACKAGE`.
func cleanup(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
	fs.SetOutput(stderr)
	ns := fs.String("namespace", "default", "Namespace run bundle installed into.")
	stateDir := fs.String("state-dir", ".work/run-bundle", "run bundle's state directory.")
	deleteCRDs := fs.Bool("delete-crds", true, "Also delete the CRDs the operator owns (and every object of them) and OLM's Operator object, as operator-sdk cleanup does; --delete-crds=false keeps them.")
	timeout := fs.Duration("timeout", 2*time.Minute, "How long to wait for each object to go.")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("cleanup takes one package name")
	}
	c, err := newOLMClient()
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := c.Cleanup(ctx, olm.CleanupOptions{Package: fs.Arg(0), Namespace: *ns, StateDir: *stateDir, DeleteCRDs: *deleteCRDs, Out: stdout}); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s is cleaned up from %s\n", fs.Arg(0), *ns)
	return nil
}
