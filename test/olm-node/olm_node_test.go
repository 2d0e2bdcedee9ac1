//go:build olmnode

// Package olmnode proves OLM running in the cluster (make olm-up
// OLM_LANE=in-cluster, on the real node) does what it does on any cluster
// with our images: it runs the registry pod of our catalog image and
// connects to it, unpacks our bundle image with a Job, and runs the operator
// from our operator image, every pod on the real node under the restricted
// Pod Security Standard.
//
// Run with make test-olm-node: it builds and pushes the catalog, bundle and
// operator images first.
package olmnode

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

const (
	// olmNamespace is where make olm-up OLM_LANE=in-cluster runs OLM.
	olmNamespace = "olm"
	// catalogSourceLabel names the CatalogSource on the registry pods OLM runs.
	catalogSourceLabel = olm.CatalogSourceLabel
	// bundleUnpackRefLabel names the ConfigMap an unpack Job fills (OLM's
	// bundle.BundleUnpackRefLabel).
	bundleUnpackRefLabel = "operatorframework.io/bundle-unpack-ref"
	// bundleLookupPacked is the condition OLM removes from a bundle lookup once
	// the unpacked bundle is in the InstallPlan's steps (OLM's
	// resolver.BundleLookupConditionPacked).
	bundleLookupPacked operatorsv1alpha1.BundleLookupConditionType = "BundleLookupNotPersisted"
	// workloadUserID is the uid --set-workload-user-id gives OLM's workloads.
	workloadUserID = int64(1001)

	// catalogTimeout bounds pulling the catalog image and starting its
	// registry pod; installTimeout resolving, unpacking and installing.
	catalogTimeout = framework.CatalogTimeout
	installTimeout = framework.InstallTimeout
)

// env is what the test reads from make test-olm-node and finds in the cluster.
type env struct {
	k8s client.Client
	olm *olm.Client
	// catalogImage, bundleImage and operatorImage are the images under test.
	catalogImage, bundleImage, operatorImage string
	pkg, csv, channel                        string
	// node is the real node's name; ns the test's namespace.
	node, ns string
	// lane is the real-node lane (test/framework) of the shared steps,
	// enforcing restricted.
	lane *framework.NodeLane
}

func TestMain(m *testing.M) {
	// The clients log through controller-runtime; these tests read its objects instead.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

func setup(t *testing.T) (context.Context, *env) {
	t.Helper()
	e := &env{
		catalogImage: framework.Env(t, "CATALOG_IMG", "test-olm-node"), bundleImage: framework.Env(t, "BUNDLE_IMG", "test-olm-node"), operatorImage: framework.Env(t, "IMG", "test-olm-node"),
		pkg: framework.Env(t, "PACKAGE", "test-olm-node"), channel: framework.Env(t, "CHANNEL", "test-olm-node"),
	}
	e.csv = e.pkg + ".v" + framework.Env(t, "VERSION", "test-olm-node")
	c, err := kubeclient.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	e.k8s, e.olm = c, &olm.Client{Client: c}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	t.Cleanup(cancel)
	e.node = realNode(ctx, t, c)
	requireOLMInCluster(ctx, t, c, e.node)
	cs, err := kubeclient.NewClientset()
	if err != nil {
		t.Fatal(err)
	}
	e.lane = &framework.NodeLane{Client: e.olm, Clientset: cs, Pkg: e.pkg, CatalogImage: e.catalogImage, Node: e.node, Level: "restricted"}
	e.ns = namespace(t, e, "restricted")
	return ctx, e
}

// TestInstallFromCatalogImage: a CatalogSource naming our catalog image
// connects (OLM runs its registry pod), a Subscription to the channel's
// version installs it (OLM unpacks the bundle image with a Job) and the
// operator runs from our image on the real node; having reconciled, it
// holds no permission beyond its namespace (checkLeastPrivilege).
func TestInstallFromCatalogImage(t *testing.T) {
	ctx, e := setup(t)
	sub := e.pkg + "-sub"
	// On failure, what OLM reports and what the node does with the pods,
	// before the namespace goes.
	t.Cleanup(func() {
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			t.Logf("what OLM reports:\n%s%s", e.olm.Diagnose(ctx, e.ns, sub), e.describePods(ctx))
		}
	})

	start := time.Now()
	cs := e.lane.ServeCatalog(ctx, t, e.ns)
	t.Logf("CatalogSource %s READY after %s", cs, since(start))
	e.checkRegistryPod(ctx, t, cs)

	start = time.Now()
	framework.Subscribe(ctx, t, framework.SubscribeInput{Lane: e.lane, Namespace: e.ns, CatalogSource: cs, Channel: e.channel, StartingCSV: e.csv, Approval: operatorsv1alpha1.ApprovalAutomatic})
	if err := e.olm.WaitForCSV(within(ctx, t, installTimeout), e.ns, e.csv, sub); err != nil {
		t.Fatal(err)
	}
	t.Logf("ClusterServiceVersion %s Succeeded after %s", e.csv, since(start))
	e.checkBundleUnpacked(ctx, t, sub)
	e.checkOperatorPod(ctx, t)
	e.checkMemcachedServes(ctx, t)
	e.checkLeastPrivilege(ctx, t)
}

