// Package controller holds the Memcached reconciler.
package controller

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
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

// errNameTooLong marks a Memcached whose name cannot label its pods. The
// name is immutable, so retrying cannot fix it.
var errNameTooLong = errors.New("recreate it with a name of at most 63 characters")

// foreignRetry is how often a Memcached blocked by a foreign Deployment is
// looked at again.
const foreignRetry = time.Minute

// conflictRetry is how soon a Memcached whose Deployment write met a
// conflict is reconciled again.
const conflictRetry = time.Second

// prunedRetry is how soon a Memcached whose status the API server pruned is
// written again: during an upgrade the operator can start before the CRD with
// the new status fields is served, and nothing else would queue it again.
const prunedRetry = 10 * time.Second

// defaultProgressInterval bounds how often a status that only reports progress
// (not yet Available, not Degraded) is written for one Memcached. The
// first status of a generation and every final one (Available, Degraded, or
// no longer Available) are written at once; in between, pods become ready
// one by one, and a write per pod costs the API server more than it tells
// anyone. The first progress write waits two intervals after the
// generation's first status, later ones one: a rollout that ends within a
// minute costs two writes (first and final) however many workers reconcile
// and however loaded the cluster (B1 at N=1000: p95 under 60 s from the first
// status to the final one), while a long rollout still shows progress twice
// a minute.
const defaultProgressInterval = 30 * time.Second

// MemcachedReconciler keeps a Deployment of spec.size memcached pods for
// every Memcached and reports what it sees in status.
type MemcachedReconciler struct {
	client.Client
	// APIReader reads around the cache: a Deployment whole, before it is
	// written (the cache keeps a slim copy, see CacheOptions). The
	// manager's API reader when nil.
	APIReader client.Reader
	Scheme    *runtime.Scheme
	Recorder  recorder.EventRecorder
	Clock     clock.PassiveClock
	Operand   Operand
	// ProgressInterval overrides defaultProgressInterval (zero: the default).
	ProgressInterval time.Duration

	// lastWrite is when each Memcached's status was last written.
	lastWrite sync.Map // types.NamespacedName -> statusWrite
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
		if apierrors.IsNotFound(err) {
			r.lastWrite.Delete(req.NamespacedName)
		}
		return ctrl.Result{}, client.IgnoreNotFound(err)
	}
	if !mc.DeletionTimestamp.IsZero() {
		// Owner references let the garbage collector remove the Deployment.
		return ctrl.Result{}, nil
	}

	if err := checkName(mc); err != nil {
		// Nothing to create: say why, once, and wait for a person.
		status := computeStatus(mc, observation{applyErr: err}, metav1.NewTime(r.Clock.Now()))
		_, perr := r.patchStatus(ctx, mc, status)
		return ctrl.Result{}, perr
	}
	dep, created, applyErr := r.ensureDeployment(ctx, mc)
	if created {
		// Nothing to report yet: the Deployment's first status update and
		// its pods queue this Memcached again, and the status written then
		// says more. One write fewer per Memcached.
		return ctrl.Result{}, nil
	}
	if apierrors.IsConflict(applyErr) {
		// Someone wrote the Deployment between our read and our write. Its
		// watch event may never come (relabelled, it left the cache), so
		// look again soon, quietly: nothing is wrong with the Memcached.
		log.FromContext(ctx).V(1).Info("Deployment changed under us, retrying")
		return ctrl.Result{RequeueAfter: conflictRetry}, nil
	}
	pods, err := r.listPods(ctx, mc)
	if err != nil {
		return ctrl.Result{}, err
	}

	now := r.Clock.Now()
	status := computeStatus(mc, observation{deployment: dep, pods: pods, applyErr: applyErr}, metav1.NewTime(now))
	if wait := r.holdProgress(req.NamespacedName, mc.Status, status, now); wait > 0 {
		return ctrl.Result{RequeueAfter: wait}, nil
	}
	progress := progressOnly(mc.Status, status)
	pruned, err := r.patchStatus(ctx, mc, status)
	if err != nil {
		return ctrl.Result{}, err
	}
	r.lastWrite.Store(req.NamespacedName, statusWrite{at: now, progress: progress})
	if len(pruned) > 0 {
		log.FromContext(ctx).Info("the API server dropped status fields; is the CRD with them served yet? writing again later",
			"fields", pruned, "retry", prunedRetry)
		return ctrl.Result{RequeueAfter: prunedRetry}, nil
	}
	if errors.Is(applyErr, errNotOurs) {
		return ctrl.Result{RequeueAfter: foreignRetry}, nil
	}
	return ctrl.Result{}, applyErr
}

