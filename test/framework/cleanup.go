package framework

import (
	"context"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// CleanupInput is a scenario's namespace to tear down.
type CleanupInput struct {
	Lane      Lane
	Namespace string
	// StateDir holds the catalog servers on this host (olm.CleanupOptions).
	StateDir string
	// DeleteCRDs removes the CRD too, and waits until it is gone.
	DeleteCRDs bool
	// Timeout bounds the teardown.
	Timeout time.Duration
}

// Cleanup removes what OLM installed of the lane's package in the namespace
// (olm.Client.Cleanup, best effort: what it must do is asserted by
// NothingLeft) and the namespace; with DeleteCRDs, the CRD too, which must
// then be gone.
func Cleanup(t *testing.T, in CleanupInput) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), in.Timeout)
	defer cancel()
	o := in.Lane.OLM()
	err := o.Cleanup(ctx, olm.CleanupOptions{Package: in.Lane.Package(), Namespace: in.Namespace, StateDir: in.StateDir, DeleteCRDs: in.DeleteCRDs})
	if err != nil {
		t.Logf("cleanup: %v", err)
	}
	_ = o.Delete(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: in.Namespace}})
	if in.DeleteCRDs {
		if err := removeCRD(ctx, o.Client); err != nil {
			t.Error(err)
		}
	}
}

// RemoveCRD deletes the Memcached CRD (and so every Memcached) and waits
// until it is gone.
func RemoveCRD(ctx context.Context, t *testing.T, c client.Client) {
	t.Helper()
	if err := removeCRD(ctx, c); err != nil {
		t.Fatal(err)
	}
}

func removeCRD(ctx context.Context, c client.Client) error {
	crd := &apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: cachev1.CRDName}}
	if err := c.Delete(ctx, crd); client.IgnoreNotFound(err) != nil {
		return err
	}
	return wait.Gone(ctx, c, crd, wait.Options{What: "CRD " + cachev1.CRDName + " to be deleted", Timeout: time.Minute})
}

// NothingLeftInput is a namespace that a cleanup (ours or operator-sdk's) emptied.
type NothingLeftInput struct {
	Client    client.Client
	Package   string
	Namespace string
}

// NothingLeft: nothing of the package is left in the namespace or the
// cluster (Leftovers).
func NothingLeft(ctx context.Context, t *testing.T, in NothingLeftInput) {
	t.Helper()
	left, err := Leftovers(ctx, in.Client, in.Package, in.Namespace)
	if err != nil {
		t.Fatal(err)
	}
	if len(left) > 0 {
		t.Errorf("left after cleanup: %s", strings.Join(left, ", "))
	}
}

// servedCRDFields are the status fields of the Memcached CRD the API
// server serves now (readiness.FieldsOf).
func servedCRDFields(ctx context.Context, t testing.TB, c client.Client) readiness.Fields {
	t.Helper()
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := c.Get(ctx, client.ObjectKey{Name: cachev1.CRDName}, crd); err != nil {
		t.Fatal(err)
	}
	return readiness.FieldsOf(crd)
}