// checkMemcachedServes: the operator OLM installed reconciles a Memcached in
// the namespace it watches, scaled 3, 5, 1; every pod status.nodes lists runs
// on the real node and answers a memcached client.
func (e *env) checkMemcachedServes(ctx context.Context, t *testing.T) {
	t.Helper()
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: "memcached-sample", Namespace: e.ns}, Spec: cachev1.MemcachedSpec{Size: 3}}
	if err := e.k8s.Create(ctx, mc); err != nil {
		t.Fatal(err)
	}
	for _, size := range []int32{3, 5, 1} {
		start := time.Now()
		framework.Scale(ctx, t, e.k8s, mc, size)
		framework.AssertServes(ctx, t, e.k8s, mc, fmt.Sprintf("olm-size-%d", size))
		t.Logf("Memcached %s at size %d ready and answering after %s", mc.Name, size, since(start))
	}
}

// checkRegistryPod: the catalog is served by a pod OLM made from our catalog
// image, running on the real node as OLM's workload user.
func (e *env) checkRegistryPod(ctx context.Context, t *testing.T, cs string) {
	t.Helper()
	pods := e.pods(ctx, t, client.MatchingLabels{catalogSourceLabel: cs})
	if len(pods) != 1 {
		t.Fatalf("CatalogSource %s: want 1 registry pod, got %d", cs, len(pods))
	}
	p := pods[0]
	e.lane.CheckOnRealNode(t, &p, corev1.PodRunning)
	if got := p.Spec.Containers[0].Image; got != e.catalogImage {
		t.Errorf("registry pod %s runs %s, want the catalog image %s", p.Name, got, e.catalogImage)
	}
	if sc := p.Spec.SecurityContext; sc == nil || sc.RunAsUser == nil || *sc.RunAsUser != workloadUserID {
		t.Errorf("registry pod %s: want runAsUser %d (--set-workload-user-id), got %+v", p.Name, workloadUserID, sc)
	}
	svc := &corev1.Service{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: cs}, svc); err != nil {
		t.Errorf("the registry Service OLM dials: %v", err)
	}
	t.Logf("registry pod %s on node %s from %s (%s)", p.Name, p.Spec.NodeName, e.catalogImage, p.Status.ContainerStatuses[0].ImageID)
}

