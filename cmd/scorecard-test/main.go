// Command scorecard-test is the entrypoint of the scorecard test image:
// operator-sdk's scorecard runs it in a pod as `scorecard-test NAME` with
// the bundle at /bundle, and reads the v1alpha3 TestStatus it prints.
package main

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/go-logr/logr"
	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"github.com/sirupsen/logrus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/scorecard"
)

func main() {
	logrus.SetLevel(logrus.WarnLevel)
	ctrllog.SetLogger(logr.Discard())
	if len(os.Args) != 2 {
		fmt.Fprintf(os.Stderr, "usage: scorecard-test NAME (one of %v)\n", scorecard.Names())
		os.Exit(2)
	}
	status := v1alpha3.TestStatus{Results: []v1alpha3.TestResult{run(os.Args[1])}}
	if err := json.NewEncoder(os.Stdout).Encode(status); err != nil {
		os.Exit(1)
	}
}

func run(name string) v1alpha3.TestResult {
	// Static tests run without a cluster; cluster tests report that they need one.
	c, err := kubeclient.NewClient()
	if err != nil {
		c = nil
	}
	// An unset or empty variable means the test pod's default.
	bundleDir := cmp.Or(os.Getenv("BUNDLE_DIR"), "/bundle")
	catalogDir := cmp.Or(os.Getenv("CATALOG_DIR"), "/catalog")
	namespace := cmp.Or(os.Getenv("SCORECARD_NAMESPACE"), "default")
	env, err := scorecard.LoadEnv(bundleDir, catalogDir, c, namespace)
	if err != nil {
		return v1alpha3.TestResult{Name: name, State: v1alpha3.ErrorState, Errors: []string{err.Error()}}
	}
	// scorecard's own --wait-time bounds the pod; this bounds the test.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	return scorecard.Run(ctx, name, env)
}
