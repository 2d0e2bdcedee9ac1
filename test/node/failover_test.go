//go:build node

package node

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/controller"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// leaderKill is how a failover scenario ends the leader.
type leaderKill struct {
	name string
	// kill ends the leader pod's operator.
	kill func(ctx context.Context, t *testing.T, c client.Client, pod *corev1.Pod)
	// bound is the longest the Lease may take to name a new holder.
	bound time.Duration
	// why says what bounds the handover.
	why string
}

var leaderKills = []leaderKill{
	{
		name: "the leader's pod deleted",
		kill: func(ctx context.Context, t *testing.T, c client.Client, pod *corev1.Pod) {
			if err := c.Delete(ctx, pod); err != nil {
				t.Fatal(err)
			}
		},
		// SIGTERM: the manager releases the Lease as it stops; the standby
		// takes it at its next try.
		bound: controller.RetryPeriod + 3*time.Second,
		why:   "released on SIGTERM, taken at the standby's next try",
	},
	{
		name: "the leader's container SIGKILLed (crictl stop --timeout 0)",
		kill: sigkillOperator,
		// Nothing releases the Lease: a candidate takes it once it has not
		// been renewed for LeaseDuration, at its next try.
		bound: controller.LeaseDuration + controller.RetryPeriod + 3*time.Second,
		why:   fmt.Sprintf("never released: the lease duration is %s", controller.LeaseDuration),
	},
}

// TestLeaderFailover: with two operator replicas, the leader ends while
// three Memcacheds change, twice per way (five times under make
// reliability): its pod deleted (graceful), and its container SIGKILLed (a
// crash: the Lease is not released). Each time a watch on the Lease records
// when holderIdentity names another holder, and the first change on a
// Deployment shows when the new leader first wrote; the handover stays
// within what the lease settings allow, and every change is reconciled.
func TestLeaderFailover(t *testing.T) {
	ctx, c, ns := setup(t)
	opNS := framework.Env(t, "OPERATOR_NAMESPACE", "test-node")
	scaleOperator(ctx, t, c, 2)
	t.Cleanup(func() { scaleOperator(context.Background(), t, c, 1) })
	var mcs []*cachev1.Memcached
	for i := range 3 {
		mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("failover-%d", i), Namespace: ns}, Spec: cachev1.MemcachedSpec{Size: 1}}
		if err := c.Create(ctx, mc); err != nil {
			t.Fatal(err)
		}
		framework.Scale(ctx, t, c, mc, 1)
		mcs = append(mcs, mc)
	}
	size := int32(1)
	for _, k := range leaderKills {
		t.Run(k.name, func(t *testing.T) {
			row := framework.Reliability(t, "node", "leader failover: "+k.name+" while 3 Memcacheds change (2 operator replicas)")
			var handovers, firsts, readies []string
			for range framework.Repeats(2, 5) {
				size = 3 - size // 2, 1, 2, ...: every kill comes with a change
				h := failoverOnce(ctx, t, c, opNS, mcs, size, k)
				handovers = append(handovers, fmt.Sprintf("%.1f", h.handover.Seconds()))
				firsts = append(firsts, fmt.Sprintf("%.1f", h.firstWrite.Seconds()))
				readies = append(readies, fmt.Sprintf("%.1f", h.ready.Seconds()))
				row.Run(!t.Failed())
			}
			row.Figuref("per kill, the Lease names a new holder after %s s (%s; bound %.0f s), the new leader's first change on a Deployment after %s s, every Memcached ready at its new size after %s s",
				strings.Join(handovers, " / "), k.why, k.bound.Seconds(), strings.Join(firsts, " / "), strings.Join(readies, " / "))
		})
	}
}

// failover is one kill's timeline, from the kill.
type failover struct {
	handover, firstWrite, ready time.Duration
}

