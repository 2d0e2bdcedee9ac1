//go:build olmnode

package olmnode

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/controller"
	"github.com/example-inc/memcached-operator/internal/csv"
	"github.com/example-inc/memcached-operator/internal/graph"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// channelTimeout bounds one channel: its catalog, first install and hops.
const channelTimeout = 8 * time.Minute

// TestUpgradesOnRealNode: in every channel, from the bundle with the longest
// path to the head, OLM in the cluster installs it from the catalog image
// (manual approval) and each approved InstallPlan takes exactly the hop the
// catalog analysis predicts, until the rest of the path is one an earlier
// channel walked. After each hop OLM has rolled the operator pod
// to that release's own image (built from its source: make release-images),
// the Memcached keeps its spec and shows every printer column of the CRD
// now served, and its pods keep the data written before the hop, unless the
// release changes the operand image: then they run the new one and serve.
func TestUpgradesOnRealNode(t *testing.T) {
	_, e := setup(t)
	cs, err := kubeclient.NewClientset()
	if err != nil {
		t.Fatal(err)
	}
	report := analyzeCatalog(t, framework.Env(t, "CATALOG_DIR", "test-olm-node"))
	channels := slices.Clone(report.Channels)
	sort.Slice(channels, func(i, j int) bool { return channels[i].Name < channels[j].Name })
	walked := map[string]walk{}
	for _, ch := range channels {
		t.Run(ch.Name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), channelTimeout)
			defer cancel()
			u := &upgrade{env: *e, cs: cs, channel: ch.Name, walked: walked}
			u.run(ctx, t, ch)
		})
	}
}

// walk is the rest of a path to the head that a channel's run walked from
// a bundle: the same hops, between the same releases, in another channel
// are not walked again (channels share their tails: 0.3.0 -> 0.3.1 -> 0.3.2).
type walk struct {
	channel string
	rest    []string
}

// upgrade is one channel's run, in a namespace of its own.
type upgrade struct {
	env
	cs      kubernetes.Interface
	channel string
	sub     string
	mc      *cachev1.Memcached
	walked  map[string]walk
}

func (u *upgrade) run(ctx context.Context, t *testing.T, ch graph.ChannelReport) {
	from, path := ch.Farthest()
	if len(path) == 0 {
		t.Skipf("channel %s: no bundle has an upgrade", ch.Name)
	}
	removeCRD(ctx, t, u.k8s) // from nothing: the oldest release's CRD, not a newer one left by another test
	// 0.1.0's operator Deployment sets no security context and released
	// bundles do not change: restricted refuses its pod, so channels are
	// upgraded under baseline. The head runs under restricted
	// (TestInstallFromCatalogImage); the memcached pods, which every
	// release's operator makes restricted, are checked on every hop.
	u.ns = namespace(ctx, t, &u.env, "baseline")
	t.Cleanup(func() { removeCRD(context.Background(), t, u.k8s) })
	plan := u.install(ctx, t, from)
	for i, next := range path {
		if w, ok := u.walked[from]; ok && slices.Equal(w.rest, path[i:]) {
			t.Logf("%s: from %s on, the path %v was walked in channel %s: stop here", u.channel, from, w.rest, w.channel)
			return
		}
		plan = u.hop(ctx, t, plan, from, next)
		u.walked[from] = walk{channel: u.channel, rest: path[i:]} // once the hop landed
		from = next
	}
}

// install subscribes at from with manual approval, approves the first plan
// and creates a Memcached of size 2 that is ready and serves.
func (u *upgrade) install(ctx context.Context, t *testing.T, from string) string {
	t.Helper()
	source := u.catalogFromImage(ctx, t)
	u.sub = u.pkg + "-sub"
	u.subscribe(ctx, t, source, subscription{name: u.sub, channel: u.channel, startingCSV: from, approval: operatorsv1alpha1.ApprovalManual})
	start := time.Now()
	plan, csvs, err := u.olm.ApproveNext(ctx, u.ns, u.sub, "")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(csvs, []string{from}) {
		t.Fatalf("the first InstallPlan installs %v, want startingCSV %s", csvs, from)
	}
	u.waitInstalled(ctx, t, from)
	t.Logf("%s: %s installed, operator pod running, in %s", u.channel, from, since(start))
	u.mc = &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: "upgraded", Namespace: u.ns}, Spec: cachev1.MemcachedSpec{Size: 2}}
	if err := u.k8s.Create(ctx, u.mc); err != nil {
		t.Fatal(err)
	}
	u.waitComplete(ctx, t, from, u.operandImage(ctx, t, from))
	framework.AssertServes(ctx, t, u.k8s, u.mc, "installed-"+from)
	return plan
}

