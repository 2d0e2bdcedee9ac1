//go:build node

// Package node tests the operator on the local cluster's real node: the operator
// image runs as a pod (make deploy) in a namespace that enforces the restricted
// Pod Security Standard, and the memcached pods it creates really serve: a
// memcached client sets and reads keys through each pod's IP.
//
// Run with make test-node (it brings up the cluster with a real node, builds and
// pushes the images, deploys the operator, then runs this).
package node

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/controller"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/managerenv"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

const timeout = 3 * time.Minute

func setup(t *testing.T) (context.Context, client.Client, string) {
	t.Helper()
	c, err := kubeclient.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	ns := fmt.Sprintf("node-e2e-%d", time.Now().UnixNano()%100000)
	err = c.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}) })
	return ctx, c, ns
}

// TestOperatorRunsAsPod: the operator Deployment of make deploy is available
// with its pod running on the real node from the operator image.
func TestOperatorRunsAsPod(t *testing.T) {
	ctx, c, _ := setup(t)
	ns, img := framework.Env(t, "OPERATOR_NAMESPACE", "test-node"), framework.Env(t, "IMG", "test-node")
	key := client.ObjectKey{Namespace: ns, Name: "memcached-operator-controller-manager"}
	if err := wait.DeploymentRolledOut(ctx, c, key, wait.Options{What: "the operator Deployment to be available", Timeout: timeout}); err != nil {
		t.Fatal(err)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{"control-plane": "controller-manager"}); err != nil {
		t.Fatal(err)
	}
	running := 0
	for _, p := range pods.Items {
		if p.Status.Phase != corev1.PodRunning {
			continue
		}
		running++
		framework.AssertOnRealNode(ctx, t, c, &p)
		if got := p.Spec.Containers[0].Image; got != img {
			t.Errorf("operator pod %s runs image %s, want %s", p.Name, got, img)
		}
		if id := p.Status.ContainerStatuses[0].ContainerID; !strings.HasPrefix(id, "containerd://") {
			t.Errorf("operator pod %s: container %q is not run by containerd", p.Name, id)
		}
	}
	if running != 1 {
		t.Fatalf("%d running operator pods, want 1", running)
	}
}

// TestMemcachedServes: a Memcached of size 3, then 5, then 1: every pod that
// status.nodes lists runs on the real node and answers a set and a get.
func TestMemcachedServes(t *testing.T) {
	ctx, c, ns := setup(t)
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: "memcached-sample", Namespace: ns}, Spec: cachev1.MemcachedSpec{Size: 3}}
	if err := c.Create(ctx, mc); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int32{3, 5, 1} {
		framework.Scale(ctx, t, c, mc, size)
		framework.AssertServes(ctx, t, c, mc, fmt.Sprintf("size-%d", size))
	}
}

// TestRestrictedRefusesPrivileged: the operator and the memcached pods run in
// namespaces that enforce the restricted Pod Security Standard; patched to
// run privileged, the memcached Deployment's new pods are refused by the API
// server and the operator puts the Deployment back.
func TestRestrictedRefusesPrivileged(t *testing.T) {
	ctx, c, ns := setup(t)
	row := framework.Reliability(t, "node", "operator and operand admitted under an enforcing restricted namespace; a privileged pod refused")
	opNS := framework.Env(t, "OPERATOR_NAMESPACE", "test-node")
	operatorPod := runningPodIn(ctx, t, c, opNS, client.MatchingLabels{"control-plane": "controller-manager"})
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: "psa", Namespace: ns}, Spec: cachev1.MemcachedSpec{Size: 1}}
	if err := c.Create(ctx, mc); err != nil {
		t.Fatal(err)
	}
	framework.Scale(ctx, t, c, mc, 1)
	operandPod := runningPodIn(ctx, t, c, ns, client.MatchingLabels{controller.LabelInstance: mc.Name})
	assertPrivilegedPodRefused(ctx, t, c, ns)
	reverting := time.Now()
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(mc), dep); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(dep.DeepCopy())
	dep.Spec.Template.Spec.Containers[0].SecurityContext.Privileged = ptr.To(true)
	dep.Spec.Template.Spec.Containers[0].SecurityContext.AllowPrivilegeEscalation = ptr.To(true)
	if err := c.Patch(ctx, dep, patch); err != nil {
		t.Fatal(err)
	}
	err := wait.For(ctx, wait.Options{What: "the operator to revert the privileged Deployment", Timeout: timeout}, func(ctx context.Context) (bool, string, error) {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, client.ObjectKeyFromObject(mc), d); err != nil {
			return false, "", err
		}
		sc := d.Spec.Template.Spec.Containers[0].SecurityContext
		return sc.Privileged == nil && !*sc.AllowPrivilegeEscalation, fmt.Sprintf("privileged %v", ptr.Deref(sc.Privileged, false)), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	reverted := time.Now()
	// No privileged pod was ever admitted.
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if sc := p.Spec.Containers[0].SecurityContext; sc != nil && ptr.Deref(sc.Privileged, false) {
			t.Errorf("pod %s runs privileged in a restricted namespace", p.Name)
		}
	}
	framework.Scale(ctx, t, c, mc, 1)
	row.Run(!t.Failed())
	row.Figuref("operator pod %s running in %s and memcached pod %s in %s, both enforcing restricted; a privileged pod refused by the API server; a Deployment patched to privileged put back by the operator in %.1f s, no privileged pod admitted",
		operatorPod, opNS, operandPod, ns, reverted.Sub(reverting).Seconds())
}

