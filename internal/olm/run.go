package olm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"time"

	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/catalog"
)

// Channel is the channel of the one-bundle catalogs run bundle serves,
// named as operator-sdk names its own.
const Channel = "operator-sdk-run-bundle"

// managedLabel marks what run bundle created, so cleanup removes only that.
const managedLabel = "sdk.example.com/run-bundle"

// RunOptions configure RunBundle and UpgradeBundle.
type RunOptions struct {
	// Bundle is a bundle directory or a bundle image reference.
	Bundle string
	// UseHTTP pulls a bundle image over plain HTTP or unverified TLS
	// (a local registry).
	UseHTTP   bool
	Namespace string
	// InstallMode is AllNamespaces, OwnNamespace, SingleNamespace=ns or
	// MultiNamespace=ns1,ns2; empty chooses as operator-sdk does.
	InstallMode string
	// OPM is the opm binary that serves the catalog.
	OPM string
	// StateDir keeps the served catalogs, their logs and pid files.
	StateDir string
	Out      io.Writer
}

// Installed is what RunBundle and UpgradeBundle leave on the cluster.
type Installed struct {
	Package, CSV, Subscription, CatalogSource, InstallPlan, Namespace string
}

func (c *Client) say(out io.Writer, format string, args ...any) {
	if out != nil {
		fmt.Fprintf(out, format+"\n", args...)
	}
}

// RunBundle installs a bundle directory through OLM as `operator-sdk run
// bundle` does: a one-bundle catalog served by opm, a CatalogSource, an
// OperatorGroup (reused if the namespace has one), a Subscription with
// manual approval; it approves the InstallPlan and waits for the CSV.
func (c *Client) RunBundle(ctx context.Context, o RunOptions) (*Installed, error) {
	rb, err := renderBundle(ctx, o.Bundle, o.UseHTTP)
	if err != nil {
		return nil, err
	}
	if err := c.Get(ctx, types.NamespacedName{Name: o.Namespace}, &corev1.Namespace{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("namespace %s does not exist: create it first (kubectl create namespace %s)", o.Namespace, o.Namespace)
		}
		return nil, err
	}
	fbc := &declcfg.DeclarativeConfig{
		Packages: []declcfg.Package{{Schema: declcfg.SchemaPackage, Name: rb.pkg, DefaultChannel: Channel}},
		Channels: []declcfg.Channel{{Schema: declcfg.SchemaChannel, Name: Channel, Package: rb.pkg, Entries: []declcfg.ChannelEntry{{Name: rb.csvName}}}},
		Bundles:  rb.cfg.Bundles,
	}
	server, err := c.serve(ctx, o, rb.pkg, fbc)
	if err != nil {
		return nil, err
	}
	c.say(o.Out, "serving a catalog of %s at %s", rb.csvName, server.Addr)

	inst := &Installed{Package: rb.pkg, CSV: rb.csvName, Namespace: o.Namespace,
		Subscription: rb.pkg + "-sub", CatalogSource: rb.pkg + "-catalog"}
	cs := &operatorsv1alpha1.CatalogSource{
		ObjectMeta: metav1.ObjectMeta{Name: inst.CatalogSource, Namespace: o.Namespace, Labels: map[string]string{managedLabel: rb.pkg}},
		Spec: operatorsv1alpha1.CatalogSourceSpec{
			SourceType: operatorsv1alpha1.SourceTypeGrpc, Address: server.Addr,
			DisplayName: rb.pkg + " (run bundle)", Publisher: "sdk run bundle",
		},
	}
	if err := c.Create(ctx, cs); err != nil {
		if apierrors.IsAlreadyExists(err) {
			err = fmt.Errorf("%w: %s is installed already; run cleanup %s --namespace %s first, or run bundle-upgrade", err, rb.pkg, rb.pkg, o.Namespace)
		} else {
			_ = StopServer(o.StateDir, rb.pkg)
		}
		return nil, fmt.Errorf("create CatalogSource %s/%s: %w", o.Namespace, cs.Name, err)
	}
	c.say(o.Out, "created CatalogSource %s/%s", o.Namespace, cs.Name)
	if err := c.WaitForCatalog(ctx, o.Namespace, cs.Name); err != nil {
		return nil, err
	}

	if err := c.ensureOperatorGroup(ctx, o, rb); err != nil {
		return nil, err
	}

	sub := &operatorsv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Name: inst.Subscription, Namespace: o.Namespace, Labels: map[string]string{managedLabel: rb.pkg}},
		Spec: &operatorsv1alpha1.SubscriptionSpec{
			CatalogSource: cs.Name, CatalogSourceNamespace: o.Namespace, Package: rb.pkg, Channel: Channel,
			StartingCSV: rb.csvName, InstallPlanApproval: operatorsv1alpha1.ApprovalManual,
		},
	}
	if err := c.Create(ctx, sub); err != nil {
		return nil, fmt.Errorf("create Subscription %s/%s: %w", o.Namespace, sub.Name, err)
	}
	c.say(o.Out, "created Subscription %s/%s (manual approval)", o.Namespace, sub.Name)
	if inst.InstallPlan, err = c.approveAndWait(ctx, o, inst, ""); err != nil {
		return nil, err
	}
	return inst, nil
}

