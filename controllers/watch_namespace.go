package controllers

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// WatchNamespaceEnv is the environment variable OLM sets from the
// OperatorGroup's target namespaces (the CSV's olm.targetNamespaces annotation).
const WatchNamespaceEnv = "WATCH_NAMESPACE"

// ParseWatchNamespace reads WATCH_NAMESPACE as OLM sets it from an
// OperatorGroup's target namespaces: "" watches every namespace, "a" one,
// "a,b" several.
func ParseWatchNamespace(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []string
	for _, ns := range strings.Split(v, ",") {
		ns = strings.TrimSpace(ns)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("%s=%q: %q is not a namespace name: %s", WatchNamespaceEnv, v, ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}

// CacheOptions scopes the manager's cache to the watched namespaces, keeps
// only the operator's own Deployments and Pods, and keeps less of each:
// no managedFields on anything, and of a pod only what status.nodes needs.
// Pods are most of the memory an operator with a thousand Memcacheds holds.
func CacheOptions(namespaces []string) cache.Options {
	owned := labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagerName})
	opts := cache.Options{
		DefaultTransform: cache.TransformStripManagedFields(),
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: {Label: owned},
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
