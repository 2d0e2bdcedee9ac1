package framework

import (
	"context"
	"fmt"
	"net"
	"testing"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// RealNodeLabel marks the real node (hack/node.sh); kwok's fake nodes lack it.
const RealNodeLabel = "memcached.example.com/node"

// ReadyTimeout bounds how long a Memcached may take to be ready on the real node.
const ReadyTimeout = 3 * time.Minute

// Scale sets spec.size, as `kubectl patch` would, and waits until the
// Memcached is ready by the one definition (internal/readiness).
func Scale(ctx context.Context, t testing.TB, c client.Client, mc *cachev1.Memcached, size int32) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"size":%d}}`, size)))
	if err := c.Patch(ctx, mc.DeepCopy(), patch); err != nil {
		t.Fatal(err)
	}
	if err := readiness.WaitFor(ctx, c, client.ObjectKeyFromObject(mc), readiness.Options{Wait: wait.Options{Timeout: ReadyTimeout}}); err != nil {
		t.Fatal(err)
	}
}

// AssertServes: status.nodes lists spec.size pods, and each runs on the real
// node and answers a memcached client's set and get through its pod IP.
func AssertServes(ctx context.Context, t testing.TB, c client.Client, mc *cachev1.Memcached, value string) {
	t.Helper()
	got := &cachev1.Memcached{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mc), got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Nodes) != int(got.Spec.Size) {
		t.Fatalf("Memcached %s: size %d, status.nodes %v", mc.Name, got.Spec.Size, got.Status.Nodes)
	}
	for _, name := range got.Status.Nodes {
		pod := &corev1.Pod{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: mc.Namespace, Name: name}, pod); err != nil {
			t.Fatal(err)
		}
		AssertOnRealNode(ctx, t, c, pod)
		AssertAnswers(t, pod, value)
	}
}

// AssertOnRealNode: the pod was scheduled to the real node.
func AssertOnRealNode(ctx context.Context, t testing.TB, c client.Client, p *corev1.Pod) {
	t.Helper()
	node := &corev1.Node{}
	if err := c.Get(ctx, client.ObjectKey{Name: p.Spec.NodeName}, node); err != nil {
		t.Fatalf("pod %s: node %q: %v", p.Name, p.Spec.NodeName, err)
	}
	if node.Labels[RealNodeLabel] != "real" {
		t.Errorf("pod %s runs on %s, which is not the real node", p.Name, node.Name)
	}
}

// AssertAnswers sets a key through the memcached pod's IP (from this host)
// and reads it back.
func AssertAnswers(t testing.TB, p *corev1.Pod, value string) {
	t.Helper()
	key := "e2e-" + p.Name
	set(t, p, key, value)
	assertHolds(t, p, key, value)
	t.Logf("pod %s at %s answered: %s=%s", p.Name, p.Status.PodIP, key, value)
}

// Store sets key to value in every pod status.nodes lists, for
// AssertStored to read back later (after an upgrade). It returns the pods.
func Store(ctx context.Context, t testing.TB, c client.Client, mc *cachev1.Memcached, key, value string) []corev1.Pod {
	t.Helper()
	pods := ListedPods(ctx, t, c, mc)
	for i := range pods {
		set(t, &pods[i], key, value)
	}
	return pods
}

// AssertStored: every pod of pods still holds key = value.
func AssertStored(t testing.TB, pods []corev1.Pod, key, value string) {
	t.Helper()
	for i := range pods {
		assertHolds(t, &pods[i], key, value)
	}
}

// ListedPods are the pods status.nodes names (readiness.ListedPods).
func ListedPods(ctx context.Context, t testing.TB, c client.Client, mc *cachev1.Memcached) []corev1.Pod {
	t.Helper()
	pods, err := readiness.ListedPods(ctx, c, client.ObjectKeyFromObject(mc))
	if err != nil {
		t.Fatal(err)
	}
	return pods
}

func memcacheClient(p *corev1.Pod) (*memcache.Client, string) {
	addr := net.JoinHostPort(p.Status.PodIP, "11211")
	mc := memcache.New(addr)
	mc.Timeout = 2 * time.Second
	return mc, addr
}

func set(t testing.TB, p *corev1.Pod, key, value string) {
	t.Helper()
	mc, addr := memcacheClient(p)
	if err := mc.Set(&memcache.Item{Key: key, Value: []byte(value)}); err != nil {
		t.Fatalf("pod %s: set %s at %s: %v", p.Name, key, addr, err)
	}
}

func assertHolds(t testing.TB, p *corev1.Pod, key, value string) {
	t.Helper()
	mc, addr := memcacheClient(p)
	it, err := mc.Get(key)
	if err != nil {
		t.Fatalf("pod %s: get %s at %s: %v", p.Name, key, addr, err)
	}
	if string(it.Value) != value {
		t.Fatalf("pod %s: %s = %q, want %q", p.Name, key, it.Value, value)
	}
}
