// Package readiness is the one definition of "the Memcached is ready" that the
// demo, the scorecard tests, the end-to-end tests and the benchmarks share: what a
// user checks with kubectl after applying or scaling a Memcached.
package readiness

import (
	"context"
	"fmt"
	"slices"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// Fields says which status fields the served CRD has: the API server prunes the
// others, so a release whose CRD lacks them (0.1.0 has only status.nodes) is
// judged on what it can report.
type Fields struct {
	ObservedGeneration bool
	ReadyReplicas      bool
	Conditions         bool
}

// AllFields is the status of the current API.
var AllFields = Fields{ObservedGeneration: true, ReadyReplicas: true, Conditions: true}

// FieldsOf reads the status fields from the CRD's storage version.
func FieldsOf(crd *apiextensionsv1.CustomResourceDefinition) Fields {
	for _, v := range crd.Spec.Versions {
		if !v.Storage || v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		status := v.Schema.OpenAPIV3Schema.Properties["status"].Properties
		_, gen := status["observedGeneration"]
		_, ready := status["readyReplicas"]
		_, conds := status["conditions"]
		return Fields{ObservedGeneration: gen, ReadyReplicas: ready, Conditions: conds}
	}
	return Fields{}
}

// Memcached decides from the object alone: the status is for the current
// generation, names spec.size pods, counts them ready and says Available. state
// is a one-line account for timeouts.
func Memcached(mc *cachev1.Memcached, f Fields) (ready bool, state string) {
	size := mc.Spec.Size
	st := mc.Status
	ready = len(st.Nodes) == int(size)
	state = fmt.Sprintf("size %d; status.nodes %d", size, len(st.Nodes))
	if f.ReadyReplicas {
		ready = ready && st.ReadyReplicas == size
		state += fmt.Sprintf(", readyReplicas %d", st.ReadyReplicas)
	}
	if f.Conditions {
		available := meta.IsStatusConditionTrue(st.Conditions, cachev1.ConditionAvailable)
		ready = ready && available
		state += fmt.Sprintf(", Available %t", available)
	}
	if f.ObservedGeneration {
		ready = ready && st.ObservedGeneration == mc.Generation
		state += fmt.Sprintf(", observedGeneration %d of %d", st.ObservedGeneration, mc.Generation)
	}
	return ready, state
}

// Check reads the Memcached, its Deployment and its pods: ready when the object
// says so (Memcached) and the cluster agrees: the Deployment wants spec.size pods,
// that many are Ready, and status.nodes names exactly them.
func Check(ctx context.Context, c client.Reader, key client.ObjectKey, f Fields) (bool, string, error) {
	mc := &cachev1.Memcached{}
	if err := c.Get(ctx, key, mc); err != nil {
		return false, "", err
	}
	ready, state := Memcached(mc, f)
	dep := &appsv1.Deployment{}
	if err := c.Get(ctx, key, dep); err != nil {
		if apierrors.IsNotFound(err) {
			return false, "no Deployment " + key.String() + " (is the operator running?); " + state, nil
		}
		return false, "", err
	}
	replicas := int32(1)
	if dep.Spec.Replicas != nil {
		replicas = *dep.Spec.Replicas
	}
	pods, err := readyPods(ctx, c, dep)
	if err != nil {
		return false, "", err
	}
	nodes := slices.Clone(mc.Status.Nodes)
	slices.Sort(nodes)
	ready = ready && replicas == mc.Spec.Size && len(pods) == int(mc.Spec.Size) && slices.Equal(nodes, pods)
	return ready, fmt.Sprintf("%s; Deployment replicas %d, pods ready %d", state, replicas, len(pods)), nil
}

// Options of WaitFor.
type Options struct {
	// Fields the served CRD has; AllFields when nil.
	Fields *Fields
	// Image, when set, is the memcached image every pod must run: after an
	// upgrade that changes it, the old pods keep the Memcached ready until
	// the new operator has replaced them.
	Image string
	// Wait sets the timeout and interval; its What is filled in.
	Wait wait.Options
}

// WaitFor waits until Check says the Memcached is ready.
func WaitFor(ctx context.Context, c client.Reader, key client.ObjectKey, o Options) error {
	f := AllFields
	if o.Fields != nil {
		f = *o.Fields
	}
	wo := o.Wait
	if wo.What == "" {
		wo.What = fmt.Sprintf("Memcached %s to be ready", key)
	}
	return wait.For(ctx, wo, func(ctx context.Context) (bool, string, error) {
		ready, state, err := Check(ctx, c, key, f)
		if err != nil || !ready || o.Image == "" {
			return ready, state, err
		}
		return runImage(ctx, c, key, o.Image)
	})
}

// runImage says whether every pod status.nodes lists runs image.
func runImage(ctx context.Context, c client.Reader, key client.ObjectKey, image string) (bool, string, error) {
	pods, err := ListedPods(ctx, c, key)
	if err != nil {
		return false, "", client.IgnoreNotFound(err)
	}
	for _, p := range pods {
		if got := p.Spec.Containers[0].Image; got != image {
			return false, fmt.Sprintf("pod %s runs %s, want %s", p.Name, got, image), nil
		}
	}
	return true, fmt.Sprintf("%d pods run %s", len(pods), image), nil
}

// ListedPods are the pods the Memcached's status.nodes names.
func ListedPods(ctx context.Context, c client.Reader, key client.ObjectKey) ([]corev1.Pod, error) {
	mc := &cachev1.Memcached{}
	if err := c.Get(ctx, key, mc); err != nil {
		return nil, err
	}
	pods := make([]corev1.Pod, len(mc.Status.Nodes))
	for i, name := range mc.Status.Nodes {
		if err := c.Get(ctx, client.ObjectKey{Namespace: key.Namespace, Name: name}, &pods[i]); err != nil {
			return nil, err
		}
	}
	return pods, nil
}

// readyPods names the Deployment's pods that are Ready and not being deleted, sorted.
func readyPods(ctx context.Context, c client.Reader, dep *appsv1.Deployment) ([]string, error) {
	sel, err := metav1.LabelSelectorAsSelector(dep.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("Deployment %s/%s selector: %w", dep.Namespace, dep.Name, err)
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(dep.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, err
	}
	var names []string
	for i := range pods.Items {
		if p := &pods.Items[i]; p.DeletionTimestamp == nil && podstatus.Ready(p) {
			names = append(names, p.Name)
		}
	}
	slices.Sort(names)
	return names, nil
}
