// Command demo shows the operator's whole OLM lifecycle on a cluster that
// runs OLM (make demo brings up the local one): it installs the oldest
// release of a channel from the repository's catalog through a
// Subscription, runs the operator, reconciles the sample, then approves one
// upgrade at a time up to the channel head, checking the Memcached after
// each hop. Running it again starts over in a fresh namespace.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	"github.com/sirupsen/logrus"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/olm"
)

const (
	pkg           = "memcached-operator"
	catalogSource = "memcached-catalog"
)

type demo struct {
	k8s client.Client
	olm *olm.Client
	// flags
	catalogDir, samplePath, channel string
	ns, state, opm, manager         string
	// catalogImage, when set, is the real-node lane: OLM in the cluster
	// serves this image and runs the operator pods; nothing runs here.
	catalogImage string
	// operator is the manager process standing for OLM's operator pod.
	operator *localmanager.Process
	// pods are the sample's pods after its first reconcile, to tell whether
	// an upgrade replaced them.
	pods []string
	// steps are the summary's lines: what happened, when and how long it took.
	steps []Step
	// started is when run began; report, when set, receives steps as JSON.
	started time.Time
	report  string
}

func main() {
	logrus.SetLevel(logrus.WarnLevel)
	ctrllog.SetLogger(logr.Discard())
	d := &demo{}
	flag.StringVar(&d.catalogDir, "catalog", ".work/catalog-local", "Local rendering of the catalog (make catalog).")
	flag.StringVar(&d.samplePath, "sample", "config/samples/cache_v1_memcached.yaml", "The Memcached to create.")
	flag.StringVar(&d.channel, "channel", "candidate", "Channel to install from and upgrade along.")
	flag.StringVar(&d.ns, "namespace", "memcached-demo", "Namespace of the demo (recreated on each run).")
	flag.StringVar(&d.state, "state-dir", ".work/demo", "Logs and pid files.")
	flag.StringVar(&d.opm, "opm", "bin/opm", "opm binary.")
	flag.StringVar(&d.manager, "manager", "bin/manager", "The operator binary, run as a local process (without --catalog-image).")
	flag.StringVar(&d.catalogImage, "catalog-image", "", "Catalog image for the CatalogSource (spec.image): OLM in the cluster runs its registry pod and the operator's pods (the real-node lane). Empty: serve --catalog with opm and run --manager here.")
	timeout := flag.Duration("timeout", 10*time.Minute, "How long the whole demo may take.")
	flag.StringVar(&d.report, "report", "", "Also write the recorded steps (kind, start and duration in seconds, and each install's phases) as JSON to this file (make bench-lifecycle-real reads it).")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := d.run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "\nerror:", err)
		os.Exit(1)
	}
}

// run is the demo, step by step: from the catalog's oldest bundle of the
// channel to its head, with the sample reconciled after every hop.
func (d *demo) run(ctx context.Context) error {
	d.started = time.Now()
	total := d.started
	if err := d.connect(); err != nil {
		return err
	}
	from, path, err := d.loadPath(ctx)
	if err != nil {
		return err
	}
	if err := d.reset(ctx); err != nil {
		return err
	}
	if err := d.serveCatalog(ctx); err != nil {
		return err
	}
	plan, err := d.installFirst(ctx, from)
	if err != nil {
		return err
	}
	if err := d.runOperator(ctx, from); err != nil {
		return err
	}
	defer d.stopOperator()
	mc, err := d.applySample(ctx)
	if err != nil {
		return err
	}
	for _, next := range path {
		if plan, err = d.upgradeHop(ctx, mc, plan, next); err != nil {
			return err
		}
	}
	if err := d.show(ctx, mc); err != nil {
		return err
	}
	if d.catalogImage != "" {
		if err := d.answers(ctx, mc); err != nil {
			return err
		}
	}
	d.summary(total)
	return d.writeReport()
}

func (d *demo) connect() error {
	c, err := kubeclient.NewClient()
	if err != nil {
		return err
	}
	d.k8s, d.olm = c, &olm.Client{Client: c}
	return nil
}

func (d *demo) step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> %s\033[0m\n", fmt.Sprintf(format, args...))
}

// record ends a step of kind begun at start: it prints the step and keeps
// it for the summary and the report. It returns the kept step so that an
// install can add its phases.
func (d *demo) record(start time.Time, kind, format string, args ...any) *Step {
	msg := fmt.Sprintf(format, args...)
	took := time.Since(start)
	d.steps = append(d.steps, Step{What: msg, Kind: kind, Start: start.Sub(d.started).Seconds(), Seconds: took.Seconds()})
	fmt.Printf("    %s (%s)\n", msg, took.Round(100*time.Millisecond))
	return &d.steps[len(d.steps)-1]
}

// summary prints every recorded step and how long each took.
func (d *demo) summary(total time.Time) {
	d.step("summary")
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "    step\ttook")
	for _, s := range d.steps {
		fmt.Fprintf(w, "    %s\t%s\n", s.What, (time.Duration(s.Seconds * float64(time.Second))).Round(100*time.Millisecond))
	}
	w.Flush()
	fmt.Printf("    whole demo: %s; OLM keeps running (make demo-down stops everything)\n", time.Since(total).Round(100*time.Millisecond))
}
