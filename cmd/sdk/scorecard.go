package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/scorecard"
)

// scorecardOptions are the flags and the bundle of `scorecard BUNDLE`.
type scorecardOptions struct {
	bundleDir, configPath, selector, output, namespace, catalogDir string
	wait                                                           time.Duration
	list                                                           bool
}

// runScorecard is `scorecard BUNDLE`: operator-sdk scorecard's config,
// selector, stages and outputs, with the tests run in-process.
func runScorecard(args []string, stdout, stderr io.Writer) error {
	o, err := parseScorecardFlags(args, stderr)
	if err != nil {
		return err
	}
	cfg, err := scorecard.LoadConfig(o.configPath)
	if err != nil {
		return err
	}
	sel, err := labels.Parse(o.selector)
	if err != nil {
		return fmt.Errorf("-l %q: %w", o.selector, err)
	}
	if o.list {
		listScorecardTests(stdout, cfg, sel)
		return nil
	}
	env, err := scorecardEnv(o)
	if err != nil {
		return err
	}
	results := scorecard.RunConfig(context.Background(), cfg, sel, o.wait, env)
	if len(results.Items) == 0 {
		return fmt.Errorf("no test in %s matches -l %q", o.configPath, o.selector)
	}
	if err := scorecard.Write(stdout, results, o.output); err != nil {
		return err
	}
	if !scorecard.Passed(results) {
		return errReported
	}
	return nil
}

func parseScorecardFlags(args []string, stderr io.Writer) (scorecardOptions, error) {
	var o scorecardOptions
	fs := flag.NewFlagSet("scorecard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "Scorecard configuration (default BUNDLE/tests/scorecard/config.yaml).")
	fs.StringVar(&o.selector, "l", "", "Label selector of the tests to run, e.g. suite=olm.")
	fs.StringVar(&o.output, "o", "text", "Output: text, json (a v1alpha3 TestList) or xunit.")
	fs.DurationVar(&o.wait, "wait-time", 3*time.Minute, "How long each test may take.")
	fs.StringVar(&o.namespace, "namespace", "default", "Namespace the behaviour tests create their Memcacheds in (the operator must watch it).")
	fs.StringVar(&o.catalogDir, "catalog", "catalog", "The released catalog, for the upgrade readiness test.")
	fs.BoolVar(&o.list, "list", false, "List the selected tests without running them.")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return o, err
	}
	if fs.NArg() != 1 {
		return o, errors.New("scorecard takes one bundle directory")
	}
	o.bundleDir = fs.Arg(0)
	if o.configPath == "" {
		o.configPath = filepath.Join(o.bundleDir, "tests", "scorecard", "config.yaml")
	}
	return o, nil
}

// listScorecardTests prints the tests the selector picks, with their labels.
func listScorecardTests(w io.Writer, cfg *v1alpha3.Configuration, sel labels.Selector) {
	for _, st := range cfg.Stages {
		for _, tc := range st.Tests {
			if sel.Matches(labels.Set(tc.Labels)) {
				fmt.Fprintf(w, "%s\t%v\n", scorecard.TestName(tc), tc.Labels)
			}
		}
	}
}

// scorecardEnv loads the bundle and, when KUBECONFIG is set, a client. Without
// a reachable cluster the static tests still run; the cluster tests then
// report that they need one.
func scorecardEnv(o scorecardOptions) (*scorecard.Env, error) {
	var c client.Client
	if os.Getenv("KUBECONFIG") != "" {
		var err error
		if c, err = kubeclient.NewClient(); err != nil {
			return nil, fmt.Errorf("connect to the cluster KUBECONFIG names: %w", err)
		}
	}
	return scorecard.LoadEnv(o.bundleDir, o.catalogDir, c, o.namespace)
}
