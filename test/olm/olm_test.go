//go:build olm

// Package olm proves the operator's OLM lifecycle on the local cluster with
// the real Operator Lifecycle Manager: run bundle, installs and upgrades
// from the catalog along the paths the graph analysis predicts, channel
// switches, CRs surviving upgrades, and a stalled install explained.
package olm

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	. "github.com/onsi/gomega"
	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/sirupsen/logrus"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/graph"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/scorecard"
	"github.com/example-inc/memcached-operator/test/framework"
)

const (
	pkg     = "memcached-operator"
	timeout = 3 * time.Minute
)

// env is what the tests read from make test-olm, and the simulated lane
// (test/framework) the shared scenarios run in.
type env struct {
	k8s      client.Client
	olm      *olm.Client
	opm      string
	bundle   string
	catalog  string
	stateDir string
	report   *graph.Report
	lane     *framework.SimulatedLane
}

func TestMain(m *testing.M) {
	// operator-registry notes missing optional bundle files at info level.
	logrus.SetLevel(logrus.WarnLevel)
	// The clients log through controller-runtime; these tests read its objects instead.
	ctrllog.SetLogger(logr.Discard())
	os.Exit(m.Run())
}

func setup(t *testing.T) *env {
	t.Helper()
	e := &env{opm: os.Getenv("OPM"), bundle: os.Getenv("BUNDLE_DIR"), catalog: os.Getenv("CATALOG_DIR")}
	manager := os.Getenv("MANAGER_BINARY")
	if e.opm == "" || manager == "" || e.bundle == "" || e.catalog == "" || os.Getenv("KUBECONFIG") == "" {
		t.Fatal("OPM, MANAGER_BINARY, BUNDLE_DIR, CATALOG_DIR and KUBECONFIG must be set: run 'make test-olm'")
	}
	var err error
	if e.k8s, err = kubeclient.NewClient(); err != nil {
		t.Fatal(err)
	}
	e.olm = &olm.Client{Client: e.k8s}
	e.stateDir = t.TempDir()
	e.report = framework.AnalyzeCatalog(t, e.catalog)
	e.lane = &framework.SimulatedLane{Client: e.olm, Pkg: pkg, OPM: e.opm, Manager: manager, CatalogDir: e.catalog, StateDir: e.stateDir}
	return e
}

// namespace makes a fresh namespace for the test; when it ends, the package,
// its CRD and the namespace are removed (framework.Cleanup).
func (e *env) namespace(t *testing.T, prefix string) string {
	t.Helper()
	return e.lane.Namespace(t, prefix)
}

