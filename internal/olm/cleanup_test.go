package olm

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// Cleanup deletes, in order, what run bundle made for the package, including
// a CSV an interrupted cleanup left without its Subscription, and nothing else.
func TestCleanupDeletesWhatRunBundleMadeInOrder(t *testing.T) {
	meta := func(name string, labels map[string]string) metav1.ObjectMeta {
		return metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels}
	}
	owned := func(csv *operatorsv1alpha1.ClusterServiceVersion, crd string) *operatorsv1alpha1.ClusterServiceVersion {
		csv.Spec.CustomResourceDefinitions.Owned = []operatorsv1alpha1.CRDDescription{{Name: crd, Version: "v1", Kind: "Memcached"}}
		return csv
	}
	run := map[string]string{managedLabel: "op"}
	sub := &operatorsv1alpha1.Subscription{ObjectMeta: meta("op-sub", run), Spec: &operatorsv1alpha1.SubscriptionSpec{}}
	sub.Status.InstalledCSV, sub.Status.CurrentCSV = "op.v2", "op.v2"
	c := fakeClient(sub,
		owned(csvIn("op.v2", operatorsv1alpha1.CSVPhaseSucceeded, "", ""), cachev1.CRDName),
		csvIn("op.v1", operatorsv1alpha1.CSVPhaseReplacing, "", ""),
		csvIn("other.v1", operatorsv1alpha1.CSVPhaseSucceeded, "", ""),
		installPlan("plan-op", operatorsv1alpha1.InstallPlanPhaseComplete, "op.v2"),
		installPlan("plan-other", operatorsv1alpha1.InstallPlanPhaseComplete, "other.v1"),
		&operatorsv1alpha1.CatalogSource{ObjectMeta: meta("op-catalog", run)},
		&corev1.Pod{ObjectMeta: meta("op-catalog-1234", run)},
		&corev1.ConfigMap{ObjectMeta: meta("op-catalog-1234-partition-0", run)},
		&corev1.Pod{ObjectMeta: meta("theirs", nil)},
		&operatorsv1.OperatorGroup{ObjectMeta: meta("op-og", run)},
		&operatorsv1.OperatorGroup{ObjectMeta: meta("theirs", nil)},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "op-metrics-reader", Labels: map[string]string{ownerLabel: "op.v2"}}},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "other-metrics-reader", Labels: map[string]string{ownerLabel: "other.v1"}}},
		// Left by an earlier cleanup (operator-sdk's leaves them all): found by the package's name.
		&rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: "op-left", Labels: map[string]string{ownerLabel: "op.v0"}}},
		&apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: cachev1.CRDName}},
		&operatorsv1.Operator{ObjectMeta: metav1.ObjectMeta{Name: "op.ns"}},
	)
	state := t.TempDir()
	if err := os.MkdirAll(filepath.Join(state, "op", "catalog"), 0o755); err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	if err := c.Cleanup(context.Background(), CleanupOptions{Package: "op", Namespace: "ns", StateDir: state, DeleteCRDs: true, Out: out}); err != nil {
		t.Fatal(err)
	}
	want := `deleted Subscription ns/op-sub
deleted InstallPlan ns/plan-op
deleted ClusterServiceVersion ns/op.v2
deleted ClusterServiceVersion ns/op.v1
deleted CatalogSource ns/op-catalog
deleted Pod ns/op-catalog-1234
deleted ConfigMap ns/op-catalog-1234-partition-0
deleted OperatorGroup ns/op-og
deleted ClusterRole op-metrics-reader
deleted ClusterRoleBinding op-left
deleted CustomResourceDefinition ` + cachev1.CRDName + `
deleted Operator op.ns
`
	if out.String() != want {
		t.Errorf("cleanup said:\n%s\nwant:\n%s", out, want)
	}
	for _, kept := range []client.Object{
		&operatorsv1alpha1.ClusterServiceVersion{ObjectMeta: meta("other.v1", nil)},
		&operatorsv1alpha1.InstallPlan{ObjectMeta: meta("plan-other", nil)},
		&operatorsv1.OperatorGroup{ObjectMeta: meta("theirs", nil)},
		&corev1.Pod{ObjectMeta: meta("theirs", nil)},
		&rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "other-metrics-reader"}},
	} {
		if err := c.Get(context.Background(), client.ObjectKeyFromObject(kept), kept); err != nil {
			t.Errorf("%s %s: %v, want it kept", kindOf(kept), kept.GetName(), err)
		}
	}
	if _, err := os.Stat(filepath.Join(state, "op")); !os.IsNotExist(err) {
		t.Errorf("the served catalog is still in the state directory (%v)", err)
	}
}

