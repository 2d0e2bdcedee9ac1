//go:build e2e

// Package e2e runs the operator-sdk Go tutorial's flow on a live cluster:
// the CRD installed (make install), the operator running as a local process
// (make run), the sample applied with kubectl, then scaled.
package e2e

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/controllers"
)

const timeout = 90 * time.Second

func TestTutorialFlow(t *testing.T) {
	g := NewWithT(t)
	manager, kubectl := mustEnv(t, "MANAGER_BINARY"), mustEnv(t, "KUBECTL")
	mustEnv(t, "KUBECONFIG")

	scheme := runtime.NewScheme()
	g.Expect(clientgoscheme.AddToScheme(scheme)).To(Succeed())
	g.Expect(cachev1.AddToScheme(scheme)).To(Succeed())
	cfg, err := config.GetConfig()
	g.Expect(err).NotTo(HaveOccurred())
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
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
	g.Eventually(func() bool {
		return apierrors.IsNotFound(k8s.Get(ctx, client.ObjectKeyFromObject(mc), &appsv1.Deployment{}))
	}, timeout, time.Second).Should(BeTrue(), "the Deployment outlived its Memcached")
}

// waitReady waits until size pods of mc are Ready on the cluster's nodes,
// status.nodes names exactly those pods, and Available is True.
func waitReady(t *testing.T, k8s client.Client, mc *cachev1.Memcached, size int) {
	t.Helper()
	start := time.Now()
	NewWithT(t).Eventually(func(g Gomega) {
		pods := &corev1.PodList{}
		g.Expect(k8s.List(context.Background(), pods, client.InNamespace(mc.Namespace),
			client.MatchingLabels{controllers.LabelInstance: mc.Name})).To(Succeed())
		var ready []string
		for _, p := range pods.Items {
			if p.DeletionTimestamp == nil && podReady(&p) {
				ready = append(ready, p.Name)
			}
		}
		g.Expect(ready).To(HaveLen(size), "ready pods")

		got := &cachev1.Memcached{}
		g.Expect(k8s.Get(context.Background(), client.ObjectKeyFromObject(mc), got)).To(Succeed())
		g.Expect(got.Status.Nodes).To(ConsistOf(ready), "status.nodes")
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, cachev1.ConditionAvailable)).To(BeTrue(), "Available")
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, 250*time.Millisecond).Should(Succeed())
	t.Logf("%s: %d/%d pods ready in %s", mc.Name, size, size, time.Since(start).Round(time.Millisecond))
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// startOperator runs the manager binary as `make run` does, watching ns.
func startOperator(t *testing.T, binary, ns string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	logs := &bytes.Buffer{}
	cmd := exec.CommandContext(ctx, binary, "--health-probe-bind-address=0", "--metrics-bind-address=0")
	cmd.Env = append(os.Environ(), "WATCH_NAMESPACE="+ns)
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", binary, err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("operator log:\n%s", logs.String())
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

func mustEnv(t *testing.T, key string) string {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		t.Fatalf("%s is not set: run 'make test-e2e'", key)
	}
	return v
}