// ensureDeployment creates the Deployment (created is then true) or brings
// the fields the operator owns back to what mc asks for. It writes only
// when something differs.
func (r *MemcachedReconciler) ensureDeployment(ctx context.Context, mc *cachev1.Memcached) (dep *appsv1.Deployment, created bool, err error) {
	desired := desiredDeployment(mc, r.Operand)
	if err := controllerutil.SetControllerReference(mc, desired, r.Scheme); err != nil {
		return nil, false, fmt.Errorf("set owner of Deployment %s: %w", desired.Name, err)
	}

	current := &appsv1.Deployment{}
	err = r.Get(ctx, client.ObjectKeyFromObject(desired), current)
	if apierrors.IsNotFound(err) {
		err = r.Create(ctx, desired)
		if err == nil {
			r.Recorder.Eventf(mc, desired, corev1.EventTypeNormal, EventCreated, "Create", "created Deployment %s with %d pods", desired.Name, mc.Spec.Size)
			return desired, true, nil
		}
		if !apierrors.IsAlreadyExists(err) {
			r.Recorder.Eventf(mc, nil, corev1.EventTypeWarning, EventFailed, "Create", "create Deployment %s: %v", desired.Name, err)
			return nil, false, err
		}
		// The cache holds only Deployments labelled as ours: this one lost
		// the label, or is someone else's. current stays empty: not in sync.
	} else if err != nil {
		return nil, false, fmt.Errorf("get Deployment %s: %w", desired.Name, err)
	}
	if current.UID != "" && !metav1.IsControlledBy(current, mc) {
		return nil, false, fmt.Errorf("Deployment %s is controlled by another owner: %w", current.Name, errNotOurs)
	}
	if current.UID != "" && inSync(current, desired) {
		return current, false, nil
	}

	// The cached copy has no pod template to write back: read the whole
	// Deployment, merge what the operator owns, write only if that changed it.
	live := &appsv1.Deployment{}
	if err := r.APIReader.Get(ctx, client.ObjectKeyFromObject(desired), live); err != nil {
		return nil, false, fmt.Errorf("get Deployment %s: %w", desired.Name, err)
	}
	if !metav1.IsControlledBy(live, mc) {
		err := fmt.Errorf("a Deployment named %s exists that this operator does not manage: %w", desired.Name, errNotOurs)
		if current.UID != "" {
			err = fmt.Errorf("Deployment %s is controlled by another owner: %w", live.Name, errNotOurs)
		}
		r.Recorder.Eventf(mc, nil, corev1.EventTypeWarning, EventFailed, "Create", "create Deployment %s: %v", desired.Name, err)
		return nil, false, err
	}
	if current.UID == "" {
		current = live
	}
	updated := live.DeepCopy()
	mergeDeployment(updated, desired)
	if equality.Semantic.DeepEqual(live, updated) {
		return live, false, nil
	}
	if err := r.Update(ctx, updated); err != nil {
		return current, false, fmt.Errorf("update Deployment %s: %w", current.Name, err)
	}
	if from, to := ptr.Deref(live.Spec.Replicas, 1), mc.Spec.Size; from != to {
		r.Recorder.Eventf(mc, updated, corev1.EventTypeNormal, EventScaled, "Scale", "scaled Deployment %s from %d to %d pods", updated.Name, from, to)
	}
	return updated, false, nil
}

func (r *MemcachedReconciler) listPods(ctx context.Context, mc *cachev1.Memcached) ([]corev1.Pod, error) {
	pods := &corev1.PodList{}
	if err := r.List(ctx, pods, client.InNamespace(mc.Namespace), client.MatchingLabels(selectorLabels(mc))); err != nil {
		return nil, fmt.Errorf("list pods of Memcached %s: %w", mc.Name, err)
	}
	return pods.Items, nil
}

// statusWrite is when a Memcached's status was last written, and whether
// that write only reported progress.
type statusWrite struct {
	at       time.Time
	progress bool
}

// progressOnly says whether status, against the stored old, only reports
// more progress of the same generation: not a new generation, not final,
// not a loss of availability.
func progressOnly(old, status cachev1.MemcachedStatus) bool {
	return !equality.Semantic.DeepEqual(old, status) && old.ObservedGeneration == status.ObservedGeneration &&
		!meta.IsStatusConditionTrue(status.Conditions, cachev1.ConditionAvailable) &&
		!meta.IsStatusConditionTrue(status.Conditions, cachev1.ConditionDegraded) &&
		!meta.IsStatusConditionTrue(old.Conditions, cachev1.ConditionAvailable)
}

// holdProgress says how long to wait before writing status, when it only
// reports progress and the last write was too recent (see
// defaultProgressInterval); zero means write now (or nothing changed).
func (r *MemcachedReconciler) holdProgress(key types.NamespacedName, old, status cachev1.MemcachedStatus, now time.Time) time.Duration {
	if !progressOnly(old, status) {
		return 0
	}
	v, ok := r.lastWrite.Load(key)
	if !ok {
		return 0
	}
	last := v.(statusWrite)
	wait := r.ProgressInterval
	if wait == 0 {
		wait = defaultProgressInterval
	}
	if !last.progress {
		wait *= 2
	}
	if since := now.Sub(last.at); since < wait {
		return wait - since
	}
	return 0
}

// patchStatus writes status with a merge patch, and only when it changed,
// so an idle reconcile makes no request that writes. It returns the fields
// the API server did not keep (see prunedFields).
func (r *MemcachedReconciler) patchStatus(ctx context.Context, mc *cachev1.Memcached, status cachev1.MemcachedStatus) ([]string, error) {
	if equality.Semantic.DeepEqual(mc.Status, status) {
		return nil, nil
	}
	base := mc.DeepCopy()
	mc.Status = status
	if err := r.Status().Patch(ctx, mc, client.MergeFrom(base)); err != nil {
		return nil, client.IgnoreNotFound(fmt.Errorf("patch status of Memcached %s: %w", mc.Name, err))
	}
	// The patch response is the object as stored.
	return prunedFields(status, mc.Status), nil
}

// SetupWithManager watches Memcacheds, the Deployments they own, and their
// pods, so that status follows pods without polling.
func (r *MemcachedReconciler) SetupWithManager(mgr ctrl.Manager, opts controller.Options) error {
	if r.Clock == nil {
		r.Clock = clock.RealClock{}
	}
	if r.APIReader == nil {
		r.APIReader = mgr.GetAPIReader()
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