// checkBundleUnpacked: the catalog names the bundle by image, so OLM pulled
// it: the InstallPlan's bundle lookup for our bundle image completed, its
// steps come from the ConfigMap the unpack Job filled, and that Job ran the
// bundle image on the real node.
func (e *env) checkBundleUnpacked(ctx context.Context, t *testing.T, sub string) {
	t.Helper()
	plan := e.installPlan(ctx, t, sub)
	i := slices.IndexFunc(plan.Status.BundleLookups, func(l operatorsv1alpha1.BundleLookup) bool { return l.Path == e.bundleImage })
	if i < 0 {
		t.Fatalf("InstallPlan %s: no bundle lookup for %s (the catalog must name the bundle by image): %+v", plan.Name, e.bundleImage, plan.Status.BundleLookups)
	}
	lookup := plan.Status.BundleLookups[i]
	if lookup.Identifier != e.csv {
		t.Errorf("bundle lookup %s is for %s, want %s", lookup.Path, lookup.Identifier, e.csv)
	}
	for _, c := range []operatorsv1alpha1.BundleLookupConditionType{operatorsv1alpha1.BundleLookupPending, operatorsv1alpha1.BundleLookupFailed, bundleLookupPacked} {
		if got := lookup.GetCondition(c); got.Status == corev1.ConditionTrue {
			t.Errorf("bundle lookup %s: %s=True (%s: %s), want the lookup complete", lookup.Path, c, got.Reason, got.Message)
		}
	}
	cm := unpackedConfigMap(t, plan)
	e.checkConfigMap(ctx, t, cm)
	e.checkUnpackJob(ctx, t, cm)
}

// installPlan is the plan the Subscription names (complete: its CSV succeeded).
func (e *env) installPlan(ctx context.Context, t *testing.T, sub string) *operatorsv1alpha1.InstallPlan {
	t.Helper()
	s := &operatorsv1alpha1.Subscription{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: sub}, s); err != nil {
		t.Fatal(err)
	}
	if s.Status.InstallPlanRef == nil {
		t.Fatalf("Subscription %s names no InstallPlan", sub)
	}
	plan := &operatorsv1alpha1.InstallPlan{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: s.Status.InstallPlanRef.Name}, plan); err != nil {
		t.Fatal(err)
	}
	if plan.Status.Phase != operatorsv1alpha1.InstallPlanPhaseComplete {
		t.Errorf("InstallPlan %s: phase %s, want Complete", plan.Name, plan.Status.Phase)
	}
	return plan
}

// unpackedConfigMap is the ConfigMap an unpacked bundle's steps refer to:
// OLM replaces each step's manifest with such a reference.
func unpackedConfigMap(t *testing.T, plan *operatorsv1alpha1.InstallPlan) string {
	t.Helper()
	names := map[string]bool{}
	for _, s := range plan.Status.Plan {
		var ref struct{ Kind, Name string }
		if s.Resource.Manifest == "" || json.Unmarshal([]byte(s.Resource.Manifest), &ref) != nil || ref.Kind != "ConfigMap" {
			continue
		}
		names[ref.Name] = true
	}
	if len(names) != 1 {
		t.Fatalf("InstallPlan %s: want the steps of one unpacked bundle ConfigMap, got %v", plan.Name, names)
	}
	for n := range names {
		return n
	}
	return ""
}

// checkConfigMap: the unpacked bundle holds our package and its CSV.
func (e *env) checkConfigMap(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	cm := &corev1.ConfigMap{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, cm); err != nil {
		t.Fatalf("unpacked bundle ConfigMap: %v", err)
	}
	if got := cm.Annotations["operators.operatorframework.io.bundle.package.v1"]; got != e.pkg {
		t.Errorf("ConfigMap %s: bundle package %q, want %q", name, got, e.pkg)
	}
	keys := append(slices.Collect(maps.Keys(cm.Data)), slices.Collect(maps.Keys(cm.BinaryData))...)
	if !slices.ContainsFunc(keys, func(k string) bool { return strings.HasSuffix(k, ".clusterserviceversion.yaml") }) {
		t.Errorf("ConfigMap %s holds no CSV: %v", name, keys)
	}
}

