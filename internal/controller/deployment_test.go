package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

func memcached(name string, size int32) *cachev1.Memcached {
	return &cachev1.Memcached{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Generation: 1},
		Spec:       cachev1.MemcachedSpec{Size: size},
	}
}

func TestDesiredDeployment(t *testing.T) {
	op := Operand{Image: "registry.local:5000/memcached@sha256:0123"}
	d := desiredDeployment(memcached("cache", 4), op)

	if d.Name != "cache" || d.Namespace != "ns" {
		t.Errorf("name = %s/%s, want ns/cache", d.Namespace, d.Name)
	}
	if got := ptr.Deref(d.Spec.Replicas, -1); got != 4 {
		t.Errorf("replicas = %d, want 4", got)
	}
	sel := d.Spec.Selector.MatchLabels
	if sel[LabelInstance] != "cache" || sel[LabelName] != AppName || len(sel) != 2 {
		t.Errorf("selector = %v, want name and instance only", sel)
	}
	for k, v := range sel {
		if d.Spec.Template.Labels[k] != v {
			t.Errorf("template labels %v do not match selector key %s", d.Spec.Template.Labels, k)
		}
	}
	if d.Spec.Template.Labels[LabelManagedBy] != ManagerName {
		t.Errorf("template is not labelled managed-by %s: the pod cache would not see it", ManagerName)
	}

	pod := d.Spec.Template.Spec
	if len(pod.Containers) != 1 {
		t.Fatalf("containers = %d, want 1", len(pod.Containers))
	}
	c := pod.Containers[0]
	if c.Image != op.Image || c.ImagePullPolicy != corev1.PullIfNotPresent {
		t.Errorf("image = %s (%s), want %s (IfNotPresent)", c.Image, c.ImagePullPolicy, op.Image)
	}
	if len(c.Ports) != 1 || c.Ports[0].ContainerPort != 11211 {
		t.Errorf("ports = %v, want 11211", c.Ports)
	}
	if c.ReadinessProbe == nil || c.ReadinessProbe.TCPSocket == nil {
		t.Errorf("no TCP readiness probe")
	}
	if c.Resources.Limits.Memory().IsZero() || c.Resources.Requests.Cpu().IsZero() {
		t.Errorf("resources = %v, want requests and limits", c.Resources)
	}
}

// The operand must be admitted in a namespace that enforces the
// "restricted" Pod Security Standard.
func TestDesiredDeploymentIsRestricted(t *testing.T) {
	pod := desiredDeployment(memcached("cache", 1), Operand{Image: "memcached:1"}).Spec.Template.Spec
	if !ptr.Deref(pod.SecurityContext.RunAsNonRoot, false) {
		t.Error("pod runAsNonRoot is not true")
	}
	if pod.SecurityContext.SeccompProfile == nil || pod.SecurityContext.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		t.Error("pod seccompProfile is not RuntimeDefault")
	}
	if ptr.Deref(pod.AutomountServiceAccountToken, true) {
		t.Error("memcached pods get an API token they never use")
	}
	sc := pod.Containers[0].SecurityContext
	if sc == nil || ptr.Deref(sc.AllowPrivilegeEscalation, true) {
		t.Fatal("container allows privilege escalation")
	}
	if sc.Capabilities == nil || len(sc.Capabilities.Drop) != 1 || sc.Capabilities.Drop[0] != "ALL" {
		t.Errorf("capabilities = %v, want drop ALL", sc.Capabilities)
	}
	if ptr.Deref(sc.RunAsUser, 0) == 0 {
		t.Error("container runs as uid 0")
	}
}

func TestMergeDeployment(t *testing.T) {
	mc := memcached("cache", 3)
	desired := desiredDeployment(mc, Operand{Image: "memcached:1"})

	t.Run("unchanged when it already matches", func(t *testing.T) {
		current := desired.DeepCopy()
		// Fields the API server or other controllers set stay untouched.
		current.Spec.RevisionHistoryLimit = ptr.To[int32](10)
		current.Spec.Template.Spec.DNSPolicy = corev1.DNSClusterFirst
		current.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
		merged := current.DeepCopy()
		mergeDeployment(merged, desired)
		if !equality.Semantic.DeepEqual(current, merged) {
			t.Errorf("merge changed a Deployment that already matched")
		}
	})

	t.Run("reverts drift of owned fields and keeps foreign labels", func(t *testing.T) {
		current := desired.DeepCopy()
		current.Spec.Replicas = ptr.To[int32](7)
		current.Spec.Template.Spec.Containers[0].Image = "evil:1"
		current.Spec.Template.Labels["team"] = "cache"
		mergeDeployment(current, desired)
		if *current.Spec.Replicas != 3 {
			t.Errorf("replicas = %d, want 3", *current.Spec.Replicas)
		}
		if img := current.Spec.Template.Spec.Containers[0].Image; img != "memcached:1" {
			t.Errorf("image = %s, want memcached:1", img)
		}
		if current.Spec.Template.Labels["team"] != "cache" {
			t.Errorf("a label someone else added was dropped")
		}
	})

	t.Run("keeps the immutable selector", func(t *testing.T) {
		current := &appsv1.Deployment{Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"old": "x"}}}}
		mergeDeployment(current, desired)
		if current.Spec.Selector.MatchLabels["old"] != "x" {
			t.Errorf("selector was rewritten; the API server would reject the update")
		}
	})
}