// failoverOnce ends the leader as k does, changes the Memcacheds to size,
// and measures the handover, the first write and every Memcached ready;
// then waits for two operator replicas again.
func failoverOnce(ctx context.Context, t *testing.T, c client.Client, opNS string, mcs []*cachev1.Memcached, size int32, k leaderKill) failover {
	t.Helper()
	holder, pod := leader(ctx, t, c, opNS)
	changed := watchHolder(ctx, t, opNS, holder)
	start := time.Now()
	k.kill(ctx, t, c, pod)
	for _, mc := range mcs {
		patch := client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"size":%d}}`, size)))
		if err := c.Patch(ctx, mc.DeepCopy(), patch); err != nil {
			t.Fatal(err)
		}
	}
	var f failover
	f.firstWrite = firstApplied(ctx, t, c, mcs, size).Sub(start)
	select {
	case at := <-changed:
		f.handover = at.Sub(start)
	case <-time.After(timeout):
		t.Fatalf("the Lease still names %s %s after the kill", holder, timeout)
	}
	for _, mc := range mcs {
		if err := readiness.WaitFor(ctx, c, client.ObjectKeyFromObject(mc), readiness.Options{Wait: wait.Options{Timeout: timeout}}); err != nil {
			t.Fatal(err)
		}
	}
	f.ready = time.Since(start)
	t.Logf("%s: %s ended; the Lease named another holder %s after, the first change reached a Deployment %s after, every Memcached ready %s after",
		k.name, holder, f.handover.Round(100*time.Millisecond), f.firstWrite.Round(100*time.Millisecond), f.ready.Round(100*time.Millisecond))
	if f.handover > k.bound {
		t.Errorf("%s: the handover took %s, more than %s (%s)", k.name, f.handover.Round(100*time.Millisecond), k.bound, k.why)
	}
	// The replacement (or the restarted container) is the standby before the next kill.
	scaleOperator(ctx, t, c, 2)
	return f
}

// watchHolder watches the operator's Lease and sends the moment its
// holderIdentity first names anyone but holder.
func watchHolder(ctx context.Context, t *testing.T, ns, holder string) <-chan time.Time {
	t.Helper()
	cs, err := kubeclient.NewClientset()
	if err != nil {
		t.Fatal(err)
	}
	w, err := cs.CoordinationV1().Leases(ns).Watch(ctx, metav1.ListOptions{FieldSelector: fields.OneTermEqualSelector("metadata.name", controller.LeaderElectionID).String()})
	if err != nil {
		t.Fatal(err)
	}
	out := make(chan time.Time, 1)
	go func() {
		defer w.Stop()
		for ev := range w.ResultChan() {
			l, ok := ev.Object.(*coordinationv1.Lease)
			if ok && ptr.Deref(l.Spec.HolderIdentity, "") != holder && ptr.Deref(l.Spec.HolderIdentity, "") != "" {
				out <- time.Now()
				return
			}
		}
	}()
	return out
}

// sigkillOperator SIGKILLs the pod's operator container through the node's
// containerd, as a crash or the OOM killer ends it: nothing runs its
// shutdown, so the Lease is not released.
func sigkillOperator(ctx context.Context, t *testing.T, _ client.Client, pod *corev1.Pod) {
	t.Helper()
	if len(pod.Status.ContainerStatuses) == 0 {
		t.Fatalf("pod %s has no container status", pod.Name)
	}
	id := pod.Status.ContainerStatuses[0].ContainerID
	_, id, ok := strings.Cut(id, "://")
	if !ok {
		t.Fatalf("pod %s: container ID %q is not runtime://id", pod.Name, pod.Status.ContainerStatuses[0].ContainerID)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, filepath.Join(root, "hack", "node.sh"), "crictl", "stop", "--timeout", "0", id)
	cmd.Env = append(os.Environ(), "BIN="+framework.Env(t, "NODE_BIN", "test-node"), "STATE="+framework.Env(t, "NODE_STATE", "test-node"))
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("crictl stop --timeout 0 %s (pod %s): %v: %s", id, pod.Name, err, out)
	}
}

// leader is the operator's Lease holder ("<pod>_<uid>") and its pod, once
// one holds it and that pod is not being deleted.
func leader(ctx context.Context, t *testing.T, c client.Client, ns string) (string, *corev1.Pod) {
	t.Helper()
	var holder string
	pod := &corev1.Pod{}
	err := wait.For(ctx, wait.Options{What: "a leader", Timeout: timeout}, func(ctx context.Context) (bool, string, error) {
		l := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: controller.LeaderElectionID}, l); err != nil {
			return false, err.Error(), nil
		}
		holder = ptr.Deref(l.Spec.HolderIdentity, "")
		name, _, _ := strings.Cut(holder, "_")
		if name == "" {
			return false, "no holder", nil
		}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, pod)
		return err == nil && pod.DeletionTimestamp == nil && len(pod.Status.ContainerStatuses) > 0, "holder " + holder, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return holder, pod
}

// firstApplied waits, polling fast, until one of the Memcacheds' Deployments
// has size replicas: the first reconcile of the change, by the new leader
// unless the old one had not yet stopped.
func firstApplied(ctx context.Context, t *testing.T, c client.Client, mcs []*cachev1.Memcached, size int32) time.Time {
	t.Helper()
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("a Deployment at %d replicas", size), Timeout: timeout, Interval: 100 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			for _, mc := range mcs {
				d := &appsv1.Deployment{}
				if err := c.Get(ctx, client.ObjectKeyFromObject(mc), d); err != nil {
					return false, "", err
				}
				if ptr.Deref(d.Spec.Replicas, 1) == size {
					return true, "", nil
				}
			}
			return false, "no Deployment changed yet", nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return time.Now()
}