// checkUnpackJob: the Job that filled the ConfigMap pulled our bundle image
// and its pod ran to completion on the real node.
func (e *env) checkUnpackJob(ctx context.Context, t *testing.T, name string) {
	t.Helper()
	job := &batchv1.Job{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, job); err != nil {
		t.Fatalf("unpack Job for ConfigMap %s: %v", name, err)
	}
	if job.Labels[bundleUnpackRefLabel] != name || job.Status.Succeeded < 1 {
		t.Errorf("unpack Job %s: label %s=%q, %d succeeded; want %q and 1", name, bundleUnpackRefLabel, job.Labels[bundleUnpackRefLabel], job.Status.Succeeded, name)
	}
	images := []string{}
	for _, c := range job.Spec.Template.Spec.InitContainers {
		images = append(images, c.Image)
	}
	if !slices.Contains(images, e.bundleImage) {
		t.Errorf("unpack Job %s runs %v, not the bundle image %s", name, images, e.bundleImage)
	}
	pods := e.pods(ctx, t, client.MatchingLabels{"job-name": name})
	if len(pods) == 0 {
		t.Fatalf("unpack Job %s: no pod left to inspect", name)
	}
	for _, p := range pods {
		e.lane.CheckOnRealNode(t, &p, corev1.PodSucceeded)
	}
	took := "?"
	if s, c := job.Status.StartTime, job.Status.CompletionTime; s != nil && c != nil {
		took = c.Sub(s.Time).String()
	}
	t.Logf("unpack Job %s (%s): pod %s Succeeded on node %s, bundle %s", name, took, pods[0].Name, pods[0].Spec.NodeName, e.bundleImage)
}

// checkOperatorPod: the CSV's Deployment runs our operator image on the real node.
func (e *env) checkOperatorPod(ctx context.Context, t *testing.T) {
	t.Helper()
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: e.csv}, csv); err != nil {
		t.Fatal(err)
	}
	for _, spec := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		d := &appsv1.Deployment{}
		if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: spec.Name}, d); err != nil {
			t.Fatal(err)
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			t.Fatal(err)
		}
		pods := e.pods(ctx, t, client.MatchingLabelsSelector{Selector: sel})
		if len(pods) == 0 {
			t.Fatalf("Deployment %s has no pods", d.Name)
		}
		for _, p := range pods {
			e.lane.CheckOnRealNode(t, &p, corev1.PodRunning)
			i := slices.IndexFunc(p.Spec.Containers, func(c corev1.Container) bool { return c.Image == e.operatorImage })
			if i < 0 {
				t.Errorf("operator pod %s does not run %s", p.Name, e.operatorImage)
				continue
			}
			t.Logf("operator pod %s Running on node %s from %s (%s)", p.Name, p.Spec.NodeName, e.operatorImage, containerImageID(p, p.Spec.Containers[i].Name))
		}
	}
}

func (e *env) pods(ctx context.Context, t *testing.T, sel client.ListOption) []corev1.Pod {
	t.Helper()
	pods := &corev1.PodList{}
	if err := e.k8s.List(ctx, pods, client.InNamespace(e.ns), sel); err != nil {
		t.Fatal(err)
	}
	return pods.Items
}

// describePods says what each pod of the test's namespace is doing
// (internal/podstatus), with its latest warning (a failing probe, a failed
// pull): what to look at when OLM's objects stall on the node.
func (e *env) describePods(ctx context.Context) string {
	pods := &corev1.PodList{}
	if err := e.k8s.List(ctx, pods, client.InNamespace(e.ns)); err != nil {
		return fmt.Sprintf("  pods in %s: %v", e.ns, err)
	}
	warnings := e.lastWarnings(ctx)
	var b strings.Builder
	fmt.Fprintf(&b, "  pods in %s:\n", e.ns)
	for i := range pods.Items {
		p := &pods.Items[i]
		fmt.Fprintf(&b, "    %s on %q: %s", p.Name, p.Spec.NodeName, podstatus.Describe(p))
		if w := warnings[p.Name]; w != "" {
			fmt.Fprintf(&b, "; last warning: %s", w)
		}
		b.WriteString("\n")
	}
	return b.String()
}

