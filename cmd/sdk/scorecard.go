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

	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/scorecard"
)

// runScorecard is `scorecard BUNDLE`: operator-sdk scorecard's config,
// selector, stages and outputs, with the tests run in-process.
func runScorecard(args []string, stdout, stderr io.Writer) error {
	fs := flag.NewFlagSet("scorecard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	configPath := fs.String("config", "", "Scorecard configuration (default BUNDLE/tests/scorecard/config.yaml).")
	selector := fs.String("l", "", "Label selector of the tests to run, e.g. suite=olm.")
	output := fs.String("o", "text", "Output: text, json (a v1alpha3 TestList) or xunit.")
	wait := fs.Duration("wait-time", 3*time.Minute, "How long each test may take.")
	namespace := fs.String("namespace", "default", "Namespace the behaviour tests create their Memcacheds in (the operator must watch it).")
	catalogDir := fs.String("catalog", "catalog", "The released catalog, for the upgrade readiness test.")
	list := fs.Bool("list", false, "List the selected tests without running them.")
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return errors.New("scorecard takes one bundle directory")
	}
	bundleDir := fs.Arg(0)
	if *configPath == "" {
		*configPath = filepath.Join(bundleDir, "tests", "scorecard", "config.yaml")
	}
	cfg, err := scorecard.LoadConfig(*configPath)
	if err != nil {
		return err
	}
	sel, err := labels.Parse(*selector)
	if err != nil {
		return fmt.Errorf("-l %q: %w", *selector, err)
	}
	if *list {
		for _, st := range cfg.Stages {
			for _, tc := range st.Tests {
				if sel.Matches(labels.Set(tc.Labels)) {
					fmt.Fprintf(stdout, "%s\t%v\n", scorecard.TestName(tc), tc.Labels)
				}
			}
		}
		return nil
	}
	// Without a reachable cluster the static tests still run; the cluster
	// tests then report that they need one.
	var c client.Client
	if os.Getenv("KUBECONFIG") != "" {
		if c, err = kubeclient.NewClient(); err != nil {
			return err
		}
	}
	env, err := scorecard.LoadEnv(bundleDir, *catalogDir, c, *namespace)
	if err != nil {
		return err
	}
	results := scorecard.RunConfig(context.Background(), cfg, sel, *wait, env)
	if len(results.Items) == 0 {
		return fmt.Errorf("no test in %s matches -l %q", *configPath, *selector)
	}
	if err := scorecard.Write(stdout, results, *output); err != nil {
		return err
	}
	if !scorecard.Passed(results) {
		return errReported
	}
	return nil
}