// hop approves the upgrade to next and checks what a user checks after it.
func (u *upgrade) hop(ctx context.Context, t *testing.T, plan, from, next string) string {
	t.Helper()
	key := "written-under-" + from
	before := framework.Store(ctx, t, u.k8s, u.mc, key, "kept")
	operandBefore := u.operandImage(ctx, t, from)
	start := time.Now()
	plan = u.approveHop(ctx, t, plan, next)
	u.waitInstalled(ctx, t, next)
	rolled := since(start)
	operand := u.landed(ctx, t, next, operandBefore, before, key)
	if operand == operandBefore {
		t.Logf("%s: %s -> %s: operator rolled in %s, complete in %s; operand %s kept, its pods kept their data", u.channel, from, next, rolled, since(start), operand)
	} else {
		t.Logf("%s: %s -> %s: operator rolled in %s, complete in %s; operand %s -> %s: pods replaced and serving (memcached keeps data in memory only)",
			u.channel, from, next, rolled, since(start), operandBefore, operand)
	}
	return plan
}

// approveHop approves the InstallPlan after plan and checks it installs
// next, and only next; it returns the plan approved.
func (u *upgrade) approveHop(ctx context.Context, t *testing.T, plan, next string) string {
	t.Helper()
	plan, csvs, err := u.olm.ApproveNext(ctx, u.ns, u.sub, plan)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(csvs, []string{next}) {
		t.Fatalf("InstallPlan %s installs %v, want %s (the catalog analysis's next hop)", plan, csvs, next)
	}
	return plan
}

// landed checks what a user checks once OLM runs next: the Memcached
// complete under it with its spec, its pods restricted, and, when the
// release kept the operand, the same pods (before) still holding key;
// otherwise new pods serving. It returns next's operand.
func (u *upgrade) landed(ctx context.Context, t *testing.T, next, operandBefore string, before []corev1.Pod, key string) string {
	t.Helper()
	operand := u.operandImage(ctx, t, next)
	u.waitComplete(ctx, t, next, operand)
	got := &cachev1.Memcached{}
	if err := u.k8s.Get(ctx, client.ObjectKeyFromObject(u.mc), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Size != u.mc.Spec.Size {
		t.Errorf("after %s: spec.size %d, want %d", next, got.Spec.Size, u.mc.Spec.Size)
	}
	u.assertOperandRestricted(ctx, t, next)
	if operand == operandBefore {
		u.assertSamePods(ctx, t, next, before)
		framework.AssertStored(t, before, key, "kept")
	} else {
		framework.AssertServes(ctx, t, u.k8s, u.mc, "after-"+next)
	}
	return operand
}

// waitInstalled waits for the CSV to succeed and for its Deployments to run
// only pods of its own operator image, ready, on the real node: OLM rolled
// the operator; nothing on this machine stands in for it.
func (u *upgrade) waitInstalled(ctx context.Context, t *testing.T, csvName string) {
	t.Helper()
	if err := u.olm.WaitForCSV(ctx, u.ns, csvName, u.sub); err != nil {
		t.Fatal(err)
	}
	pods, err := u.olm.WaitForOperator(within(ctx, t, installTimeout), u.ns, csvName)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pods {
		p := &corev1.Pod{}
		if err := u.k8s.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: name}, p); err != nil {
			t.Fatal(err)
		}
		u.checkOnRealNode(t, *p, corev1.PodRunning)
	}
}