func (c *Client) approveAndWait(ctx context.Context, o RunOptions, inst *Installed, previousPlan string) (string, error) {
	plan, csvs, err := c.ApproveNext(ctx, o.Namespace, inst.Subscription, previousPlan)
	if err != nil {
		return "", err
	}
	c.say(o.Out, "approved InstallPlan %s/%s for %v", o.Namespace, plan, csvs)
	if err := c.WaitForCSV(ctx, o.Namespace, inst.CSV, inst.Subscription); err != nil {
		return "", err
	}
	c.say(o.Out, "ClusterServiceVersion %s/%s: Succeeded", o.Namespace, inst.CSV)
	return plan, nil
}

// serve writes the catalog, checks it as opm would, and starts opm on a
// free port. A server already running for the package keeps serving until
// the new one is healthy, then stops: OLM moves to the new address without
// a gap and without waiting out a reconnect backoff.
func (c *Client) serve(ctx context.Context, o RunOptions, pkg string, fbc *declcfg.DeclarativeConfig) (*Server, error) {
	if err := catalog.Validate(ctx, fbc); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.StateDir, pkg, "catalog")
	files, err := catalog.Files(fbc, nil)
	if err != nil {
		return nil, err
	}
	// opm reads the directory once at start-up, so a running server is
	// unaffected by the rewrite.
	if err := atomicdir.Replace(dir, files, nil); err != nil {
		return nil, err
	}
	next, err := StartServer(ctx, o.OPM, dir, o.StateDir, pkg+".next", "")
	if err != nil {
		return nil, err
	}
	if err := StopServer(o.StateDir, pkg); err != nil {
		return nil, err
	}
	current := filepath.Join(o.StateDir, pkg+".pid")
	if err := os.Rename(next.PIDFile, current); err != nil {
		return nil, err
	}
	next.PIDFile = current
	return next, nil
}

// ensureOperatorGroup reuses the namespace's OperatorGroup or creates one
// for the install mode: the one asked for, else the first the bundle
// supports of AllNamespaces and OwnNamespace (operator-sdk's order).
func (c *Client) ensureOperatorGroup(ctx context.Context, o RunOptions, rb *renderedBundle) error {
	supported := map[operatorsv1alpha1.InstallModeType]bool{}
	for _, m := range rb.modes {
		supported[m.Type] = m.Supported
	}
	groups := &operatorsv1.OperatorGroupList{}
	if err := c.List(ctx, groups, client.InNamespace(o.Namespace)); err != nil {
		return err
	}
	switch len(groups.Items) {
	case 0:
	case 1:
		og := groups.Items[0]
		c.say(o.Out, "using OperatorGroup %s/%s (targets %v)", o.Namespace, og.Name, targetsOrAll(og.Spec.TargetNamespaces))
		return nil
	default:
		return fmt.Errorf("namespace %s has %d OperatorGroups; OLM needs exactly one: delete all but one", o.Namespace, len(groups.Items))
	}

	mode, targets, err := chooseInstallMode(o.InstallMode, o.Namespace, supported)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", rb.csvName, err)
	}
	og := &operatorsv1.OperatorGroup{
		ObjectMeta: metav1.ObjectMeta{Name: rb.pkg + "-og", Namespace: o.Namespace, Labels: map[string]string{managedLabel: rb.pkg}},
		Spec:       operatorsv1.OperatorGroupSpec{TargetNamespaces: targets},
	}
	if err := c.Create(ctx, og); err != nil {
		return fmt.Errorf("create OperatorGroup %s/%s: %w", o.Namespace, og.Name, err)
	}
	c.say(o.Out, "created OperatorGroup %s/%s for install mode %s (targets %v)", o.Namespace, og.Name, mode, targetsOrAll(targets))
	return nil
}

func targetsOrAll(t []string) string {
	if len(t) == 0 {
		return "all namespaces"
	}
	return strings.Join(t, ",")
}

