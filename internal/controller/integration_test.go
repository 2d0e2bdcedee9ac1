package controller

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	eventsv1 "k8s.io/api/events/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"k8s.io/utils/ptr"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/config"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
	"sigs.k8s.io/controller-runtime/pkg/log/zap"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// writeCounter counts the requests that change state (everything but GET,
// HEAD and watches) that pass through a rest.Config.
type writeCounter struct {
	mu     sync.Mutex
	writes int
	// deploymentGets are reads of one Deployment around the cache.
	deploymentGets int
}

func (w *writeCounter) wrap(rt http.RoundTripper) http.RoundTripper {
	return roundTripFunc(func(req *http.Request) (*http.Response, error) {
		w.mu.Lock()
		switch {
		case req.Method != http.MethodGet && req.Method != http.MethodHead:
			w.writes++
		case strings.Contains(req.URL.Path, "/deployments/"):
			w.deploymentGets++
		}
		w.mu.Unlock()
		return rt.RoundTrip(req)
	})
}

func (w *writeCounter) gets() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.deploymentGets
}

func (w *writeCounter) count() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.writes
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

const (
	watchedA  = "watched-a"
	watchedB  = "watched-b"
	unwatched = "unwatched"
)

// TestIntegration runs the reconciler in a manager against a real
// kube-apiserver and etcd. envtest has no controller-manager, so the tests
// play the Deployment controller's part where they need pods or status.
func TestIntegration(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs kube-apiserver and etcd (make test-integration)")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run 'make test-integration', which builds kube-apiserver and etcd into bin/")
	}
	ctrl.SetLogger(zap.New(zap.WriteTo(os.Stderr), zap.UseDevMode(true)))
	it := startIntegration(t)

	t.Run("creates an owned Deployment of spec.size with an Event", it.createsDeployment)
	t.Run("scales 3 to 5 and 5 to 0", it.scales)
	t.Run("reverts manual drift of replicas and image", it.revertsDrift)
	t.Run("recreates a deleted Deployment", it.recreatesDeployment)
	t.Run("status.nodes and Available follow pods", it.statusFollowsPods)
	t.Run("a no-op reconcile writes nothing", it.noopWritesNothing)
	t.Run("the API server rejects size -1 and 101", it.rejectsBadSize)
	t.Run("ignores a Memcached in an unwatched namespace", it.ignoresUnwatched)
	t.Run("reports a foreign Deployment of the same name", it.foreignDeployment)
	// Last: it swaps the CRD for an older release's and back.
	t.Run("status written before the new CRD is served ends complete", it.statusCompleteAfterCRDUpgrade)
}

// startIntegration starts kube-apiserver and etcd with the Memcached CRD,
// creates the test namespaces and runs the operator's manager watching two of
// them. Everything stops when t ends.
func startIntegration(t *testing.T) *integration {
	t.Helper()
	cfg, scheme := startEnvironment(t)
	k8s, err := client.New(cfg, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	for _, ns := range []string{watchedA, watchedB, unwatched} {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
			t.Fatal(err)
		}
	}
	r, writes := startManager(t, ctx, cfg, scheme)
	return &integration{k8s: k8s, r: r, writes: writes, cfg: cfg}
}

// startEnvironment starts envtest's kube-apiserver and etcd with the CRDs of
// config/crd/bases installed, and returns a scheme that knows them.
func startEnvironment(t *testing.T) (*rest.Config, *runtime.Scheme) {
	t.Helper()
	env := &envtest.Environment{
		CRDDirectoryPaths:     []string{filepath.Join("..", "..", "config", "crd", "bases")},
		ErrorIfCRDPathMissing: true,
	}
	cfg, err := env.Start()
	if err != nil {
		t.Fatalf("start envtest: %v", err)
	}
	t.Cleanup(func() { _ = env.Stop() })

	scheme := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	if err := cachev1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	return cfg, scheme
}

