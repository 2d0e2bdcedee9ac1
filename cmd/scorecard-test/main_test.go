package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/scorecard"
)

// beMain makes the test binary run main instead of the tests: the test
// starts itself as the scorecard-test command.
const beMain = "SCORECARD_TEST_BE_MAIN"

func TestMain(m *testing.M) {
	if os.Getenv(beMain) == "1" {
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestIntegrationSIGTERM is what happens when a scorecard deletes a test pod
// at its wait time: the kubelet sends SIGTERM mid-test. The command must
// delete the Memcached its test created and still print a TestStatus, in
// error, well within the pod's grace period. envtest runs no operator, so
// memcached-example-reconciles waits for readiness until the signal.
func TestIntegrationSIGTERM(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs kube-apiserver and etcd (KUBEBUILDER_ASSETS=bin)")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: point it at kube-apiserver and etcd (make test-integration builds them into bin/)")
	}
	c, kubeconfig := startAPIServer(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "sigterm"}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}

	var stdout, stderr bytes.Buffer
	cmd := exec.Command(os.Args[0], scorecard.MemcachedExample)
	cmd.Env = append(os.Environ(), beMain+"=1", "KUBECONFIG="+kubeconfig, "SCORECARD_NAMESPACE="+ns.Name,
		"BUNDLE_DIR="+filepath.Join("..", "..", "bundle"), "RELEASES_DIR="+filepath.Join("..", "..", "config", "catalog", "releases"))
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()

	memcacheds := func(ctx context.Context) (int, error) {
		list := &cachev1.MemcachedList{}
		err := c.List(ctx, list, client.InNamespace(ns.Name))
		return len(list.Items), err
	}
	err := wait.For(ctx, wait.Options{What: "the test to create its Memcached", Timeout: 30 * time.Second}, func(ctx context.Context) (bool, string, error) {
		n, err := memcacheds(ctx)
		return n == 1, "", err
	})
	if err != nil {
		t.Fatalf("%v; stderr: %s", err, stderr.String())
	}
	signalled := time.Now()
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	select {
	case err := <-exited:
		if err != nil {
			t.Fatalf("scorecard-test exited with %v after SIGTERM; stderr: %s", err, stderr.String())
		}
	case <-time.After(stopGrace + 5*time.Second):
		_ = cmd.Process.Kill()
		t.Fatalf("scorecard-test still runs %s after SIGTERM", stopGrace+5*time.Second)
	}
	t.Logf("scorecard-test stopped %s after SIGTERM", time.Since(signalled).Round(time.Millisecond))

	var status v1alpha3.TestStatus
	if err := json.Unmarshal(stdout.Bytes(), &status); err != nil || len(status.Results) != 1 {
		t.Fatalf("stdout is not a TestStatus with one result (%v): %q", err, stdout.String())
	}
	res := status.Results[0]
	if res.State != v1alpha3.ErrorState || !strings.Contains(strings.Join(res.Errors, "\n"), "stopped by a signal") {
		t.Errorf("result %s %q: want error, stopped by a signal", res.State, res.Errors)
	}
	if !strings.Contains(res.Log, "deleted Memcached "+ns.Name+"/") {
		t.Errorf("the log does not say the Memcached was deleted:\n%s", res.Log)
	}
	if n, err := memcacheds(ctx); err != nil || n != 0 {
		t.Errorf("%d Memcacheds left behind after SIGTERM (%v)", n, err)
	}
}

// startAPIServer starts kube-apiserver and etcd with our CRD and returns a
// client and a kubeconfig file for them.
func startAPIServer(t *testing.T) (client.Client, string) {
	t.Helper()
	env := &envtest.Environment{CRDDirectoryPaths: []string{filepath.Join("..", "..", "config", "crd", "bases")}, ErrorIfCRDPathMissing: true}
	cfg, err := env.Start()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = env.Stop() })
	c, err := client.New(cfg, client.Options{Scheme: kubeclient.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	kubeconfig := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(kubeconfig, env.KubeConfig, 0o600); err != nil {
		t.Fatal(err)
	}
	return c, kubeconfig
}
