//go:build node

package node

import (
	"context"
	"fmt"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

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

// scaleOperator sets the operator's replicas and waits until that many are
// available and no other operator pod is left (a terminating pod still
// runs, and would be counted by the next test).
func scaleOperator(ctx context.Context, t *testing.T, c client.Client, replicas int32) {
	t.Helper()
	key := operatorKey(t)
	patch := client.RawPatch("application/merge-patch+json", []byte(fmt.Sprintf(`{"spec":{"replicas":%d}}`, replicas)))
	if err := c.Patch(ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: key.Name, Namespace: key.Namespace}}, patch); err != nil {
		t.Fatal(err)
	}
	if err := wait.DeploymentRolledOut(ctx, c, key, wait.Options{What: fmt.Sprintf("%d operator replicas", replicas), Timeout: timeout}); err != nil {
		t.Fatal(err)
	}
}
