package olm

import (
	"context"
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
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
)

const (
	// ownerLabel is how OLM names the CSV that made an object.
	ownerLabel = "olm.owner"
	// copiedFromLabel marks OLM's copy of a CSV in a target namespace.
	copiedFromLabel = "olm.copiedFrom"
)

// nudgeEvery is how long an object may keep its finalizers before cleanup
// touches it again to make OLM look.
const nudgeEvery = 5 * time.Second

// CleanupOptions say what Cleanup removes.
type CleanupOptions struct {
	// Package is the package run bundle installed.
	Package string
	// Namespace is where run bundle installed it.
	Namespace string
	// StateDir is run bundle's state directory (the served catalog).
	StateDir string
	// DeleteCRDs also deletes the CRDs the package's CSVs own, and with them
	// every object of them.
	DeleteCRDs bool
	// Out receives a line per deleted object; nil for none.
	Out io.Writer
}

// Cleanup removes what run bundle created for a package in a namespace:
// Subscription, its CSVs and InstallPlans, the CatalogSource, the
// OperatorGroup it created, and the CRDs when asked; it waits until each
// is gone and stops the catalog server.
func (c *Client) Cleanup(ctx context.Context, o CleanupOptions) error {
	csvs, crds, err := c.findInstalled(ctx, o.Package, o.Namespace)
	if err != nil {
		return err
	}
	objs, err := c.deletionOrder(ctx, o, csvs, crds)
	if err != nil {
		return err
	}
	if err := c.deleteAll(ctx, o, objs, "deleted"); err != nil {
		return err
	}
	if err := c.settle(ctx, o, crds); err != nil {
		return err
	}
	if err := StopServer(o.StateDir, o.Package); err != nil {
		return err
	}
	return os.RemoveAll(filepath.Join(o.StateDir, o.Package))
}

func (c *Client) deleteAll(ctx context.Context, o CleanupOptions, objs []client.Object, verb string) error {
	for _, obj := range objs {
		existed, err := c.deleteAndWait(ctx, obj)
		if err != nil {
			return err
		}
		if existed {
			say(o.Out, "%s %s %s", verb, kindOf(obj), strings.TrimPrefix(client.ObjectKeyFromObject(obj).String(), "/"))
		}
	}
	return nil
}

// settle looks again until nothing of the package has come back for
// CleanupQuiet, deleting what did: OLM's catalog operator can still execute
// an InstallPlan it had queued, and so re-create a CSV or CRD, just after
// cleanup deleted them.
func (c *Client) settle(ctx context.Context, o CleanupOptions, crds []string) error {
	quiet := c.CleanupQuiet
	if quiet <= 0 {
		quiet = defaultCleanupQuiet
	}
	quietSince := time.Now()
	what := fmt.Sprintf("nothing of package %s to come back to %s for %s", o.Package, o.Namespace, quiet)
	return wait.For(ctx, c.waitOptions(what, nil), func(ctx context.Context) (bool, string, error) {
		back, err := c.leftovers(ctx, o, crds)
		if err != nil || len(back) == 0 {
			return err == nil && time.Since(quietSince) >= quiet, "", err
		}
		if err := c.deleteAll(ctx, o, back, "deleted again (OLM made it again)"); err != nil {
			return false, "", err
		}
		quietSince = time.Now()
		return false, fmt.Sprintf("%d objects came back", len(back)), nil
	})
}

// leftovers lists the objects of the package that exist now.
func (c *Client) leftovers(ctx context.Context, o CleanupOptions, crds []string) ([]client.Object, error) {
	csvs, _, err := c.findInstalled(ctx, o.Package, o.Namespace)
	if err != nil {
		return nil, err
	}
	objs, err := c.deletionOrder(ctx, o, csvs, crds)
	if err != nil {
		return nil, err
	}
	var out []client.Object
	for _, obj := range objs {
		err := c.Get(ctx, client.ObjectKeyFromObject(obj), obj.DeepCopyObject().(client.Object))
		switch {
		case err == nil:
			out = append(out, obj)
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("%s %s: %w", kindOf(obj), client.ObjectKeyFromObject(obj), err)
		}
	}
	return out, nil
}

