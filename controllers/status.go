package controllers

import (
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// observation is what one reconcile saw: the Deployment (nil when there is
// none), the pods of the Memcached, and the error of writing the Deployment.
type observation struct {
	deployment *appsv1.Deployment
	pods       []corev1.Pod
	applyErr   error
}

// computeStatus derives the status of mc from an observation: the names of
// its pods (0.1.0 reports nothing else).
func computeStatus(_ *cachev1.Memcached, obs observation, _ metav1.Time) cachev1.MemcachedStatus {
	return cachev1.MemcachedStatus{Nodes: podNames(obs.pods)}
}

// podNames lists the pods that are, or will be, serving: those being deleted
// or already finished are left out. The result is sorted.
func podNames(pods []corev1.Pod) []string {
	var names []string
	for i := range pods {
		p := &pods[i]
		if p.DeletionTimestamp != nil || p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		names = append(names, p.Name)
	}
	slices.Sort(names)
	return names
}