func chooseInstallMode(flag, ns string, supported map[operatorsv1alpha1.InstallModeType]bool) (operatorsv1alpha1.InstallModeType, []string, error) {
	if flag == "" {
		switch {
		case supported[operatorsv1alpha1.InstallModeTypeAllNamespaces]:
			return operatorsv1alpha1.InstallModeTypeAllNamespaces, nil, nil
		case supported[operatorsv1alpha1.InstallModeTypeOwnNamespace]:
			return operatorsv1alpha1.InstallModeTypeOwnNamespace, []string{ns}, nil
		}
		return "", nil, errors.New("supports neither AllNamespaces nor OwnNamespace: pass --install-mode SingleNamespace=NS or MultiNamespace=NS1,NS2")
	}
	name, value, _ := strings.Cut(flag, "=")
	mode := operatorsv1alpha1.InstallModeType(name)
	var targets []string
	switch mode {
	case operatorsv1alpha1.InstallModeTypeAllNamespaces:
	case operatorsv1alpha1.InstallModeTypeOwnNamespace:
		targets = []string{ns}
	case operatorsv1alpha1.InstallModeTypeSingleNamespace, operatorsv1alpha1.InstallModeTypeMultiNamespace:
		if value == "" {
			return "", nil, fmt.Errorf("--install-mode %s needs namespaces: %s=NS[,NS]", name, name)
		}
		targets = strings.Split(value, ",")
	default:
		return "", nil, fmt.Errorf("--install-mode %q: want AllNamespaces, OwnNamespace, SingleNamespace=NS or MultiNamespace=NS1,NS2", flag)
	}
	if !supported[mode] {
		return "", nil, fmt.Errorf("does not support install mode %s", mode)
	}
	return mode, targets, nil
}

// UpgradeBundle adds a bundle on top of the one run bundle installed, in
// the same served catalog, and drives the upgrade to it.
func (c *Client) UpgradeBundle(ctx context.Context, o RunOptions) (*Installed, error) {
	rb, err := renderBundle(ctx, o.Bundle, o.UseHTTP)
	if err != nil {
		return nil, err
	}
	inst := &Installed{Package: rb.pkg, CSV: rb.csvName, Namespace: o.Namespace, Subscription: rb.pkg + "-sub", CatalogSource: rb.pkg + "-catalog"}
	sub := &operatorsv1alpha1.Subscription{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: inst.Subscription}, sub); err != nil {
		return nil, fmt.Errorf("Subscription %s/%s: %w (install with run bundle first)", o.Namespace, inst.Subscription, err)
	}
	// The Subscription records the installed CSV shortly after it succeeds.
	diag := func(ctx context.Context) string { return c.Diagnose(ctx, o.Namespace, inst.Subscription) }
	if err := c.until(ctx, "the Subscription to record the installed CSV", diag, func(ctx context.Context) (bool, error) {
		err := c.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: inst.Subscription}, sub)
		return err == nil && sub.Status.InstalledCSV != "" && sub.Status.State == operatorsv1alpha1.SubscriptionStateAtLatest, err
	}); err != nil {
		return nil, err
	}
	installed := sub.Status.InstalledCSV
	if installed == "" || installed == rb.csvName {
		return nil, fmt.Errorf("Subscription %s/%s has installed %q: nothing to upgrade to %s from", o.Namespace, sub.Name, installed, rb.csvName)
	}
	cs := &operatorsv1alpha1.CatalogSource{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: inst.CatalogSource}, cs); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.StateDir, rb.pkg, "catalog")
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("the catalog run bundle served (%s): %w", dir, err)
	}
	fbc.Bundles = append(fbc.Bundles, rb.cfg.Bundles...)
	for i := range fbc.Channels {
		if fbc.Channels[i].Name == Channel {
			fbc.Channels[i].Entries = append(fbc.Channels[i].Entries, declcfg.ChannelEntry{Name: rb.csvName, Replaces: installed})
		}
	}
	server, err := c.serve(ctx, o, rb.pkg, fbc)
	if err != nil {
		return nil, err
	}
	patch := client.MergeFrom(cs.DeepCopy())
	cs.Spec.Address = server.Addr
	if err := c.Patch(ctx, cs, patch); err != nil {
		return nil, fmt.Errorf("point CatalogSource %s/%s at %s: %w", cs.Namespace, cs.Name, server.Addr, err)
	}
	c.say(o.Out, "serving %s replacing %s at %s", rb.csvName, installed, server.Addr)
	previous := ""
	if sub.Status.InstallPlanRef != nil {
		previous = sub.Status.InstallPlanRef.Name
	}
	if inst.InstallPlan, err = c.approveAndWait(ctx, o, inst, previous); err != nil {
		return nil, err
	}
	return inst, nil
}