// findInstalled names the package's CSVs in the namespace and the CRDs they
// own: those the Subscription records, and, for a Subscription already gone
// (an earlier, interrupted cleanup), those with OLM's <package>.v<version> names.
func (c *Client) findInstalled(ctx context.Context, pkg, ns string) (csvs, crds []string, err error) {
	sub := &operatorsv1alpha1.Subscription{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: pkg + "-sub"}, sub); err == nil {
		for _, n := range []string{sub.Status.InstalledCSV, sub.Status.CurrentCSV} {
			if n != "" && !slices.Contains(csvs, n) {
				csvs = append(csvs, n)
			}
		}
	} else if !apierrors.IsNotFound(err) {
		return nil, nil, fmt.Errorf("Subscription %s/%s-sub: %w", ns, pkg, err)
	}
	all := &operatorsv1alpha1.ClusterServiceVersionList{}
	if err := c.List(ctx, all, client.InNamespace(ns)); err != nil {
		return nil, nil, fmt.Errorf("list ClusterServiceVersions in %s: %w", ns, err)
	}
	for _, csv := range all.Items {
		if IsPackageCSV(csv.Name, pkg) && !slices.Contains(csvs, csv.Name) {
			csvs = append(csvs, csv.Name)
		}
	}
	for _, name := range csvs {
		csv := &operatorsv1alpha1.ClusterServiceVersion{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, csv); err == nil {
			for _, owned := range csv.Spec.CustomResourceDefinitions.Owned {
				if !slices.Contains(crds, owned.Name) {
					crds = append(crds, owned.Name)
				}
			}
		}
	}
	return csvs, crds, nil
}

// deletionOrder lists what to delete, in order. The Subscription and its
// InstallPlans go first: a plan left behind can be executed again and bring
// back what was just deleted. Then the CSVs, the CatalogSource with its
// registry pods, the OperatorGroup run bundle made, the bundle's
// ClusterRoles, and the CRDs and OLM's Operator object when asked.
func (c *Client) deletionOrder(ctx context.Context, o CleanupOptions, csvs, crds []string) ([]client.Object, error) {
	ns := o.Namespace
	objs := []client.Object{&operatorsv1alpha1.Subscription{ObjectMeta: metav1.ObjectMeta{Name: o.Package + "-sub", Namespace: ns}}}
	plans := &operatorsv1alpha1.InstallPlanList{}
	if err := c.List(ctx, plans, client.InNamespace(ns)); err != nil {
		return nil, fmt.Errorf("list InstallPlans in %s: %w", ns, err)
	}
	for i := range plans.Items {
		if slices.ContainsFunc(plans.Items[i].Spec.ClusterServiceVersionNames, func(n string) bool { return slices.Contains(csvs, n) }) {
			objs = append(objs, &plans.Items[i])
		}
	}
	for _, name := range csvs {
		objs = append(objs, &operatorsv1alpha1.ClusterServiceVersion{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns}})
	}
	objs = append(objs, &operatorsv1alpha1.CatalogSource{ObjectMeta: metav1.ObjectMeta{Name: o.Package + "-catalog", Namespace: ns}})
	// The registry pods and their ConfigMaps, the OperatorGroup run bundle made.
	for _, list := range []client.ObjectList{&corev1.PodList{}, &corev1.ConfigMapList{}, &operatorsv1.OperatorGroupList{}} {
		if err := c.List(ctx, list, client.InNamespace(ns), client.MatchingLabels{managedLabel: o.Package}); err != nil {
			return nil, fmt.Errorf("list %T in %s: %w", list, ns, err)
		}
		objs = append(objs, ListItems(list)...)
	}
	roles, err := c.bundleClusterRoles(ctx, o, csvs)
	if err != nil {
		return nil, err
	}
	objs = append(objs, roles...)
	if o.DeleteCRDs {
		for _, name := range crds {
			objs = append(objs, &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: name}})
		}
		// OLM's Operator object lists the package's components; with the
		// CRDs gone it has none left. Kept CRDs keep it (OLM makes it again).
		objs = append(objs, &operatorsv1.Operator{ObjectMeta: metav1.ObjectMeta{Name: o.Package + "." + ns}})
	}
	return objs, nil
}