// startOperator runs the stand-in manager for the CSV (framework.SimulatedLane).
func (e *env) startOperator(t *testing.T, ns, csvName string) {
	t.Helper()
	e.lane.RunOperator(context.Background(), t, ns, csvName)
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	t.Cleanup(cancel)
	return ctx
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// run bundle installs the bundle directory, the sample reconciles, and
// cleanup leaves nothing behind.
func TestRunBundleAndCleanup(t *testing.T) {
	e := setup(t)
	ns := e.namespace(t, "run-bundle")
	ctx := ctxT(t)
	start := time.Now()
	inst, err := e.olm.RunBundle(ctx, olm.RunOptions{Bundle: e.bundle, Namespace: ns, OPM: e.opm, StateDir: e.stateDir})
	must(t, err)
	t.Logf("run bundle: %s Succeeded in %s", inst.CSV, time.Since(start).Round(100*time.Millisecond))
	e.checkInstalled(t, ctx, ns, inst)
	e.checkCleanup(t, ctx, ns)
}

// run bundle also takes a bundle image, pulled from a registry: the image is
// built from BUNDLE_DIR, so it installs the same operator as the directory.
func TestRunBundleFromImage(t *testing.T) {
	e := setup(t)
	img := os.Getenv("BUNDLE_IMAGE")
	if img == "" {
		t.Fatal("BUNDLE_IMAGE must name the bundle image in the local registry: run 'make test-olm'")
	}
	ns := e.namespace(t, "run-image")
	ctx := ctxT(t)
	inst, err := e.olm.RunBundle(ctx, olm.RunOptions{Bundle: img, UseHTTP: true, Namespace: ns, OPM: e.opm, StateDir: e.stateDir})
	must(t, err)
	e.checkInstalled(t, ctx, ns, inst)
	e.checkCleanup(t, ctx, ns)
}

// bundleCSV is the CSV of the repository's bundle (BUNDLE_DIR).
func (e *env) bundleCSV(t *testing.T) *operatorsv1alpha1.ClusterServiceVersion {
	t.Helper()
	files, err := atomicdir.Read(e.bundle)
	must(t, err)
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	must(t, yaml.Unmarshal(files["manifests/"+pkg+".clusterserviceversion.yaml"], csv))
	if csv.Name == "" {
		t.Fatalf("%s has no ClusterServiceVersion for %s", e.bundle, pkg)
	}
	return csv
}

// checkInstalled asserts what a user checks after run bundle: the CSV is
// Succeeded at the bundle's version, the operator Deployment it declares
// exists, the CRD it owns is served, and with the operator running a
// Memcached reconciles.
func (e *env) checkInstalled(t *testing.T, ctx context.Context, ns string, inst *olm.Installed) {
	t.Helper()
	want := e.bundleCSV(t)
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	must(t, e.k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: inst.CSV}, csv))
	if csv.Name != want.Name || csv.Spec.Version.String() != want.Spec.Version.String() || csv.Status.Phase != operatorsv1alpha1.CSVPhaseSucceeded {
		t.Fatalf("installed %s version %s phase %s; want %s version %s Succeeded", csv.Name, csv.Spec.Version, csv.Status.Phase, want.Name, want.Spec.Version)
	}
	deps := csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	if len(deps) == 0 {
		t.Fatalf("%s declares no Deployment", csv.Name)
	}
	for _, d := range deps {
		must(t, e.k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: d.Name}, &appsv1.Deployment{}))
	}
	if !slices.ContainsFunc(csv.Spec.CustomResourceDefinitions.Owned, func(d operatorsv1alpha1.CRDDescription) bool { return d.Name == cachev1.CRDName }) {
		t.Errorf("%s does not own %s", csv.Name, cachev1.CRDName)
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	must(t, e.k8s.Get(ctx, types.NamespacedName{Name: cachev1.CRDName}, crd))
	served := slices.ContainsFunc(crd.Spec.Versions, func(v apiextensionsv1.CustomResourceDefinitionVersion) bool {
		return v.Name == cachev1.GroupVersion.Version && v.Served
	})
	if !served || !crdEstablished(crd) {
		t.Fatalf("CRD %s: %s served %t, established %t", crd.Name, cachev1.GroupVersion.Version, served, crdEstablished(crd))
	}

	e.startOperator(t, ns, inst.CSV)
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "memcached-sample"}, Spec: cachev1.MemcachedSpec{Size: 3}}
	must(t, e.k8s.Create(ctx, mc))
	framework.WaitForMemcached(ctx, t, framework.WaitForMemcachedInput{Lane: e.lane, Memcached: mc, CSV: inst.CSV, Available: true})
}

func crdEstablished(crd *apiextensionsv1.CustomResourceDefinition) bool {
	for _, c := range crd.Status.Conditions {
		if c.Type == apiextensionsv1.Established {
			return c.Status == apiextensionsv1.ConditionTrue
		}
	}
	return false
}

// checkCleanup runs cleanup with --delete-crds and asserts it leaves nothing:
// no OLM object in the namespace, no operator Deployment, no CRD, no
// catalog server.
func (e *env) checkCleanup(t *testing.T, ctx context.Context, ns string) {
	t.Helper()
	must(t, e.olm.Cleanup(ctx, olm.CleanupOptions{Package: pkg, Namespace: ns, StateDir: e.stateDir, DeleteCRDs: true}))
	g := NewWithT(t)
	for _, list := range []client.ObjectList{&operatorsv1alpha1.SubscriptionList{}, &operatorsv1alpha1.ClusterServiceVersionList{},
		&operatorsv1alpha1.CatalogSourceList{}, &operatorsv1alpha1.InstallPlanList{}, &operatorsv1.OperatorGroupList{}} {
		must(t, e.k8s.List(ctx, list, client.InNamespace(ns)))
		g.Expect(meta.LenList(list)).To(BeZero(), "%T left behind", list)
	}
	// OLM's garbage collection removes the Deployment after its CSV.
	err := wait.For(ctx, wait.Options{What: "the operator Deployment to go with its CSV", Timeout: time.Minute}, func(ctx context.Context) (bool, string, error) {
		deps := &appsv1.DeploymentList{}
		if err := e.k8s.List(ctx, deps, client.InNamespace(ns), client.MatchingLabels{"control-plane": "controller-manager"}); err != nil {
			return false, "", err
		}
		return len(deps.Items) == 0, fmt.Sprintf("%d operator Deployments", len(deps.Items)), nil
	})
	must(t, err)
	g.Expect(apierrors.IsNotFound(e.k8s.Get(ctx, types.NamespacedName{Name: cachev1.CRDName}, &apiextensionsv1.CustomResourceDefinition{}))).To(BeTrue(), "the CRD is still there")
	_, err = os.Stat(filepath.Join(e.stateDir, pkg+".pid"))
	g.Expect(os.IsNotExist(err)).To(BeTrue(), "the catalog server is still running")
}