// lastWarnings is the newest Warning event of each object in the test's
// namespace, by name, as "Reason: message": one List for every pod.
func (e *env) lastWarnings(ctx context.Context) map[string]string {
	events := &corev1.EventList{}
	if err := e.k8s.List(ctx, events, client.InNamespace(e.ns), client.MatchingFields{"type": corev1.EventTypeWarning}); err != nil {
		return nil
	}
	newest := map[string]*corev1.Event{}
	for i := range events.Items {
		ev := &events.Items[i]
		if last := newest[ev.InvolvedObject.Name]; last == nil || ev.LastTimestamp.After(last.LastTimestamp.Time) {
			newest[ev.InvolvedObject.Name] = ev
		}
	}
	out := make(map[string]string, len(newest))
	for name, ev := range newest {
		out[name] = ev.Reason + ": " + strings.TrimSpace(ev.Message)
	}
	return out
}

// realNode is the one node that runs pods (hack/node.sh labels it).
func realNode(ctx context.Context, t *testing.T, c client.Client) string {
	t.Helper()
	nodes := &corev1.NodeList{}
	if err := c.List(ctx, nodes, client.HasLabels{framework.RealNodeLabel}); err != nil {
		t.Fatal(err)
	}
	if len(nodes.Items) != 1 {
		t.Fatalf("want 1 real node (label %s), got %d: start the cluster with make cluster-up NODE_LANE=real", framework.RealNodeLabel, len(nodes.Items))
	}
	return nodes.Items[0].Name
}

// requireOLMInCluster: OLM's two Deployments are rolled out (wait.RolledOut),
// on the real node, and without CI in their environment (with it, OLM panics
// on objects it did not label).
func requireOLMInCluster(ctx context.Context, t *testing.T, c client.Client, node string) {
	t.Helper()
	for _, name := range []string{"olm-operator", "catalog-operator"} {
		key := client.ObjectKey{Namespace: olmNamespace, Name: name}
		if err := wait.DeploymentRolledOut(ctx, c, key, wait.Options{What: "OLM's " + name + " to be available", Timeout: time.Minute}); err != nil {
			t.Fatalf("OLM's %s is not available in namespace %s (%v): run make olm-up OLM_LANE=in-cluster", name, olmNamespace, err)
		}
		d := &appsv1.Deployment{}
		if err := c.Get(ctx, key, d); err != nil {
			t.Fatal(err)
		}
		for _, ctr := range d.Spec.Template.Spec.Containers {
			if slices.ContainsFunc(ctr.Env, func(v corev1.EnvVar) bool { return v.Name == "CI" }) {
				t.Errorf("OLM's %s sets CI: OLM then panics on objects it did not label", name)
			}
		}
		sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
		if err != nil {
			t.Fatalf("OLM's %s selector: %v", name, err)
		}
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(olmNamespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
			t.Fatal(err)
		}
		for _, p := range pods.Items {
			if p.Spec.NodeName != node {
				t.Errorf("OLM's pod %s is on node %q, want the real node %s", p.Name, p.Spec.NodeName, node)
			}
		}
	}
}

// namespace makes the test's namespace, enforcing a Pod Security Standard
// (restricted, or baseline where a released bundle predates restricted) on
// everything OLM runs there, and removes it after (framework.NodeLane).
func namespace(t *testing.T, e *env, level string) string {
	t.Helper()
	lane := *e.lane
	lane.Level = level
	return lane.Namespace(t, "")
}

func containerImageID(p corev1.Pod, name string) string {
	for _, s := range p.Status.ContainerStatuses {
		if s.Name == name {
			return s.ImageID
		}
	}
	return ""
}

// within bounds one step of the test.
func within(ctx context.Context, t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(ctx, d)
	t.Cleanup(cancel)
	return ctx
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
