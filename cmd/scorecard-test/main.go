// Command scorecard-test is the entrypoint of the scorecard test image:
// operator-sdk's scorecard (or `sdk scorecard --pods`) runs it in a pod as
// `scorecard-test NAME` with the bundle at /bundle, and reads the v1alpha3
// TestStatus it prints.
//
// A scorecard deletes a test pod whose wait time is over; the kubelet then
// sends SIGTERM. The test's context is cancelled, its cleanups (deleting the
// Memcacheds it created) run within scorecard.CleanupTimeout, and it still
// prints a TestStatus, in error, before the pod's grace period ends.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"github.com/sirupsen/logrus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/scorecard"
)

// testTimeout bounds a test when no scorecard does (scorecard's --wait-time
// bounds the pod).
const testTimeout = 5 * time.Minute

// stopGrace is how long a stopped test may take to return after SIGTERM:
// its cleanups have scorecard.CleanupTimeout, and the pod's grace period is
// longer than both.
const stopGrace = scorecard.CleanupTimeout + 5*time.Second

func main() {
	logrus.SetLevel(logrus.WarnLevel)
	ctrllog.SetLogger(logr.Discard())
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: scorecard-test NAME (one of %v)\n", scorecard.Names())
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	status := v1alpha3.TestStatus{Results: []v1alpha3.TestResult{runStoppable(ctx, os.Args[1])}}
	if err := json.NewEncoder(os.Stdout).Encode(status); err != nil {
		os.Exit(1)
	}
}

// runStoppable runs the test until it ends or a signal stops it; a stopped
// test gets stopGrace to return from its cleanups and is reported in error.
func runStoppable(ctx context.Context, name string) v1alpha3.TestResult {
	done := make(chan v1alpha3.TestResult, 1)
	start := time.Now()
	go func() { done <- run(ctx, name) }()
	select {
	case res := <-done:
		if ctx.Err() == nil {
			return res
		}
		return stopped(ctx, res, start)
	case <-ctx.Done():
	}
	select {
	case res := <-done:
		return stopped(ctx, res, start)
	case <-time.After(stopGrace):
		return v1alpha3.TestResult{Name: name, State: v1alpha3.ErrorState, Errors: []string{fmt.Sprintf(
			"stopped by a signal (%v) after %s; the test did not return within %s: what it created may be left behind",
			context.Cause(ctx), time.Since(start).Round(time.Second), stopGrace)}}
	}
}

// stopped marks a result that a signal cut short.
func stopped(ctx context.Context, res v1alpha3.TestResult, start time.Time) v1alpha3.TestResult {
	res.State = v1alpha3.ErrorState
	res.Errors = append(res.Errors, fmt.Sprintf("stopped by a signal (%v) after %s: the scorecard's wait time is over or the pod was deleted; cleanups ran",
		context.Cause(ctx), time.Since(start).Round(time.Second)))
	return res
}

func run(ctx context.Context, name string) v1alpha3.TestResult {
	// Static tests run without a cluster; cluster tests report that they need one.
	c, err := kubeclient.NewClient()
	if err != nil {
		c = nil
	}
	// An unset or empty variable means the test pod's default.
	bundleDir := cmp.Or(os.Getenv("BUNDLE_DIR"), "/bundle")
	releasesDir := cmp.Or(os.Getenv("RELEASES_DIR"), "/releases")
	namespace := cmp.Or(os.Getenv("SCORECARD_NAMESPACE"), "default")
	env, err := scorecard.LoadEnv(bundleDir, releasesDir, c, namespace)
	if err != nil {
		return v1alpha3.TestResult{Name: name, State: v1alpha3.ErrorState, Errors: []string{err.Error()}}
	}
	ctx, cancel := context.WithTimeout(ctx, testTimeout)
	defer cancel()
	return scorecard.Run(ctx, name, env)
}
