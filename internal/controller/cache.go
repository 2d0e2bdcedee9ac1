package controller

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// CacheOptions scopes the manager's cache to the watched namespaces, keeps
// only the operator's own Deployments and Pods, and keeps of each only what
// the reconciler reads: no managedFields on anything; of a Deployment no pod
// template but its labels and a fingerprint of the fields the operator
// owns; of a pod what status.nodes and Degraded need. Deployments and pods
// are most of the memory an operator with a thousand Memcacheds holds
// (docs/benchmarks.md, B1).
func CacheOptions(namespaces []string) cache.Options {
	owned := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagerName})
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: {Label: owned, Transform: slimDeployment},
			&corev1.Pod{}:        {Label: owned, Transform: slimPod},
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = make(map[string]cache.Config, len(namespaces))
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}

// slimPod keeps of a pod what the reconciler reads: identity, labels,
// deletion, phase, and what says it cannot serve (a failed scheduling, a
// container waiting with its reason and image).
func slimPod(obj any) (any, error) {
	p, ok := obj.(*corev1.Pod)
	if !ok {
		return obj, nil
	}
	return &corev1.Pod{
		TypeMeta: p.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: p.Name, Namespace: p.Namespace, UID: p.UID, ResourceVersion: p.ResourceVersion,
			Labels: p.Labels, CreationTimestamp: p.CreationTimestamp, DeletionTimestamp: p.DeletionTimestamp,
		},
		Status: corev1.PodStatus{Phase: p.Status.Phase, Conditions: slimConditions(p.Status.Conditions), ContainerStatuses: slimContainers(p.Status.ContainerStatuses)},
	}, nil
}

func slimConditions(conds []corev1.PodCondition) []corev1.PodCondition {
	var out []corev1.PodCondition
	for _, c := range conds {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse {
			out = append(out, corev1.PodCondition{Type: c.Type, Status: c.Status, Reason: c.Reason, Message: c.Message})
		}
	}
	return out
}

func slimContainers(statuses []corev1.ContainerStatus) []corev1.ContainerStatus {
	var out []corev1.ContainerStatus
	for _, cs := range statuses {
		if cs.State.Waiting != nil {
			out = append(out, corev1.ContainerStatus{Name: cs.Name, Image: cs.Image,
				State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: cs.State.Waiting.Reason}}})
		}
	}
	return out
}

// ownedTemplateAnnotation, on a cached Deployment's pod template only, holds
// ownedTemplateHash of the template the API server has. It is never written.
const ownedTemplateAnnotation = "cache.example.com/owned-template-hash"

// slimDeployment keeps of a Deployment what reconcile reads: identity,
// labels, owners, generation, replicas, selector, status, and of the pod
// template its labels and the fingerprint of the fields mergeDeployment
// owns. A reconcile that must write reads the whole object first.
func slimDeployment(obj any) (any, error) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok {
		return obj, nil
	}
	return &appsv1.Deployment{
		TypeMeta: d.TypeMeta,
		ObjectMeta: metav1.ObjectMeta{
			Name: d.Name, Namespace: d.Namespace, UID: d.UID, ResourceVersion: d.ResourceVersion, Generation: d.Generation,
			Labels: d.Labels, OwnerReferences: d.OwnerReferences, CreationTimestamp: d.CreationTimestamp, DeletionTimestamp: d.DeletionTimestamp,
		},
		Spec: appsv1.DeploymentSpec{
			Replicas: d.Spec.Replicas,
			Selector: d.Spec.Selector,
			Template: corev1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{
				Labels:      d.Spec.Template.Labels,
				Annotations: map[string]string{ownedTemplateAnnotation: ownedTemplateHash(&d.Spec.Template.Spec)},
			}},
		},
		Status: d.Status,
	}, nil
}

// ownedTemplateHash fingerprints the pod template fields mergeDeployment
// replaces whole: the service account token mount, the pod security
// context and the containers.
func ownedTemplateHash(spec *corev1.PodSpec) string {
	b, err := json.Marshal(struct {
		Automount       *bool                      `json:"a"`
		SecurityContext *corev1.PodSecurityContext `json:"s"`
		Containers      []corev1.Container         `json:"c"`
	}{spec.AutomountServiceAccountToken, spec.SecurityContext, spec.Containers})
	if err != nil {
		// These types always marshal; an empty fingerprint only makes the
		// reconciler read the whole Deployment.
		return ""
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:16])
}
