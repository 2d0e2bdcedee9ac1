package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/scorecard"
)

// scorecardOptions are the flags and the bundle of `scorecard BUNDLE`.
type scorecardOptions struct {
	bundleDir, configPath, selector, output, namespace, releasesDir string
	wait                                                            time.Duration
	list                                                            bool
	pods                                                            podFlags
}

// podFlags are the flags of the pod runner (--pods).
type podFlags struct {
	enabled                    bool
	untarImage, serviceAccount string
	security                   scorecard.PodSecurity
}

// defaultUntarImage is operator-sdk's: any image with tar and gzip serves.
const defaultUntarImage = "docker.io/library/busybox:1.36"

// runScorecard is `scorecard BUNDLE`: operator-sdk scorecard's config,
// selector, stages and outputs, with the tests run in-process or, with
// --pods, as pods as operator-sdk runs them.
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
	if selected(cfg, sel) == 0 {
		return fmt.Errorf("no test in %s matches -l %q", o.configPath, o.selector)
	}
	// Ctrl-C stops the tests, and the pod runner deletes its pods.
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	results, runErr := o.runTests(ctx, cfg, sel)
	if len(results.Items) == 0 {
		return runErr
	}
	if err := scorecard.Write(stdout, results, o.output); err != nil {
		return err
	}
	if runErr != nil {
		return runErr
	}
	if !scorecard.Passed(results) {
		return errReported
	}
	return nil
}

// runTests runs the selected tests in-process or, with --pods, as pods.
func (o scorecardOptions) runTests(ctx context.Context, cfg *v1alpha3.Configuration, sel labels.Selector) (v1alpha3.TestList, error) {
	if o.pods.enabled {
		return runScorecardPods(ctx, o, cfg, sel)
	}
	env, err := scorecardEnv(o)
	if err != nil {
		return v1alpha3.TestList{}, err
	}
	return scorecard.RunConfig(ctx, cfg, sel, o.wait, env), nil
}

// runScorecardPods runs the tests as pods in the cluster KUBECONFIG names.
// The account is --service-account, else the config's serviceAccount, else
// default; the scorecard creates no RBAC for it.
func runScorecardPods(ctx context.Context, o scorecardOptions, cfg *v1alpha3.Configuration, sel labels.Selector) (v1alpha3.TestList, error) {
	c, err := kubeclient.NewClient()
	if err != nil {
		return v1alpha3.TestList{}, fmt.Errorf("--pods needs a cluster: %w", err)
	}
	cs, err := kubeclient.NewClientset()
	if err != nil {
		return v1alpha3.TestList{}, fmt.Errorf("--pods needs a cluster: %w", err)
	}
	return scorecard.RunPods(ctx, cfg, sel, scorecard.PodOptions{
		Client: c, Clientset: cs, BundleDir: o.bundleDir, WaitTime: o.wait,
		PodInput: scorecard.PodInput{
			Namespace:      o.namespace,
			UntarImage:     o.pods.untarImage,
			ServiceAccount: cmp.Or(o.pods.serviceAccount, cfg.ServiceAccount, "default"),
			Security:       o.pods.security,
		},
	})
}

func parseScorecardFlags(args []string, stderr io.Writer) (scorecardOptions, error) {
	var o scorecardOptions
	fs := flag.NewFlagSet("scorecard", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&o.configPath, "config", "", "Scorecard configuration (default BUNDLE/tests/scorecard/config.yaml).")
	fs.StringVar(&o.selector, "l", "", "Label selector of the tests to run, e.g. suite=olm.")
	fs.StringVar(&o.output, "o", "text", "Output: text, json (a v1alpha3 TestList) or xunit.")
	fs.DurationVar(&o.wait, "wait-time", 3*time.Minute, "How long each test may take (with --pods: from creating its pod to the pod finishing).")
	fs.StringVar(&o.namespace, "namespace", "default", "Namespace the behaviour tests create their Memcacheds in (the operator must watch it); with --pods, also where the test pods run.")
	fs.StringVar(&o.releasesDir, "releases", "config/catalog/releases", "The released bundles, for the upgrade readiness test (in-process; the test image has its own).")
	fs.BoolVar(&o.list, "list", false, "List the selected tests without running them.")
	o.pods.register(fs)
	if err := fs.Parse(reorder(fs, args)); err != nil {
		return o, err
	}
	if fs.NArg() != 1 {
		return o, errors.New("scorecard takes one bundle directory")
	}
	if err := o.pods.check(fs); err != nil {
		return o, err
	}
	switch o.output {
	case "text", "json", "xunit":
	default:
		// Before the tests run, not after.
		return o, fmt.Errorf("-o %q: want text, json or xunit", o.output)
	}
	o.bundleDir = fs.Arg(0)
	if o.configPath == "" {
		o.configPath = filepath.Join(o.bundleDir, "tests", "scorecard", "config.yaml")
	}
	return o, nil
}

func (p *podFlags) register(fs *flag.FlagSet) {
	fs.BoolVar(&p.enabled, "pods", false, "Run each test as a pod from the config's image, as operator-sdk scorecard does (default: in-process).")
	fs.StringVar(&p.untarImage, "untar-image", defaultUntarImage, "With --pods: image with tar and gzip that unpacks the bundle for each test pod.")
	const saUsage = "With --pods: service account the tests run as (default: the config's serviceAccount, else default). The scorecard creates no RBAC for it: see config/scorecard/rbac."
	fs.StringVar(&p.serviceAccount, "service-account", "", saUsage)
	fs.StringVar(&p.serviceAccount, "s", "", "Short for --service-account.")
	p.security = scorecard.PodSecurityRestricted
	fs.Var(&p.security, "pod-security", "With --pods: restricted (non-root, seccomp RuntimeDefault, no capabilities) or legacy (no security context).")
}

// check refuses the pod runner's flags without --pods: they would do nothing.
func (p *podFlags) check(fs *flag.FlagSet) error {
	var stray []string
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "s":
			stray = append(stray, "-s")
		case "untar-image", "service-account", "pod-security":
			stray = append(stray, "--"+f.Name)
		}
	})
	if len(stray) > 0 && !p.enabled {
		return fmt.Errorf("%s only apply with --pods", strings.Join(stray, ", "))
	}
	return nil
}

// selected counts the tests the selector picks.
func selected(cfg *v1alpha3.Configuration, sel labels.Selector) int {
	n := 0
	for _, st := range cfg.Stages {
		n += len(scorecard.Select(st, sel))
	}
	return n
}

// listScorecardTests prints the tests the selector picks, with their labels.
func listScorecardTests(w io.Writer, cfg *v1alpha3.Configuration, sel labels.Selector) {
	for _, st := range cfg.Stages {
		for _, tc := range scorecard.Select(st, sel) {
			fmt.Fprintf(w, "%s\t%v\n", scorecard.TestName(tc), tc.Labels)
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
	return scorecard.LoadEnv(o.bundleDir, o.releasesDir, c, o.namespace)
}