// Cleanup removes what run bundle created for a package in a namespace:
// Subscription, its CSVs and InstallPlans, the CatalogSource, the
// OperatorGroup it created, and the CRDs when asked; it waits until each
// is gone and stops the catalog server.
func (c *Client) Cleanup(ctx context.Context, pkg, ns, stateDir string, deleteCRDs bool, out io.Writer) error {
	sub := &operatorsv1alpha1.Subscription{}
	var csvs []string
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: pkg + "-sub"}, sub); err == nil {
		for _, n := range []string{sub.Status.InstalledCSV, sub.Status.CurrentCSV} {
			if n != "" && !slices.Contains(csvs, n) {
				csvs = append(csvs, n)
			}
		}
	} else if !apierrors.IsNotFound(err) {
		return err
	}
	// CSVs of the package whose Subscription is already gone (an earlier,
	// interrupted cleanup) are found by OLM's <package>.v<version> names.
	all := &operatorsv1alpha1.ClusterServiceVersionList{}
	if err := c.List(ctx, all, client.InNamespace(ns)); err != nil {
		return err
	}
	for _, csv := range all.Items {
		if strings.HasPrefix(csv.Name, pkg+".v") && !slices.Contains(csvs, csv.Name) {
			csvs = append(csvs, csv.Name)
		}
	}
	var crds []string
	for _, name := range csvs {
		csv := &operatorsv1alpha1.ClusterServiceVersion{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, csv); err == nil {
			for _, o := range csv.Spec.CustomResourceDefinitions.Owned {
				if !slices.Contains(crds, o.Name) {
					crds = append(crds, o.Name)
				}
			}
		}
	}
	// The Subscription and its InstallPlans go first: a plan left behind
	// can be executed again and bring back what was just deleted.
	var objs []client.Object
	objs = append(objs, &operatorsv1alpha1.Subscription{ObjectMeta: metav1.ObjectMeta{Name: pkg + "-sub", Namespace: ns}})
	plans := &operatorsv1alpha1.InstallPlanList{}
	if err := c.List(ctx, plans, client.InNamespace(ns)); err != nil {
		return err
	}
	for i := range plans.Items {
		for _, n := range plans.Items[i].Spec.ClusterServiceVersionNames {
			if slices.Contains(csvs, n) {
				objs = append(objs, &plans.Items[i])
				break
			}
		}
	}
	for _, name := range csvs {
		objs = append(objs, &operatorsv1alpha1.ClusterServiceVersion{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	objs = append(objs, &operatorsv1alpha1.CatalogSource{ObjectMeta: metav1.ObjectMeta{Name: pkg + "-catalog", Namespace: ns}})
	groups := &operatorsv1.OperatorGroupList{}
	if err := c.List(ctx, groups, client.InNamespace(ns), client.MatchingLabels{managedLabel: pkg}); err != nil {
		return err
	}
	for i := range groups.Items {
		objs = append(objs, &groups.Items[i])
	}
	if deleteCRDs {
		for _, name := range crds {
			objs = append(objs, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
	}
	for _, obj := range objs {
		if err := c.deleteAndWait(ctx, obj); err != nil {
			return err
		}
		if out != nil {
			fmt.Fprintf(out, "deleted %s %s\n", reflect.TypeOf(obj).Elem().Name(), strings.TrimPrefix(client.ObjectKeyFromObject(obj).String(), "/"))
		}
	}
	if err := StopServer(stateDir, pkg); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(stateDir, pkg))
}

// nudge touches an object, and the OperatorGroups of its namespace, with
// an annotation, so that OLM's informers see a change and look again.
func (c *Client) nudge(ctx context.Context, obj client.Object) {
	patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`,
		managedLabel+"-cleanup", time.Now().UTC().Format(time.RFC3339Nano))))
	_ = c.Patch(ctx, obj, patch)
	if obj.GetNamespace() == "" {
		return
	}
	groups := &operatorsv1.OperatorGroupList{}
	if err := c.List(ctx, groups, client.InNamespace(obj.GetNamespace())); err != nil {
		return
	}
	for i := range groups.Items {
		_ = c.Patch(ctx, &groups.Items[i], patch)
	}
}

func (c *Client) deleteAndWait(ctx context.Context, obj client.Object) error {
	kind := reflect.TypeOf(obj).Elem().Name()
	if err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("delete %s %s: %w", kind, client.ObjectKeyFromObject(obj), err)
	}
	key := client.ObjectKeyFromObject(obj)
	nudged := time.Now()
	for {
		err := c.Get(ctx, key, obj)
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		// An object that is not being deleted was made again (OLM can
		// re-apply what it owns while it winds down): delete it again.
		if obj.GetDeletionTimestamp() == nil {
			if err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete %s %s: %w", kind, key, err)
			}
		}
		// OLM sometimes finishes a CSV's cleanup but loses the update that
		// removes its finalizer, and looks again only at its next resync.
		// Touching the object makes it look now.
		// OLM requeues a namespace's CSVs when its OperatorGroup changes.
		if obj.GetDeletionTimestamp() != nil && len(obj.GetFinalizers()) > 0 && time.Since(nudged) > 5*time.Second {
			c.nudge(ctx, obj)
			nudged = time.Now()
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s %s is still there (finalizers %v)", kind, key, obj.GetFinalizers())
		case <-time.After(c.poll()):
		}
	}
}
