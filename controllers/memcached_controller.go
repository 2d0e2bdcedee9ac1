// Package controllers holds the Memcached reconciler.
package controllers

import (
	"context"
	"errors"
	"fmt"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/controller/controllerutil"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/recorder"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// Event reasons.
const (
	EventCreated = "Created"
	EventScaled  = "Scaled"
	EventFailed  = "Failed"
)

// errNotOurs marks a Deployment of the wanted name that another owner holds.
// Retrying fast cannot fix it; a person has to rename or delete one of them.
var errNotOurs = errors.New("rename the Memcached or delete the Deployment")

// foreignRetry is how often a Memcached blocked by a foreign Deployment is
// looked at again.
const foreignRetry = time.Minute

// MemcachedReconciler keeps a Deployment of spec.size memcached pods for
// every Memcached and reports what it sees in status.
type MemcachedReconciler struct {
	client.Client
	Scheme   *runtime.Scheme
	Recorder recorder.EventRecorder
	Clock    clock.PassiveClock
	Operand  Operand
}

// +kubebuilder:rbac:groups=cache.example.com,resources=memcacheds,verbs=get;list;watch
// +kubebuilder:rbac:groups=cache.example.com,resources=memcacheds/status,verbs=get;patch
// +kubebuilder:rbac:groups=cache.example.com,resources=memcacheds/finalizers,verbs=update
// +kubebuilder:rbac:groups=apps,resources=deployments,verbs=get;list;watch;create;update
// +kubebuilder:rbac:groups=core,resources=pods,verbs=get;list;watch
// +kubebuilder:rbac:groups=events.k8s.io,resources=events,verbs=create;patch

// Reconcile fetches the Memcached, makes its Deployment match spec.size and
// the operand configuration, then writes status if it changed.
func (r *MemcachedReconciler) Reconcile(ctx context.Context, req ctrl.Request) (ctrl.Result, error) {
	mc := &cachev1.Memcached{}
	if err := r.Get(ctx, req.NamespacedName, mc); err != nil {
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mc.DeletionTimestamp.IsZero() {
		// Owner references let the garbage collector remove the Deployment.
		return ctrl.Result{}, nil
	}

	dep, applyErr := r.ensureDeployment(ctx, mc)
	if apierrors.IsConflict(applyErr) {
		// Our cached copy was stale; the watch event of the newer version
		// has queued this object again.
		log.FromContext(ctx).V(1).Info("Deployment changed under us, retrying")
		return ctrl.Result{}, nil
	}
	pods, err := r.listPods(ctx, mc)
	if err != nil {
		return ctrl.Result{}, err
	}

	status := computeStatus(mc, observation{deployment: dep, pods: pods, applyErr: applyErr}, metav1.NewTime(r.Clock.Now()))
	if err := r.patchStatus(ctx, mc, status); err != nil {
		return ctrl.Result{}, err
	}
	if errors.Is(applyErr, errNotOurs) {
		return ctrl.Result{RequeueAfter: foreignRetry}, nil
	}
	return ctrl.Result{}, applyErr
}

// ensureDeployment creates the Deployment or brings the fields the operator
// owns back to what mc asks for. It writes only when something differs.
func (r *MemcachedReconciler) ensureDeployment(ctx context.Context, mc *cachev1.Memcached) (*appsv1.Deployment, error) {
	desired := desiredDeployment(mc, r.Operand)
	if err := controllerutil.SetControllerReference(mc, desired, r.Scheme); err != nil {
		return nil, fmt.Errorf("set owner of Deployment %s: %w", desired.Name, err)
	}

	current := &appsv1.Deployment{}
	err := r.Get(ctx, client.ObjectKeyFromObject(desired), current)
	if apierrors.IsNotFound(err) {
		if err := r.Create(ctx, desired); err != nil {
			if apierrors.IsAlreadyExists(err) {
				err = fmt.Errorf("a Deployment named %s exists that this operator does not manage: %w", desired.Name, errNotOurs)
			}
			r.Recorder.Eventf(mc, nil, corev1.EventTypeWarning, EventFailed, "Create", "create Deployment %s: %v", desired.Name, err)
			return nil, err
		}
		r.Recorder.Eventf(mc, desired, corev1.EventTypeNormal, EventCreated, "Create", "created Deployment %s with %d pods", desired.Name, mc.Spec.Size)
		return desired, nil
	}
	if err != nil {
		return nil, fmt.Errorf("get Deployment %s: %w", desired.Name, err)
	}
	if !metav1.IsControlledBy(current, mc) {
		return nil, fmt.Errorf("Deployment %s is controlled by another owner: %w", current.Name, errNotOurs)
	}

	updated := current.DeepCopy()
	mergeDeployment(updated, desired)
	if equality.Semantic.DeepEqual(current, updated) {
		return current, nil
	}
	if err := r.Update(ctx, updated); err != nil {
		return current, fmt.Errorf("update Deployment %s: %w", current.Name, err)
	}
	if from, to := ptr.Deref(current.Spec.Replicas, 1), mc.Spec.Size; from != to {
		r.Recorder.Eventf(mc, updated, corev1.EventTypeNormal, EventScaled, "Scale", "scaled Deployment %s from %d to %d pods", updated.Name, from, to)
	}
	return updated, nil
}

func (r *MemcachedReconciler) listPods(ctx context.Context, mc *cachev1.Memcached) ([]corev1.Pod, error) {
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(mc.Namespace), client.MatchingLabels(selectorLabels(mc))); err != nil {
		return nil, fmt.Errorf("list pods of Memcached %s: %w", mc.Name, err)
	}
	return pods.Items, nil
}

// patchStatus writes status with a merge patch, and only when it changed,
// so an idle reconcile makes no request that writes.
func (r *MemcachedReconciler) patchStatus(ctx context.Context, mc *cachev1.Memcached, status cachev1.MemcachedStatus) error {
	if equality.Semantic.DeepEqual(mc.Status, status) {
		return nil
	}
	base := mc.DeepCopy()
	mc.Status = status
	if err := r.Status().Patch(ctx, mc, client.MergeFrom(base)); err != nil {
		return client.IgnoreNotFound(fmt.Errorf("patch status of Memcached %s: %w", mc.Name, err))
	}
	return nil
}

// SetupWithManager watches Memcacheds, the Deployments they own, and their
// pods, so that status follows pods without polling.
func (r *MemcachedReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	return ctrl.NewControllerManagedBy(mgr).
		For(&cachev1.Memcached{}, builder.WithPredicates(predicate.GenerationChangedPredicate{})).
		Owns(&appsv1.Deployment{}).
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToMemcached)).
		WithOptions(opts).
		Named("memcached").
		Complete(r)
}

// podToMemcached maps a pod to the Memcached named by its instance label.
func podToMemcached(_ context.Context, o client.Object) []reconcile.Request {
	l := o.GetLabels()
	if l[LabelName] != AppName || l[LabelManagedBy] != ManagerName || l[LabelInstance] == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: types.NamespacedName{Namespace: o.GetNamespace(), Name: l[LabelInstance]}}}
}
