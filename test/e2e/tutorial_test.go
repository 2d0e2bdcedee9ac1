//go:build e2e

// Package e2e runs the operator-sdk Go tutorial's flow on a live cluster:
// the CRD installed (make install), the operator running as a local process
// (make run), the sample applied with kubectl, then scaled.
package e2e

import (
	"context"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

const timeout = 90 * time.Second

func TestTutorialFlow(t *testing.T) {
	g := NewWithT(t)
	manager, kubectl := framework.Env(t, "MANAGER_BINARY", "test-e2e"), framework.Env(t, "KUBECTL", "test-e2e")
	framework.Env(t, "KUBECONFIG", "test-e2e")

	k8s, err := kubeclient.NewClient()
	g.Expect(err).NotTo(HaveOccurred())
	ctx := context.Background()

	ns := fmt.Sprintf("tutorial-%d", time.Now().UnixNano()%100000)
	g.Expect(k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}})).To(Succeed())
	t.Cleanup(func() { _ = k8s.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}) })

	startOperator(t, manager, ns)

	// kubectl apply -f config/samples/cache_v1_memcached.yaml
	sample := filepath.Join("..", "..", "config", "samples", "cache_v1_memcached.yaml")
	run(t, kubectl, "apply", "-n", ns, "-f", sample)
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "memcached-sample"}}

	waitReady(t, k8s, mc, 3)

	// kubectl patch memcached memcached-sample -p '{"spec":{"size":5}}' --type=merge
	run(t, kubectl, "patch", "-n", ns, "memcached", mc.Name, "--type=merge", "-p", `{"spec":{"size":5}}`)
	waitReady(t, k8s, mc, 5)

	// kubectl delete: the garbage collector removes the Deployment and pods.
	run(t, kubectl, "delete", "-n", ns, "memcached", mc.Name)
	err = wait.For(ctx, wait.Options{What: "the garbage collector to remove Deployment " + mc.Name, Interval: time.Second, Timeout: timeout},
		func(ctx context.Context) (bool, string, error) {
			switch err := k8s.Get(ctx, client.ObjectKeyFromObject(mc), &appsv1.Deployment{}); {
			case apierrors.IsNotFound(err):
				return true, "", nil
			case err != nil:
				return false, err.Error(), nil
			}
			return false, "the Deployment still exists", nil
		})
	g.Expect(err).NotTo(HaveOccurred(), "the Deployment outlived its Memcached")
}

// waitReady waits until mc is ready by the one definition (internal/readiness):
// its Deployment wants size pods, size pods are Ready on the cluster's nodes,
// status.nodes names exactly those pods, readyReplicas is size, Available is
// True, for the current generation. The spec it is judged against must ask for
// size, so a stale or wrong spec cannot pass for the size the test wants.
func waitReady(t *testing.T, k8s client.Client, mc *cachev1.Memcached, size int) {
	t.Helper()
	g := NewWithT(t)
	start := time.Now()
	key := client.ObjectKeyFromObject(mc)
	err := readiness.WaitFor(context.Background(), k8s, key, readiness.Options{Wait: wait.Options{Timeout: timeout}})
	g.Expect(err).NotTo(HaveOccurred())
	got := &cachev1.Memcached{}
	g.Expect(k8s.Get(context.Background(), key, got)).To(Succeed())
	g.Expect(got.Spec.Size).To(BeEquivalentTo(size), "spec.size")
	g.Expect(got.Status.Nodes).To(HaveLen(size), "status.nodes")
	t.Logf("%s: %d/%d pods ready in %s", mc.Name, size, size, time.Since(start).Round(time.Millisecond))
}

// startOperator runs the manager binary as `make run` does, watching ns; its
// log is printed when the test fails.
func startOperator(t *testing.T, binary, ns string) {
	t.Helper()
	p, err := localmanager.Start(localmanager.Options{Binary: binary, WatchNamespace: ns, Why: localmanager.StandIn})
	if err != nil {
		t.Fatalf("start the operator: %v", err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("operator log:\n%s", p.Log())
		}
	})
}

func run(t *testing.T, name string, args ...string) {
	t.Helper()
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
}
