package controller

import (
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
)

// served is desired as the API server returns it: with fields the operator
// does not own (defaults, another controller's annotations and labels).
func served(desired *appsv1.Deployment) *appsv1.Deployment {
	d := desired.DeepCopy()
	d.UID, d.ResourceVersion, d.Generation = "uid-1", "42", 3
	d.Annotations = map[string]string{"deployment.kubernetes.io/revision": "1"}
	d.Labels["team"] = "cache"
	d.Spec.Template.Labels["sidecar"] = "off"
	d.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyAlways
	d.Spec.Template.Spec.DNSPolicy = corev1.DNSClusterFirst
	d.Spec.RevisionHistoryLimit = ptr.To[int32](10)
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: 3, Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2}
	return d
}

func slim(t *testing.T, d *appsv1.Deployment) *appsv1.Deployment {
	t.Helper()
	obj, err := slimDeployment(d)
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*appsv1.Deployment)
}

// TestSlimDeploymentKeepsWhatReconcileReads: the cached copy has what
// computeStatus and the ownership check read, and no pod spec.
func TestSlimDeploymentKeepsWhatReconcileReads(t *testing.T) {
	mc := memcached("cache", 2)
	desired := desiredDeployment(mc, Operand{Image: "memcached:1.6"})
	desired.OwnerReferences = []metav1.OwnerReference{{APIVersion: "cache.example.com/v1", Kind: "Memcached", Name: "cache", UID: "mc-uid", Controller: ptr.To(true)}}
	full := served(desired)
	got := slim(t, full)

	if got.UID != full.UID || got.ResourceVersion != "42" || got.Generation != 3 || len(got.OwnerReferences) != 1 {
		t.Errorf("identity, generation or owners lost: %+v", got.ObjectMeta)
	}
	if ptr.Deref(got.Spec.Replicas, -1) != 2 || !equality.Semantic.DeepEqual(got.Status, full.Status) || got.Spec.Selector == nil {
		t.Errorf("replicas, selector or status lost: %+v %+v", got.Spec, got.Status)
	}
	if len(got.Spec.Template.Spec.Containers) != 0 || got.Spec.Template.Spec.DNSPolicy != "" || got.Annotations != nil {
		t.Errorf("the cached copy kept the pod spec or annotations: %+v", got.Spec.Template.Spec)
	}
	if computeStatus(mc, observation{deployment: got}, metav1.Now()).ReadyReplicas != 2 {
		t.Error("status computed from the cached copy lost the ready replicas")
	}
	if !metav1.IsControlledBy(got, &metav1.ObjectMeta{UID: "mc-uid"}) {
		t.Error("the cached copy is no longer controlled by its Memcached")
	}
}

// TestInSync: a served Deployment with others' fields added is in sync; any
// change to a field the operator owns is not.
func TestInSync(t *testing.T) {
	op := Operand{Image: "memcached:1.6"}
	desired := desiredDeployment(memcached("cache", 2), op)
	if !inSync(slim(t, served(desired)), desired) {
		t.Fatal("a served Deployment with only others' fields added is out of sync")
	}
	for name, drift := range map[string]func(*appsv1.Deployment){
		"replicas": func(d *appsv1.Deployment) { d.Spec.Replicas = ptr.To[int32](7) },
		"image":    func(d *appsv1.Deployment) { d.Spec.Template.Spec.Containers[0].Image = "someone/else:1" },
		"an added env var": func(d *appsv1.Deployment) {
			d.Spec.Template.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", Value: "1"}}
		},
		"the pod security context": func(d *appsv1.Deployment) { d.Spec.Template.Spec.SecurityContext.RunAsNonRoot = ptr.To(false) },
		"the token mount":          func(d *appsv1.Deployment) { d.Spec.Template.Spec.AutomountServiceAccountToken = nil },
		"a label":                  func(d *appsv1.Deployment) { d.Labels[LabelInstance] = "other" },
		"a template label removed": func(d *appsv1.Deployment) { delete(d.Spec.Template.Labels, LabelInstance) },
	} {
		d := served(desired)
		drift(d)
		if inSync(slim(t, d), desired) {
			t.Errorf("%s drifted, but the cached copy says in sync", name)
		}
	}
	if inSync(slim(t, served(desired)), desiredDeployment(memcached("cache", 2), Operand{Image: "memcached:1.7"})) {
		t.Error("a new operand image is not seen as a change")
	}
}