// From the oldest bundle of a channel, approve one InstallPlan at a time:
// every hop lands where the analysis says (framework.UpgradeAlongChannel,
// the scenario test/olm-node runs on the real node), and OLM's side of each
// hop (the CRD and the CSV replaced) leaves a Memcached created on the old
// version with its spec and its pods.
//
// What this lane cannot check: no operator container runs here, so one
// manager process built from HEAD, restarted at each hop as OLM would roll
// the operator, stands in for every release's operator. That 0.2.1 and
// 0.3.0 change the operand image, and each release's own operator rolls the
// memcached pods to it, is checked on the real node (test/olm-node,
// TestUpgradesOnRealNode), where OLM runs each release's operator image.
func TestManualUpgradesFollowTheGraph(t *testing.T) {
	e := setup(t)
	for _, channel := range []string{"stable", "candidate"} {
		t.Run(channel, func(t *testing.T) {
			framework.UpgradeAlongChannel(ctxT(t), t, framework.UpgradeAlongChannelInput{Lane: e.lane, Channel: framework.Channel(e.report, channel), Size: 2})
		})
	}
}

// Automatic approval goes from the oldest bundle to the head along the
// predicted path: the InstallPlans OLM made, in order, install exactly it.
func TestAutomaticUpgradeFollowsTheGraph(t *testing.T) {
	e := setup(t)
	ns := e.namespace(t, "automatic")
	ctx := ctxT(t)
	source := e.lane.ServeCatalog(ctx, t, ns)
	from, path := framework.Channel(e.report, "fast").Farthest()
	head := framework.Channel(e.report, "fast").Head
	sub := framework.Subscribe(ctx, t, framework.SubscribeInput{Lane: e.lane, Namespace: ns, CatalogSource: source, Channel: "fast", StartingCSV: from, Approval: operatorsv1alpha1.ApprovalAutomatic})
	must(t, e.olm.WaitForCSV(ctx, ns, head, sub))

	plans := &operatorsv1alpha1.InstallPlanList{}
	must(t, e.k8s.List(ctx, plans, client.InNamespace(ns)))
	sort.Slice(plans.Items, func(i, j int) bool {
		return plans.Items[i].CreationTimestamp.Before(&plans.Items[j].CreationTimestamp) ||
			(plans.Items[i].CreationTimestamp.Equal(&plans.Items[j].CreationTimestamp) && plans.Items[i].Spec.Generation < plans.Items[j].Spec.Generation)
	})
	var installed []string
	for _, p := range plans.Items {
		installed = append(installed, p.Spec.ClusterServiceVersionNames...)
	}
	want := append([]string{from}, path...)
	if !slices.Equal(installed, want) {
		t.Errorf("InstallPlans installed %v; the analysis predicts %v", installed, want)
	}
}