// bundleClusterRoles are the ClusterRoles and ClusterRoleBindings a bundle
// ships as plain manifests (the metrics reader, the CRD's editor and viewer
// roles): OLM labels them olm.owner=<CSV> but, as they are cluster-scoped,
// never deletes them with the CSV, nor does operator-sdk's cleanup. Those of
// the package's CSVs (found ones, or any <package>.v<version>, for what an
// earlier cleanup left) go once no CSV of that name is installed in another
// namespace (OLM's copies of an AllNamespaces CSV do not count: they go with
// the original).
func (c *Client) bundleClusterRoles(ctx context.Context, o CleanupOptions, csvs []string) ([]client.Object, error) {
	inUse := map[string]bool{}
	var out []client.Object
	for _, list := range []client.ObjectList{&rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBindingList{}} {
		if err := c.List(ctx, list, client.HasLabels{ownerLabel}); err != nil {
			return nil, fmt.Errorf("list %T: %w", list, err)
		}
		for _, obj := range ListItems(list) {
			owner := obj.GetLabels()[ownerLabel]
			if !slices.Contains(csvs, owner) && !IsPackageCSV(owner, o.Package) {
				continue
			}
			used, seen := inUse[owner]
			if !seen {
				var err error
				if used, err = c.installedElsewhere(ctx, owner, o.Namespace); err != nil {
					return nil, err
				}
				inUse[owner] = used
			}
			if !used {
				out = append(out, obj)
			}
		}
	}
	return out, nil
}

// IsPackageCSV: name is <package>.v<version>, OLM's name for the package's CSVs.
func IsPackageCSV(name, pkg string) bool {
	v, ok := strings.CutPrefix(name, pkg+".v")
	return ok && v != "" && v[0] >= '0' && v[0] <= '9'
}

// installedElsewhere: a CSV named name, not OLM's copy, exists in a namespace other than ns.
func (c *Client) installedElsewhere(ctx context.Context, name, ns string) (bool, error) {
	others := &operatorsv1alpha1.ClusterServiceVersionList{}
	if err := c.List(ctx, others, client.MatchingFields{"metadata.name": name}); err != nil {
		return false, fmt.Errorf("list ClusterServiceVersions %s: %w", name, err)
	}
	return slices.ContainsFunc(others.Items, func(csv operatorsv1alpha1.ClusterServiceVersion) bool {
		return csv.Namespace != ns && csv.Labels[copiedFromLabel] == ""
	}), nil
}

func kindOf(obj client.Object) string { return reflect.TypeOf(obj).Elem().Name() }

// deleteAndWait deletes obj in the background and waits until it is gone,
// deleting it again when OLM makes it again and nudging OLM when a
// finalizer stays. existed is false when there was nothing to delete (an
// earlier cleanup, or operator-sdk's, removed it).
func (c *Client) deleteAndWait(ctx context.Context, obj client.Object) (existed bool, err error) {
	kind, key := kindOf(obj), client.ObjectKeyFromObject(obj)
	del := func() error {
		if err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s %s: %w", kind, key, err)
		}
		return nil
	}
	switch err := c.Delete(ctx, obj, client.PropagationPolicy(metav1.DeletePropagationBackground)); {
	case apierrors.IsNotFound(err):
		return false, nil
	case err != nil:
		return false, fmt.Errorf("delete %s %s: %w", kind, key, err)
	}
	nudged := time.Now()
	o := c.waitOptions(fmt.Sprintf("%s %s to be deleted", kind, key), nil)
	return true, wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
		err := c.Get(ctx, key, obj)
		if apierrors.IsNotFound(err) {
			return true, "", nil
		}
		if err != nil {
			return false, "", fmt.Errorf("%s %s: %w", kind, key, err)
		}
		state := fmt.Sprintf("still there (finalizers %v)", obj.GetFinalizers())
		// An object that is not being deleted was made again (OLM can
		// re-apply what it owns while it winds down): delete it again.
		if obj.GetDeletionTimestamp() == nil {
			return false, state, del()
		}
		// OLM sometimes finishes a CSV's cleanup but loses the update that
		// removes its finalizer, and looks again only at its next resync.
		// Touching the object makes it look now.
		if len(obj.GetFinalizers()) > 0 && time.Since(nudged) > nudgeEvery {
			c.nudge(ctx, obj)
			nudged = time.Now()
		}
		return false, state, nil
	})
}

// nudge touches an object, and the OperatorGroups of its namespace, with
// an annotation, so that OLM's informers see a change and look again: OLM
// requeues a namespace's CSVs when its OperatorGroup changes.
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