// startManager runs the reconciler in a manager watching watchedA and
// watchedB until ctx ends. The operator's own connection counts its writes.
func startManager(t *testing.T, ctx context.Context, cfg *rest.Config, scheme *runtime.Scheme) (*MemcachedReconciler, *writeCounter) {
	t.Helper()
	writes := &writeCounter{}
	opCfg := rest.CopyConfig(cfg)
	opCfg.WrapTransport = writes.wrap
	mgr, err := ctrl.NewManager(opCfg, ctrl.Options{
		Scheme:                 scheme,
		Cache:                  CacheOptions([]string{watchedA, watchedB}),
		Metrics:                metricsserver.Options{BindAddress: "0"},
		HealthProbeBindAddress: "0",
		Controller:             config.Controller{SkipNameValidation: ptr.To(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
	r := &MemcachedReconciler{
		Client:   mgr.GetClient(),
		Scheme:   scheme,
		Recorder: mgr.GetEventRecorder("memcached-operator"),
		Operand:  Operand{Image: "registry.local:5000/memcached@sha256:0123"},
		// Progress (status.nodes following pods before the Deployment is
		// ready) within the tests' timeouts; TestHoldProgress covers the
		// default interval.
		ProgressInterval: time.Second,
	}
	if err := r.SetupWithManager(mgr, controller.Options{}); err != nil {
		t.Fatal(err)
	}
	go func() {
		if err := mgr.Start(ctx); err != nil {
			t.Errorf("manager stopped: %v", err)
		}
	}()
	return r, writes
}

type integration struct {
	k8s    client.Client
	r      *MemcachedReconciler
	writes *writeCounter
	cfg    *rest.Config
}

const (
	timeout = 20 * time.Second
	poll    = 50 * time.Millisecond
)

func (it *integration) newMemcached(t *testing.T, ns, name string, size int32) *cachev1.Memcached {
	t.Helper()
	mc := &cachev1.Memcached{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       cachev1.MemcachedSpec{Size: size},
	}
	if err := it.k8s.Create(context.Background(), mc); err != nil {
		t.Fatalf("create Memcached %s/%s: %v", ns, name, err)
	}
	return mc
}

func (it *integration) deployment(g Gomega, mc *cachev1.Memcached) *appsv1.Deployment {
	d := &appsv1.Deployment{}
	g.Expect(it.k8s.Get(context.Background(), client.ObjectKeyFromObject(mc), d)).To(Succeed())
	return d
}

func (it *integration) eventuallyReplicas(t *testing.T, mc *cachev1.Memcached, want int32) *appsv1.Deployment {
	t.Helper()
	var d *appsv1.Deployment
	NewWithT(t).Eventually(func(g Gomega) {
		d = it.deployment(g, mc)
		g.Expect(d.Spec.Replicas).To(HaveValue(Equal(want)))
	}, timeout, poll).Should(Succeed())
	return d
}

func (it *integration) setSize(t *testing.T, mc *cachev1.Memcached, size int32) {
	t.Helper()
	patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"size":%d}}`, size)))
	if err := it.k8s.Patch(context.Background(), mc, patch); err != nil {
		t.Fatalf("patch size of %s: %v", mc.Name, err)
	}
}

func (it *integration) createsDeployment(t *testing.T) {
	g := NewWithT(t)
	mc := it.newMemcached(t, watchedA, "create", 3)
	d := it.eventuallyReplicas(t, mc, 3)

	g.Expect(metav1.IsControlledBy(d, mc)).To(BeTrue(), "the Deployment must be controlled by the Memcached so deletion cascades")
	c := d.Spec.Template.Spec.Containers[0]
	g.Expect(c.Image).To(Equal("registry.local:5000/memcached@sha256:0123"))
	g.Expect(c.Ports[0].ContainerPort).To(BeEquivalentTo(11211))

	g.Eventually(func(g Gomega) {
		events := &eventsv1.EventList{}
		g.Expect(it.k8s.List(context.Background(), events, client.InNamespace(watchedA))).To(Succeed())
		var reasons []string
		for _, e := range events.Items {
			if e.Regarding.Name == mc.Name {
				reasons = append(reasons, e.Reason)
			}
		}
		g.Expect(reasons).To(ContainElement(EventCreated))
	}, timeout, poll).Should(Succeed())
}

func (it *integration) scales(t *testing.T) {
	mc := it.newMemcached(t, watchedA, "scale", 3)
	it.eventuallyReplicas(t, mc, 3)
	it.setSize(t, mc, 5)
	it.eventuallyReplicas(t, mc, 5)
	it.setSize(t, mc, 0)
	it.eventuallyReplicas(t, mc, 0)
}

func (it *integration) revertsDrift(t *testing.T) {
	g := NewWithT(t)
	mc := it.newMemcached(t, watchedB, "drift", 2)
	d := it.eventuallyReplicas(t, mc, 2)

	d.Spec.Replicas = ptr.To[int32](7)
	d.Spec.Template.Spec.Containers[0].Image = "someone/else:1"
	// Without its managed-by label the Deployment leaves the operator's
	// cache; it is still the Memcached's and must come back.
	d.Labels[LabelManagedBy] = "someone"
	g.Expect(it.k8s.Update(context.Background(), d)).To(Succeed())

	g.Eventually(func(g Gomega) {
		d := it.deployment(g, mc)
		g.Expect(d.Spec.Replicas).To(HaveValue(BeEquivalentTo(2)))
		g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal(it.r.Operand.Image))
		g.Expect(d.Labels).To(HaveKeyWithValue(LabelManagedBy, ManagerName))
	}, timeout, poll).Should(Succeed())
}

func (it *integration) recreatesDeployment(t *testing.T) {
	g := NewWithT(t)
	mc := it.newMemcached(t, watchedA, "recreate", 1)
	old := it.eventuallyReplicas(t, mc, 1)
	g.Expect(it.k8s.Delete(context.Background(), old)).To(Succeed())
	g.Eventually(func(g Gomega) {
		d := it.deployment(g, mc)
		g.Expect(d.UID).NotTo(Equal(old.UID))
	}, timeout, poll).Should(Succeed())
}

// makePod creates a pod as the ReplicaSet controller would, labelled for mc.
func (it *integration) makePod(t *testing.T, mc *cachev1.Memcached, name string) *corev1.Pod {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: mc.Namespace, Name: name, Labels: objectLabels(mc)},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "memcached", Image: "memcached:1"}}},
	}
	if err := it.k8s.Create(context.Background(), p); err != nil {
		t.Fatalf("create pod %s: %v", name, err)
	}
	return p
}

func (it *integration) statusFollowsPods(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	mc := it.newMemcached(t, watchedB, "nodes", 2)
	d := it.eventuallyReplicas(t, mc, 2)

	b := it.makePod(t, mc, "nodes-b")
	it.makePod(t, mc, "nodes-a")
	// A pod of another Memcached in the same namespace is not ours.
	it.makePod(t, &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: watchedB, Name: "other"}}, "other-x")

	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got)).To(Succeed())
		g.Expect(got.Status.Nodes).To(Equal([]string{"nodes-a", "nodes-b"}))
		g.Expect(meta.IsStatusConditionFalse(got.Status.Conditions, cachev1.ConditionAvailable)).To(BeTrue())
	}, timeout, poll).Should(Succeed())

	// The Deployment controller reports both pods ready.
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 2, ReadyReplicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	g.Expect(it.k8s.Status().Update(ctx, d)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, cachev1.ConditionAvailable)).To(BeTrue())
		g.Expect(got.Status.ReadyReplicas).To(BeEquivalentTo(2))
		g.Expect(got.Status.ObservedGeneration).To(Equal(got.Generation))
	}, timeout, poll).Should(Succeed())

	g.Expect(it.k8s.Delete(ctx, b, client.GracePeriodSeconds(0))).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got)).To(Succeed())
		g.Expect(got.Status.Nodes).To(Equal([]string{"nodes-a"}))
	}, timeout, poll).Should(Succeed())
}

func (it *integration) noopWritesNothing(t *testing.T) {
	g := NewWithT(t)
	mc := it.newMemcached(t, watchedA, "idle", 2)
	it.eventuallyReplicas(t, mc, 2)
	// Wait until the operator has nothing left to do: status is written.
	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(context.Background(), client.ObjectKeyFromObject(mc), got)).To(Succeed())
		g.Expect(got.Status.Conditions).To(HaveLen(3))
	}, timeout, poll).Should(Succeed())
	g.Consistently(func() int { return it.writes.count() }, time.Second, poll).Should(Equal(it.writes.count()), "the operator kept writing after it settled")

	before, gets := it.writes.count(), it.writes.gets()
	for range 3 {
		_, err := it.r.Reconcile(context.Background(), ctrl.Request{NamespacedName: client.ObjectKeyFromObject(mc)})
		g.Expect(err).NotTo(HaveOccurred())
	}
	g.Expect(it.writes.count()-before).To(BeZero(), "writes made by three reconciles of a settled Memcached")
	// The cached Deployment's fingerprint of the template the API server
	// defaulted matches the desired one: no read around the cache either.
	g.Expect(it.writes.gets()-gets).To(BeZero(), "Deployments read around the cache by three reconciles of a settled Memcached")
	// It does write when there is something to do: the counter works.
	g.Expect(it.k8s.Delete(context.Background(), &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: watchedA, Name: "idle"}})).To(Succeed())
	g.Eventually(func() int { return it.writes.count() }, timeout, poll).Should(BeNumerically(">", before))
}

func (it *integration) rejectsBadSize(t *testing.T) {
	g := NewWithT(t)
	for _, tc := range []struct {
		size int32
		msg  string
	}{
		{-1, "spec.size: Invalid value: -1: spec.size in body should be greater than or equal to 0"},
		{101, "spec.size: Invalid value: 101: spec.size in body should be less than or equal to 100"},
	} {
		err := it.k8s.Create(context.Background(), &cachev1.Memcached{
			ObjectMeta: metav1.ObjectMeta{Namespace: watchedA, Name: "bad"},
			Spec:       cachev1.MemcachedSpec{Size: tc.size},
		})
		g.Expect(apierrors.IsInvalid(err)).To(BeTrue(), "size %d: got %v", tc.size, err)
		g.Expect(err.Error()).To(ContainSubstring(tc.msg))
	}
}

func (it *integration) ignoresUnwatched(t *testing.T) {
	mc := it.newMemcached(t, unwatched, "ignored", 1)
	NewWithT(t).Consistently(func() bool {
		err := it.k8s.Get(context.Background(), client.ObjectKeyFromObject(mc), &appsv1.Deployment{})
		return apierrors.IsNotFound(err)
	}, 2*time.Second, 100*time.Millisecond).Should(BeTrue(), "a Deployment appeared in a namespace outside WATCH_NAMESPACE")
}

func (it *integration) foreignDeployment(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	labels := map[string]string{"app": "theirs"}
	theirs := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: watchedB, Name: "taken"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "x", Image: "x:1"}}},
			},
		},
	}
	g.Expect(it.k8s.Create(ctx, theirs)).To(Succeed())
	mc := it.newMemcached(t, watchedB, "taken", 1)
	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got)).To(Succeed())
		c := meta.FindStatusCondition(got.Status.Conditions, cachev1.ConditionDegraded)
		g.Expect(c).NotTo(BeNil())
		g.Expect(c.Status).To(Equal(metav1.ConditionTrue))
		g.Expect(c.Reason).To(Equal(cachev1.ReasonReconcileFailed))
		g.Expect(c.Message).To(ContainSubstring("a Deployment named taken exists that this operator does not manage"))
	}, timeout, poll).Should(Succeed())
	d := &appsv1.Deployment{}
	g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(theirs), d)).To(Succeed())
	g.Expect(d.Spec.Template.Spec.Containers[0].Image).To(Equal("x:1"), "the foreign Deployment was changed")
}