// Switching a Subscription's channel lands where the switch matrix says.
func TestChannelSwitchFollowsTheMatrix(t *testing.T) {
	e := setup(t)
	var sw graph.Switch
	for _, s := range e.report.Switches {
		if s.From == "candidate" && s.To == "stable" && s.Lands != "" && s.Bundle != framework.Channel(e.report, "candidate").Head {
			if _, inStable := framework.Channel(e.report, "stable").Hops[s.Bundle]; !inStable {
				sw = s // a bundle stable does not have: the switch must find it anyway
			}
		}
	}
	if sw.Bundle == "" {
		t.Fatal("the switch matrix has no candidate -> stable switch from a bundle outside stable")
	}
	ns := e.namespace(t, "switch")
	ctx := ctxT(t)
	source := e.lane.ServeCatalog(ctx, t, ns)
	sub := framework.Subscribe(ctx, t, framework.SubscribeInput{Lane: e.lane, Namespace: ns, CatalogSource: source, Channel: sw.From, StartingCSV: sw.Bundle, Approval: operatorsv1alpha1.ApprovalManual})
	plan := framework.ApproveNextHop(ctx, t, framework.ApproveNextHopInput{Lane: e.lane, Namespace: ns, Subscription: sub, Want: sw.Bundle})

	// OLM proposes the next hop of the old channel first. A pending plan
	// pins the Subscription: OLM resolves the new channel only once that
	// plan is gone, so switch, then delete it.
	pending, _, err := e.olm.NextInstallPlan(ctx, ns, sub, plan, false)
	must(t, err)

	s := &operatorsv1alpha1.Subscription{}
	must(t, e.k8s.Get(ctx, types.NamespacedName{Namespace: ns, Name: sub}, s))
	patch := client.MergeFrom(s.DeepCopy())
	s.Spec.Channel = sw.To
	must(t, e.k8s.Patch(ctx, s, patch))
	must(t, e.k8s.Delete(ctx, &operatorsv1alpha1.InstallPlan{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: pending}}))

	t.Logf("switching %s from %s to %s: the matrix says it lands on %s", sw.Bundle, sw.From, sw.To, sw.Lands)
	framework.ApproveNextHop(ctx, t, framework.ApproveNextHopInput{Lane: e.lane, Namespace: ns, Subscription: sub, After: pending, Want: sw.Lands})
}

// A bundle whose operator can never become ready fails with OLM's own
// account of why, not a bare timeout.
func TestStalledInstallIsExplained(t *testing.T) {
	e := setup(t)
	ns := e.namespace(t, "broken")
	broken := filepath.Join(t.TempDir(), "bundle")
	files, err := atomicdir.Read(e.bundle)
	must(t, err)
	csvFile := "manifests/" + pkg + ".clusterserviceversion.yaml"
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	must(t, yaml.Unmarshal(files[csvFile], csv))
	// No node carries this label: the operator pod can never be scheduled.
	deps := csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	deps[0].Spec.Template.Spec.NodeSelector = map[string]string{"example.com/no-such-node": "true"}
	files[csvFile], err = yaml.Marshal(csv)
	must(t, err)
	must(t, atomicdir.Replace(broken, files, nil))

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err = e.olm.RunBundle(ctx, olm.RunOptions{Bundle: broken, Namespace: ns, OPM: e.opm, StateDir: e.stateDir})
	var stalled *wait.Error
	if !errors.As(err, &stalled) {
		t.Fatalf("err = %v, want a stall with a diagnosis", err)
	}
	t.Logf("%s\n%s", stalled.What, stalled.Diagnosis)
	for _, want := range []string{
		"ClusterServiceVersion " + csv.Name + ": phase",
		"Deployment " + ns + "/memcached-operator-controller-manager: 0/1 available",
		"PodScheduled=False Unschedulable",
		"didn't match Pod's node affinity/selector",
	} {
		if !strings.Contains(stalled.Diagnosis, want) {
			t.Errorf("the diagnosis does not say %q", want)
		}
	}
}

// The scorecard's behaviour tests pass with the operator running and fail,
// saying what they waited for, without it.
func TestScorecardBehaviourTests(t *testing.T) {
	e := setup(t)
	ns := e.namespace(t, "scorecard")
	ctx := ctxT(t)
	inst, err := e.olm.RunBundle(ctx, olm.RunOptions{Bundle: e.bundle, Namespace: ns, OPM: e.opm, StateDir: e.stateDir})
	must(t, err)
	env, err := scorecard.LoadEnv(e.bundle, "", e.k8s, ns)
	must(t, err)
	tests := []string{scorecard.MemcachedExample, scorecard.MemcachedScaling, scorecard.MemcachedRecovers, scorecard.MemcachedRestrict}

	for _, name := range tests {
		short, cancel := context.WithTimeout(ctx, 5*time.Second)
		res := scorecard.Run(short, name, env)
		cancel()
		if res.State == v1alpha3.PassState {
			t.Errorf("%s passed with no operator running", name)
		}
		if !strings.Contains(strings.Join(res.Errors, " "), "is the operator running?") {
			t.Errorf("%s: errors %q do not say what it waited for", name, res.Errors)
		}
	}

	e.startOperator(t, ns, inst.CSV)
	for _, name := range tests {
		if res := scorecard.Run(ctx, name, env); res.State != v1alpha3.PassState {
			t.Errorf("%s: %s %v\n%s", name, res.State, res.Errors, res.Log)
		}
	}
}