// runningPodIn names a running pod of sel in ns, a namespace that must
// enforce the restricted Pod Security Standard.
func runningPodIn(ctx context.Context, t *testing.T, c client.Client, ns string, sel client.MatchingLabels) string {
	t.Helper()
	n := &corev1.Namespace{}
	if err := c.Get(ctx, client.ObjectKey{Name: ns}, n); err != nil {
		t.Fatal(err)
	}
	if got := n.Labels["pod-security.kubernetes.io/enforce"]; got != "restricted" {
		t.Fatalf("namespace %s enforces %q, want restricted", ns, got)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), sel); err != nil {
		t.Fatal(err)
	}
	for _, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning {
			return p.Name
		}
	}
	t.Fatalf("no running pod %v in %s", sel, ns)
	return ""
}

// assertPrivilegedPodRefused: the API server itself refuses a privileged pod
// in the namespace (Pod Security admission enforcing restricted).
func assertPrivilegedPodRefused(ctx context.Context, t *testing.T, c client.Client, ns string) {
	t.Helper()
	pod := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "privileged", Namespace: ns},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "c", Image: "example.com/memcached:any",
			SecurityContext: &corev1.SecurityContext{Privileged: ptr.To(true)},
		}}},
	}
	err := c.Create(ctx, pod)
	if err == nil {
		t.Fatalf("a privileged pod was admitted in %s, which enforces restricted", ns)
	}
	if !strings.Contains(err.Error(), `violates PodSecurity "restricted:latest"`) {
		t.Fatalf("privileged pod refused for another reason: %v", err)
	}
}

// TestDegradedNamesPodFailures: with the operand image unpullable, and then an
// image without memcached in it (the container cannot start), the Memcached
// says Degraded with the kubelet's reason and the image; restored, it is ready.
func TestDegradedNamesPodFailures(t *testing.T) {
	ctx, c, ns := setup(t)
	good := operandImage(ctx, t, c)
	notMemcached := framework.Env(t, "SANDBOX_IMAGE", "test-node")
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: "broken", Namespace: ns}, Spec: cachev1.MemcachedSpec{Size: 1}}
	if err := c.Create(ctx, mc); err != nil {
		t.Fatal(err)
	}
	framework.Scale(ctx, t, c, mc, 1)
	t.Cleanup(func() { setOperandImage(context.Background(), t, c, good) })
	for _, tc := range []struct{ image, reason string }{
		{"example.com/does-not-exist:1", cachev1.ReasonImagePullFailed},
		{notMemcached, cachev1.ReasonCrashLooping},
	} {
		setOperandImage(ctx, t, c, tc.image)
		want := fmt.Sprintf("(image %s)", tc.image)
		err := wait.For(ctx, wait.Options{What: "Degraded " + tc.reason, Timeout: timeout}, func(ctx context.Context) (bool, string, error) {
			got := &cachev1.Memcached{}
			if err := c.Get(ctx, client.ObjectKeyFromObject(mc), got); err != nil {
				return false, "", err
			}
			d := meta.FindStatusCondition(got.Status.Conditions, cachev1.ConditionDegraded)
			if d == nil {
				return false, "no Degraded condition", nil
			}
			return d.Status == metav1.ConditionTrue && d.Reason == tc.reason && strings.Contains(d.Message, want),
				fmt.Sprintf("Degraded=%s %s: %s", d.Status, d.Reason, d.Message), nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	setOperandImage(ctx, t, c, good)
	framework.Scale(ctx, t, c, mc, 1)
}

// operandImage is the memcached image the operator Deployment names.
func operandImage(ctx context.Context, t *testing.T, c client.Client) string {
	t.Helper()
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, operatorKey(t), dep); err != nil {
		t.Fatal(err)
	}
	for _, e := range dep.Spec.Template.Spec.Containers[0].Env {
		if e.Name == managerenv.RelatedImage {
			return e.Value
		}
	}
	t.Fatalf("the operator Deployment has no %s", managerenv.RelatedImage)
	return ""
}

func operatorKey(t *testing.T) client.ObjectKey {
	return client.ObjectKey{Namespace: framework.Env(t, "OPERATOR_NAMESPACE", "test-node"), Name: "memcached-operator-controller-manager"}
}

// setOperandImage points the operator at another memcached image, as a user
// would by editing RELATED_IMAGE_MEMCACHED, and waits for the new operator pod.
func setOperandImage(ctx context.Context, t *testing.T, c client.Client, image string) {
	t.Helper()
	key := operatorKey(t)
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, key, dep); err != nil {
		t.Fatal(err)
	}
	patch := client.MergeFrom(dep.DeepCopy())
	for i, e := range dep.Spec.Template.Spec.Containers[0].Env {
		if e.Name == managerenv.RelatedImage {
			dep.Spec.Template.Spec.Containers[0].Env[i].Value = image
		}
	}
	if err := c.Patch(ctx, dep, patch); err != nil {
		t.Fatal(err)
	}
	if err := wait.DeploymentRolledOut(ctx, c, key, wait.Options{What: "the operator to roll out with " + image, Timeout: timeout}); err != nil {
		t.Fatal(err)
	}
}
