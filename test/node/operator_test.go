//go:build node

package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// leaseName is the operator's leader election ID (cmd/main.go).
const leaseName = "memcached-operator.cache.example.com"

// TestMetricsNeedTheReaderRole: a pod whose service account is bound to the
// metrics-reader ClusterRole scrapes the operator's https metrics (200); one
// without the binding is refused (403). Both reach the Service by its DNS name.
func TestMetricsNeedTheReaderRole(t *testing.T) {
	ctx, c, ns := setup(t)
	opNS := framework.Env(t, "OPERATOR_NAMESPACE", "test-node")
	url := fmt.Sprintf("https://memcached-operator-controller-manager-metrics-service.%s.svc:8443/metrics", opNS)
	for _, sa := range []string{"scraper", "stranger"} {
		if err := c.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa, Namespace: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: ns + "-scraper"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "memcached-operator-metrics-reader"},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: "scraper", Namespace: ns}},
	}
	if err := c.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), binding) })

	for _, tc := range []struct {
		sa   string
		exit int32
		what string
	}{{"scraper", 0, "200 OK"}, {"stranger", 43, "403 Forbidden"}} {
		got := runScrape(ctx, t, c, ns, tc.sa, url)
		if got != tc.exit {
			t.Errorf("service account %s: scrape exited %d, want %d (%s)", tc.sa, got, tc.exit, tc.what)
		} else {
			t.Logf("service account %s: %s", tc.sa, tc.what)
		}
	}
}

// runScrape runs the scrape image as a restricted pod and returns its exit code.
func runScrape(ctx context.Context, t *testing.T, c client.Client, ns, sa, url string) int32 {
	return runPod(ctx, t, c, ns, sa, framework.Env(t, "SCRAPE_IMAGE", "test-node"), url)
}

// runPod runs image with args as a restricted pod and returns its exit code;
// an image that cannot be pulled fails the test at once, with the kubelet's reason.
func runPod(ctx context.Context, t *testing.T, c client.Client, ns, sa, image string, args ...string) int32 {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "scrape-" + sa, Namespace: ns},
		Spec: corev1.PodSpec{
			ServiceAccountName: sa,
			RestartPolicy:      corev1.RestartPolicyNever,
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true),
				SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "scrape", Image: image, Args: args,
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false),
					Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	if err := c.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	var code int32
	err := wait.For(ctx, wait.Options{What: "pod " + pod.Name + " to finish", Timeout: timeout}, func(ctx context.Context) (bool, string, error) {
		p := &corev1.Pod{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(pod), p); err != nil {
			return false, "", err
		}
		if why, stuck := podstatus.Stuck(p); stuck {
			return false, "", wait.Failed("pod %s: %s", p.Name, why)
		}
		for _, cs := range p.Status.ContainerStatuses {
			if term := cs.State.Terminated; term != nil {
				code = term.ExitCode
				return true, "", nil
			}
		}
		return false, string(p.Status.Phase), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return code
}

// TestLeaderFailover: with two operator replicas, the leader's pod is deleted
// while three Memcacheds change, twice (five times under make reliability);
// each time the other replica takes the lease and reconciles every change,
// and the deleted pod's replacement joins as the standby before the next.
// The reliability row gives, per deletion, the time to the lease naming the
// new leader, to the first change on a Deployment, and to every Memcached
// ready.
func TestLeaderFailover(t *testing.T) {
	ctx, c, ns := setup(t)
	opNS := framework.Env(t, "OPERATOR_NAMESPACE", "test-node")
	times := framework.Repeats(2, 5)
	row := framework.Reliability(t, "node", "leader failover: the leader's pod deleted while 3 Memcacheds change (2 operator replicas)")
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

	var leased, firsts, reconciled []string
	for i := range times {
		leader := leaderPod(ctx, t, c, opNS)
		start := time.Now()
		if err := c.Delete(ctx, &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: leader, Namespace: opNS}}); err != nil {
			t.Fatal(err)
		}
		size := 2 - int32(i%2) // 2, 1, 2, ...: every deletion comes with a change
		for _, mc := range mcs {
			patch := client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"size":%d}}`, size)))
			if err := c.Patch(ctx, mc.DeepCopy(), patch); err != nil {
				t.Fatal(err)
			}
		}
		first := firstApplied(ctx, t, c, mcs, size).Sub(start)
		next := leaderPod(ctx, t, c, opNS)
		tookLease := time.Since(start)
		for _, mc := range mcs {
			if err := readiness.WaitFor(ctx, c, client.ObjectKeyFromObject(mc), readiness.Options{Wait: wait.Options{Timeout: timeout}}); err != nil {
				t.Fatal(err)
			}
		}
		took := time.Since(start)
		if next == leader {
			t.Fatalf("the lease still names the deleted pod %s", leader)
		}
		t.Logf("deletion %d: leader %s deleted; %s holds the lease %s after; the first change reached its Deployment %s after; every Memcached ready %s after", i+1, leader, next,
			tookLease.Round(100*time.Millisecond), first.Round(100*time.Millisecond), took.Round(100*time.Millisecond))
		leased = append(leased, fmt.Sprintf("%.1f", tookLease.Seconds()))
		firsts = append(firsts, fmt.Sprintf("%.1f", first.Seconds()))
		reconciled = append(reconciled, fmt.Sprintf("%.1f", took.Seconds()))
		row.Run(!t.Failed())
		// The replacement pod becomes the standby before the next deletion.
		scaleOperator(ctx, t, c, 2)
	}
	row.Figuref("per deletion, the lease naming the new leader after %s s; the first change on a Deployment after %s s; every Memcached ready at its new size (new memcached pods running when it grew) after %s s",
		strings.Join(leased, " / "), strings.Join(firsts, " / "), strings.Join(reconciled, " / "))
}

// firstApplied waits, polling fast, until one of the Memcacheds' Deployments
// has size replicas: the first reconcile of the change, by the new leader
// unless the deleted one had not yet stopped at its SIGTERM.
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

// leaderPod names the pod holding the operator's lease (holderIdentity is
// "<pod>_<uid>").
func leaderPod(ctx context.Context, t *testing.T, c client.Client, ns string) string {
	t.Helper()
	var holder string
	err := wait.For(ctx, wait.Options{What: "a leader", Timeout: timeout}, func(ctx context.Context) (bool, string, error) {
		l := &coordinationv1.Lease{}
		if err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: leaseName}, l); err != nil {
			return false, err.Error(), nil
		}
		holder, _, _ = strings.Cut(ptr.Deref(l.Spec.HolderIdentity, ""), "_")
		if holder == "" {
			return false, "no holder", nil
		}
		p := &corev1.Pod{}
		err := c.Get(ctx, client.ObjectKey{Namespace: ns, Name: holder}, p)
		return err == nil && p.DeletionTimestamp == nil, "holder " + holder, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return holder
}

func scaleOperator(ctx context.Context, t *testing.T, c client.Client, replicas int32) {
	t.Helper()
	key := operatorKey(t)
	patch := client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)))
	if err := c.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}, patch); err != nil {
		t.Fatal(err)
	}
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("%d operator replicas", replicas), Timeout: timeout}, func(ctx context.Context) (bool, string, error) {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, key, d); err != nil {
			return false, "", err
		}
		st := d.Status
		return st.ObservedGeneration >= d.Generation && st.AvailableReplicas == replicas && st.Replicas == replicas,
			fmt.Sprintf("available %d of %d", st.AvailableReplicas, st.Replicas), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
