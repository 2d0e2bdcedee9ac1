package wait

import (
	"context"
	"fmt"
	"strings"

	"github.com/example-inc/memcached-operator/internal/podstatus"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// RolledOut is the one definition of "a Deployment is rolled out": its status
// says so (StatusRolledOut) and no pod of an earlier spec, nor a terminating
// one, is left among those its selector lists. pods are the pods the selector
// lists; state is a short account for a timeout message.
func RolledOut(d *appsv1.Deployment, pods []corev1.Pod) (done bool, state string) {
	done, state = StatusRolledOut(d)
	return done && len(pods) == int(ptr.Deref(d.Spec.Replicas, 1)), fmt.Sprintf("%s, %d pods", state, len(pods))
}

// StatusRolledOut is what a Deployment's own status says of its rollout: the
// controller has seen its current spec, and every replica it wants runs that
// spec and is available, with none of an earlier spec counted. It is
// RolledOut for a caller that sees only the Deployment (a watch).
func StatusRolledOut(d *appsv1.Deployment) (done bool, state string) {
	want := ptr.Deref(d.Spec.Replicas, 1)
	st := d.Status
	state = fmt.Sprintf("generation %d observed %d, want %d, updated %d, available %d, total %d",
		d.Generation, st.ObservedGeneration, want, st.UpdatedReplicas, st.AvailableReplicas, st.Replicas)
	done = st.ObservedGeneration >= d.Generation &&
		st.UpdatedReplicas == want && st.AvailableReplicas == want && st.Replicas == want
	return done, state
}

// DeploymentRolledOut waits until the Deployment key is rolled out (RolledOut).
// On timeout the error carries DescribeDeployment's diagnosis. What and
// Diagnose in o are filled in when empty.
func DeploymentRolledOut(ctx context.Context, c client.Reader, key client.ObjectKey, o Options) error {
	if o.What == "" {
		o.What = "Deployment " + key.String() + " to roll out"
	}
	if o.Diagnose == nil {
		o.Diagnose = func(ctx context.Context) string { return DescribeDeployment(ctx, c, key) }
	}
	return For(ctx, o, func(ctx context.Context) (bool, string, error) {
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, key, d); err != nil {
			return false, err.Error(), client.IgnoreNotFound(err)
		}
		pods, err := selectedPods(ctx, c, d)
		if err != nil {
			return false, err.Error(), nil
		}
		done, state := RolledOut(d, pods)
		return done, state, nil
	})
}

// DescribeDeployment says why a Deployment is not rolled out: its conditions
// that are not True, and each listed pod that is not ready with the reason its
// containers give.
func DescribeDeployment(ctx context.Context, c client.Reader, key client.ObjectKey) string {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, key, d); err != nil {
		return fmt.Sprintf("Deployment %s: %v", key, err)
	}
	var lines []string
	for _, cond := range d.Status.Conditions {
		if cond.Status != corev1.ConditionTrue || cond.Type == appsv1.DeploymentReplicaFailure {
			lines = append(lines, fmt.Sprintf("Deployment %s: %s=%s %s: %s", key, cond.Type, cond.Status, cond.Reason, cond.Message))
		}
	}
	pods, err := selectedPods(ctx, c, d)
	if err != nil {
		return strings.Join(append(lines, fmt.Sprintf("pods of %s: %v", key, err)), "\n")
	}
	for i := range pods {
		if p := &pods[i]; p.DeletionTimestamp != nil || len(podstatus.Problems(p)) > 0 {
			lines = append(lines, "pod "+p.Name+": "+podstatus.Describe(p))
		}
	}
	return strings.Join(lines, "\n")
}

// selectedPods lists the pods the Deployment's selector picks in its namespace.
func selectedPods(ctx context.Context, c client.Reader, d *appsv1.Deployment) ([]corev1.Pod, error) {
	if d.Spec.Selector == nil {
		return nil, fmt.Errorf("Deployment %s/%s has no selector", d.Namespace, d.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("Deployment %s/%s selector: %w", d.Namespace, d.Name, err)
	}
	var pods corev1.PodList
	if err := c.List(ctx, &pods, client.InNamespace(d.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	return pods.Items, nil
}