// A bundle's ClusterRoles stay while a CSV of the same name is installed in
// another namespace (they are shared by name); OLM's copies of the CSV do
// not count.
func TestCleanupKeepsClusterRolesAnotherInstallUses(t *testing.T) {
	role := func() *rbacv1.ClusterRole {
		return &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "op-metrics-reader", Labels: map[string]string{ownerLabel: "op.v1"}}}
	}
	elsewhere := func(ns string, labels map[string]string) *operatorsv1alpha1.ClusterServiceVersion {
		return &operatorsv1alpha1.ClusterServiceVersion{ObjectMeta: metav1.ObjectMeta{Name: "op.v1", Namespace: ns, Labels: labels}}
	}
	for _, tc := range []struct {
		name  string
		other *operatorsv1alpha1.ClusterServiceVersion
		kept  bool
	}{
		{name: "installed elsewhere", other: elsewhere("other", nil), kept: true},
		{name: "only OLM's copy elsewhere", other: elsewhere("other", map[string]string{copiedFromLabel: "ns"}), kept: false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeClient(csvIn("op.v1", operatorsv1alpha1.CSVPhaseSucceeded, "", ""), tc.other, role())
			if err := c.Cleanup(context.Background(), CleanupOptions{Package: "op", Namespace: "ns", StateDir: t.TempDir()}); err != nil {
				t.Fatal(err)
			}
			err := c.Get(context.Background(), client.ObjectKeyFromObject(role()), role())
			if kept := err == nil; kept != tc.kept {
				t.Errorf("ClusterRole kept: %t (%v), want %t", kept, err, tc.kept)
			}
		})
	}
}

func TestCleanupKeepsCRDsUnlessAsked(t *testing.T) {
	csv := csvIn("op.v1", operatorsv1alpha1.CSVPhaseSucceeded, "", "")
	csv.Spec.CustomResourceDefinitions.Owned = []operatorsv1alpha1.CRDDescription{{Name: cachev1.CRDName}}
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: cachev1.CRDName}}
	c := fakeClient(csv, crd)
	out := &bytes.Buffer{}
	if err := c.Cleanup(context.Background(), CleanupOptions{Package: "op", Namespace: "ns", StateDir: t.TempDir(), Out: out}); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(crd), crd); err != nil {
		t.Errorf("CRD: %v, want it kept", err)
	}
	if err := c.Get(context.Background(), client.ObjectKeyFromObject(csv), csv); !apierrors.IsNotFound(err) {
		t.Errorf("CSV op.v1: %v, want it deleted", err)
	}
	if strings.Contains(out.String(), "CustomResourceDefinition") {
		t.Errorf("cleanup said %q", out)
	}
}

// OLM can still execute an InstallPlan it had queued and make a CSV again
// after cleanup deleted it; cleanup looks again and deletes it.
func TestCleanupDeletesWhatOLMMakesAgain(t *testing.T) {
	run := map[string]string{managedLabel: "op"}
	cs := &operatorsv1alpha1.CatalogSource{ObjectMeta: metav1.ObjectMeta{Name: "op-catalog", Namespace: "ns", Labels: run}}
	base := fakeClient(csvIn("op.v2", operatorsv1alpha1.CSVPhaseSucceeded, "", ""), cs)
	remade := false
	c := &Client{Client: interceptor.NewClient(base.Client.(client.WithWatch), interceptor.Funcs{
		Delete: func(ctx context.Context, cl client.WithWatch, obj client.Object, opts ...client.DeleteOption) error {
			err := cl.Delete(ctx, obj, opts...)
			if _, ok := obj.(*operatorsv1alpha1.CatalogSource); ok && !remade {
				remade = true
				return cl.Create(ctx, csvIn("op.v2", operatorsv1alpha1.CSVPhaseSucceeded, "", ""))
			}
			return err
		},
	}), Poll: base.Poll, CleanupQuiet: base.CleanupQuiet}
	out := &bytes.Buffer{}
	if err := c.Cleanup(context.Background(), CleanupOptions{Package: "op", Namespace: "ns", StateDir: t.TempDir(), Out: out}); err != nil {
		t.Fatal(err)
	}
	if !remade || !strings.Contains(out.String(), "deleted again (OLM made it again) ClusterServiceVersion ns/op.v2") {
		t.Fatalf("the CSV made again was not deleted again; cleanup printed:\n%s", out)
	}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "op.v2"}, &operatorsv1alpha1.ClusterServiceVersion{}); !apierrors.IsNotFound(err) {
		t.Fatalf("CSV op.v2 left behind: %v", err)
	}
}
