package controller

import (
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
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

// computeStatus derives the status of mc from an observation. It is pure:
// conditions keep their lastTransitionTime unless their status changes, and
// now is the time stamped on those that do.
func computeStatus(mc *cachev1.Memcached, obs observation, now metav1.Time) cachev1.MemcachedStatus {
	st := cachev1.MemcachedStatus{
		Nodes:              podNames(obs.pods),
		ObservedGeneration: mc.Generation,
		Conditions:         slices.Clone(mc.Status.Conditions),
	}
	want := mc.Spec.Size
	dep := obs.deployment
	var ready, updated, total int32
	current := false
	if dep != nil {
		ready, updated, total = dep.Status.ReadyReplicas, dep.Status.UpdatedReplicas, dep.Status.Replicas
		current = dep.Status.ObservedGeneration >= dep.Generation &&
			dep.Spec.Replicas != nil && *dep.Spec.Replicas == want
	}
	st.ReadyReplicas = ready

	set := func(typ string, status metav1.ConditionStatus, reason, msg string) {
		meta.SetStatusCondition(&st.Conditions, metav1.Condition{
			Type: typ, Status: status, Reason: reason, Message: msg,
			ObservedGeneration: mc.Generation, LastTransitionTime: now,
		})
	}

	switch {
	case dep == nil:
		set(cachev1.ConditionAvailable, metav1.ConditionFalse, cachev1.ReasonReplicasNotReady, "the Deployment does not exist yet")
	case want == 0 && current && total == 0:
		set(cachev1.ConditionAvailable, metav1.ConditionTrue, cachev1.ReasonScaledToZero, "size is 0 and no pod is running")
	case current && ready >= want && updated >= want:
		set(cachev1.ConditionAvailable, metav1.ConditionTrue, cachev1.ReasonAllReplicasReady, fmt.Sprintf("%d/%d pods ready", ready, want))
	default:
		set(cachev1.ConditionAvailable, metav1.ConditionFalse, cachev1.ReasonReplicasNotReady, fmt.Sprintf("%d/%d pods ready", ready, want))
	}

	switch {
	case dep == nil || !current || total != want || ready != want:
		set(cachev1.ConditionProgressing, metav1.ConditionTrue, cachev1.ReasonScaling, fmt.Sprintf("scaling to %d pods: %d exist, %d ready", want, total, ready))
	case updated != want:
		set(cachev1.ConditionProgressing, metav1.ConditionTrue, cachev1.ReasonRollingOut, fmt.Sprintf("%d/%d pods run the current template", updated, want))
	default:
		set(cachev1.ConditionProgressing, metav1.ConditionFalse, cachev1.ReasonStable, fmt.Sprintf("%d pods, nothing is changing", want))
	}

	if obs.applyErr != nil {
		set(cachev1.ConditionDegraded, metav1.ConditionTrue, cachev1.ReasonReconcileFailed, obs.applyErr.Error())
	} else if msg, failed := deploymentFailure(dep); failed {
		set(cachev1.ConditionDegraded, metav1.ConditionTrue, cachev1.ReasonDeploymentFailed, msg)
	} else if reason, msg, failed := podFailure(obs.pods); failed {
		set(cachev1.ConditionDegraded, metav1.ConditionTrue, reason, msg)
	} else {
		set(cachev1.ConditionDegraded, metav1.ConditionFalse, cachev1.ReasonAsExpected, "no problem seen")
	}
	return st
}

// deploymentFailure reports the Deployment controller's own verdict that
// it cannot make progress: a ReplicaFailure (quota, admission) or a missed
// progress deadline.
func deploymentFailure(dep *appsv1.Deployment) (string, bool) {
	if dep == nil {
		return "", false
	}
	for _, c := range dep.Status.Conditions {
		switch {
		case c.Type == appsv1.DeploymentReplicaFailure && c.Status == corev1.ConditionTrue:
			return "Deployment " + dep.Name + ": " + c.Message, true
		case c.Type == appsv1.DeploymentProgressing && c.Status == corev1.ConditionFalse && c.Reason == "ProgressDeadlineExceeded":
			return "Deployment " + dep.Name + ": " + c.Message, true
		}
	}
	return "", false
}

// prunedFields names the status fields that were written (set in sent) but
// are not stored (zero in got): the API server prunes fields the served CRD's
// schema does not have, which happens while an upgrade has not yet replaced it.
func prunedFields(sent, got cachev1.MemcachedStatus) []string {
	var out []string
	if len(sent.Nodes) > 0 && len(got.Nodes) == 0 {
		out = append(out, "nodes")
	}
	if sent.ReadyReplicas != 0 && got.ReadyReplicas == 0 {
		out = append(out, "readyReplicas")
	}
	if sent.ObservedGeneration != 0 && got.ObservedGeneration == 0 {
		out = append(out, "observedGeneration")
	}
	if len(sent.Conditions) > 0 && len(got.Conditions) == 0 {
		out = append(out, "conditions")
	}
	return out
}

// podWaitingReasons maps what the kubelet says of a waiting container to the
// Degraded reason: states a pod does not leave by itself.
var podWaitingReasons = map[string]string{
	"ErrImagePull":               cachev1.ReasonImagePullFailed,
	"ImagePullBackOff":           cachev1.ReasonImagePullFailed,
	"InvalidImageName":           cachev1.ReasonImagePullFailed,
	"CrashLoopBackOff":           cachev1.ReasonCrashLooping,
	"CreateContainerConfigError": cachev1.ReasonCrashLooping,
	"CreateContainerError":       cachev1.ReasonCrashLooping,
	"RunContainerError":          cachev1.ReasonCrashLooping,
}

// podFailure reports the first pod (by name) that cannot serve for a reason
// that waiting will not fix: its image cannot be pulled, its container keeps
// crashing, or no node can take it. The message names the pod, the container,
// the kubelet's reason and the image, and how many other pods fail; it leaves
// out the kubelet's changing back-off text so the status is written once.
func podFailure(pods []corev1.Pod) (reason, msg string, failed bool) {
	first, count := "", 0
	for i := range pods {
		r, m, ok := onePodFailure(&pods[i])
		if !ok {
			continue
		}
		if count == 0 || pods[i].Name < first {
			first, reason, msg = pods[i].Name, r, m
		}
		count++
	}
	if count > 1 {
		msg += fmt.Sprintf(" (and %d more pods)", count-1)
	}
	return reason, msg, count > 0
}

func onePodFailure(p *corev1.Pod) (reason, msg string, failed bool) {
	if p.DeletionTimestamp != nil {
		return "", "", false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Waiting == nil {
			continue
		}
		if r, ok := podWaitingReasons[cs.State.Waiting.Reason]; ok {
			return r, fmt.Sprintf("pod %s: container %s: %s (image %s)", p.Name, cs.Name, cs.State.Waiting.Reason, cs.Image), true
		}
	}
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodScheduled && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
			return cachev1.ReasonUnschedulable, fmt.Sprintf("pod %s: %s", p.Name, c.Message), true
		}
	}
	return "", "", false
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