// waitComplete waits until the Memcached is ready by the fields the served
// CRD has, with every pod running the CSV's operand (after a release that
// changes it, the old pods keep it ready until the new operator replaced
// them), and then until `kubectl get memcached` shows a value in every
// printer column of that CRD: status written under an older CRD is complete
// under the new one.
func (u *upgrade) waitComplete(ctx context.Context, t *testing.T, csvName, operand string) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := u.k8s.Get(ctx, client.ObjectKey{Name: cachev1.CRDName}, crd); err != nil {
		t.Fatal(err)
	}
	fields := readiness.FieldsOf(crd)
	key := client.ObjectKeyFromObject(u.mc)
	if err := readiness.WaitFor(ctx, u.k8s, key, readiness.Options{Fields: &fields, Image: operand, Wait: wait.Options{Timeout: framework.ReadyTimeout}}); err != nil {
		t.Fatal(err)
	}
	var cells map[string]string
	what := fmt.Sprintf("every printer column of Memcached %s under %s", key, csvName)
	err := wait.For(ctx, wait.Options{What: what, Timeout: time.Minute}, func(ctx context.Context) (bool, string, error) {
		var empty []string
		var err error
		cells, empty, err = framework.PrinterColumns(ctx, u.cs, key)
		return err == nil && len(empty) == 0, fmt.Sprintf("empty columns %v of %v", empty, cells), err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("under %s: kubectl get memcached shows %v", csvName, cells)
}

// operandImage is the memcached image the CSV gives its operator.
func (u *upgrade) operandImage(ctx context.Context, t *testing.T, csvName string) string {
	t.Helper()
	c := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := u.k8s.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: csvName}, c); err != nil {
		t.Fatal(err)
	}
	image, ok := csv.OperandImage(c)
	if !ok {
		t.Fatalf("CSV %s sets no %s", csvName, controller.RelatedImageEnv)
	}
	return image
}

// assertSamePods: the release kept the operand, so the hop left the
// memcached pods alone.
func (u *upgrade) assertSamePods(ctx context.Context, t *testing.T, next string, before []corev1.Pod) {
	t.Helper()
	for _, p := range before {
		now := &corev1.Pod{}
		if err := u.k8s.Get(ctx, client.ObjectKeyFromObject(&p), now); err != nil || now.UID != p.UID {
			t.Errorf("after %s: memcached pod %s was replaced (%v)", next, p.Name, err)
		}
	}
}

// assertOperandRestricted: the memcached pods meet the restricted standard
// the namespace only warns about: the fields the API server's restricted
// checks read.
func (u *upgrade) assertOperandRestricted(ctx context.Context, t *testing.T, csvName string) {
	t.Helper()
	for _, p := range framework.ListedPods(ctx, t, u.k8s, u.mc) {
		if why := notRestricted(&p.Spec); why != "" {
			t.Errorf("under %s: memcached pod %s is not restricted: %s", csvName, p.Name, why)
		}
	}
}

func notRestricted(spec *corev1.PodSpec) string {
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		return "the pod must set runAsNonRoot and the RuntimeDefault seccomp profile"
	}
	for _, c := range spec.Containers {
		csc := c.SecurityContext
		if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			return "container " + c.Name + " must forbid privilege escalation and drop ALL capabilities"
		}
	}
	return ""
}

// removeCRD deletes the Memcached CRD (and so every Memcached) and waits
// until it is gone.
func removeCRD(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: cachev1.CRDName}}
	if err := c.Delete(ctx, crd); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	if err := wait.Gone(ctx, c, crd, wait.Options{What: "CRD " + cachev1.CRDName + " to be deleted", Timeout: time.Minute}); err != nil {
		t.Fatal(err)
	}
}

// analyzeCatalog is our analysis of the catalog the catalog image serves.
func analyzeCatalog(t *testing.T, dir string) *graph.Report {
	t.Helper()
	ctx := context.Background()
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	report, err := catalog.Analyze(ctx, fbc)
	if err != nil || report.Errors() > 0 {
		t.Fatalf("catalog analysis of %s: %v %v", dir, err, report)
	}
	return report
}
