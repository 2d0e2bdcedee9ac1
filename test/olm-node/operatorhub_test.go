//go:build olmnode

package olmnode

import (
	"context"
	"encoding/json"
	"slices"
	"testing"
	"time"

	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// hubChoice is what an admin reads off the PackageManifest on the way to
// installing: nothing else goes into the OperatorGroup and Subscription.
type hubChoice struct {
	pkg, source, sourceNamespace, channel, csv string
	modes                                      map[operatorsv1alpha1.InstallModeType]bool
	examples                                   string
}

// TestAdminInstallsFromOperatorHub is the cluster admin's path through
// OperatorHub: find the package among the PackageManifests, take its default
// channel and that channel's currentCSV, pick an install mode the CSV
// supports, create the OperatorGroup and a Subscription with manual
// approval from those values only, review and approve the InstallPlan; the
// operator runs, and the example the CSV offers (alm-examples, the
// console's "Create instance" form) becomes a Memcached that serves.
func TestAdminInstallsFromOperatorHub(t *testing.T) {
	ctx, e := setup(t)
	t.Cleanup(func() {
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			t.Logf("what OLM reports:\n%s%s", e.olm.Diagnose(ctx, e.ns, "from-operatorhub"), e.describePods(ctx))
		}
	})
	cs := e.lane.ServeCatalog(ctx, t, e.ns)
	start := time.Now()
	hub := readHubChoice(t, e.packageManifest(ctx, t, cs))

	if !hub.modes[operatorsv1alpha1.InstallModeTypeOwnNamespace] {
		t.Fatalf("PackageManifest %s: the default channel's CSV does not support OwnNamespace (%v)", hub.pkg, hub.modes)
	}
	og := &operatorsv1.OperatorGroup{
		ObjectMeta: metav1.ObjectMeta{Name: hub.pkg, Namespace: e.ns},
		Spec:       operatorsv1.OperatorGroupSpec{TargetNamespaces: []string{e.ns}},
	}
	sub := &operatorsv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Name: "from-operatorhub", Namespace: e.ns},
		Spec: &operatorsv1alpha1.SubscriptionSpec{
			Package: hub.pkg, Channel: hub.channel, StartingCSV: hub.csv,
			CatalogSource: hub.source, CatalogSourceNamespace: hub.sourceNamespace,
			InstallPlanApproval: operatorsv1alpha1.ApprovalManual,
		},
	}
	for _, obj := range []client.Object{og, sub} {
		if err := e.k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}

	// Review: the plan waits for approval and installs the CSV the listing named.
	plan, csvs, err := e.olm.NextInstallPlan(within(ctx, t, installTimeout), e.ns, sub.Name, "", false)
	if err != nil {
		t.Fatal(err)
	}
	ip := &operatorsv1alpha1.InstallPlan{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: plan}, ip); err != nil {
		t.Fatal(err)
	}
	if ip.Status.Phase != operatorsv1alpha1.InstallPlanPhaseRequiresApproval || ip.Spec.Approved || !slices.Equal(csvs, []string{hub.csv}) {
		t.Fatalf("InstallPlan %s: phase %s, approved %t, installs %v; want it waiting for approval to install %s", plan, ip.Status.Phase, ip.Spec.Approved, csvs, hub.csv)
	}
	if _, _, err := e.olm.ApproveNext(within(ctx, t, installTimeout), e.ns, sub.Name, ""); err != nil {
		t.Fatal(err)
	}
	if err := e.olm.WaitForCSV(within(ctx, t, installTimeout), e.ns, hub.csv, sub.Name); err != nil {
		t.Fatal(err)
	}
	t.Logf("%s from channel %s of %s: approved and Succeeded after %s", hub.csv, hub.channel, hub.source, since(start))
	e.csv = hub.csv
	e.checkOperatorPod(ctx, t)

	mc := e.createExample(ctx, t, hub.examples)
	if err := readiness.WaitFor(ctx, e.k8s, client.ObjectKeyFromObject(mc), readiness.Options{Wait: wait.Options{Timeout: framework.ReadyTimeout}}); err != nil {
		t.Fatal(err)
	}
	framework.AssertServes(ctx, t, e.k8s, mc, "from-operatorhub")
	t.Logf("the CSV's example %s (size %d) ready and answering", mc.Name, mc.Spec.Size)
}

// readHubChoice reads the admin's choices off the PackageManifest.
func readHubChoice(t *testing.T, pm *unstructured.Unstructured) hubChoice {
	t.Helper()
	var status struct {
		CatalogSource          string `json:"catalogSource"`
		CatalogSourceNamespace string `json:"catalogSourceNamespace"`
		DefaultChannel         string `json:"defaultChannel"`
		Channels               []struct {
			Name           string `json:"name"`
			CurrentCSV     string `json:"currentCSV"`
			CurrentCSVDesc struct {
				InstallModes []operatorsv1alpha1.InstallMode `json:"installModes"`
				Annotations  map[string]string               `json:"annotations"`
			} `json:"currentCSVDesc"`
		} `json:"channels"`
	}
	raw, err := json.Marshal(pm.Object["status"])
	if err == nil {
		err = json.Unmarshal(raw, &status)
	}
	if err != nil {
		t.Fatalf("PackageManifest %s status: %v", pm.GetName(), err)
	}
	h := hubChoice{pkg: pm.GetName(), source: status.CatalogSource, sourceNamespace: status.CatalogSourceNamespace, channel: status.DefaultChannel, modes: map[operatorsv1alpha1.InstallModeType]bool{}}
	for _, ch := range status.Channels {
		if ch.Name != status.DefaultChannel {
			continue
		}
		h.csv = ch.CurrentCSV
		h.examples = ch.CurrentCSVDesc.Annotations["alm-examples"]
		for _, m := range ch.CurrentCSVDesc.InstallModes {
			h.modes[m.Type] = m.Supported
		}
	}
	if h.csv == "" || h.examples == "" {
		t.Fatalf("PackageManifest %s: the default channel %q lists no currentCSV (%q) or no alm-examples", h.pkg, h.channel, h.csv)
	}
	return h
}

// createExample creates the Memcached of the CSV's alm-examples in the
// test's namespace, as the console's form does with its defaults.
func (e *env) createExample(ctx context.Context, t *testing.T, examples string) *cachev1.Memcached {
	t.Helper()
	var items []map[string]any
	if err := json.Unmarshal([]byte(examples), &items); err != nil {
		t.Fatalf("alm-examples: %v", err)
	}
	i := slices.IndexFunc(items, func(o map[string]any) bool {
		return o["kind"] == "Memcached" && o["apiVersion"] == cachev1.GroupVersion.String()
	})
	if i < 0 {
		t.Fatalf("alm-examples has no %s Memcached: %s", cachev1.GroupVersion, examples)
	}
	obj := &unstructured.Unstructured{Object: items[i]}
	obj.SetNamespace(e.ns)
	if err := e.k8s.Create(ctx, obj); err != nil {
		t.Fatalf("create the example %s: %v", obj.GetName(), err)
	}
	mc := &cachev1.Memcached{}
	if err := e.k8s.Get(ctx, client.ObjectKeyFromObject(obj), mc); err != nil {
		t.Fatal(err)
	}
	return mc
}
