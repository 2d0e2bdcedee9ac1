package controller

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	. "github.com/onsi/gomega"
	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// statusCompleteAfterCRDUpgrade: during an upgrade from 0.2.1 the new
// operator can write status while 0.2.1's CRD (no status.readyReplicas) is
// still served; the API server prunes the field. Once the new CRD is served,
// the status must become complete without anything else happening.
func (it *integration) statusCompleteAfterCRDUpgrade(t *testing.T) {
	g := NewWithT(t)
	ctx := context.Background()
	current := filepath.Join("..", "..", "config", "crd", "bases", "cache.example.com_memcacheds.yaml")
	old := filepath.Join("..", "..", "config", "catalog", "releases", "memcached-operator.v0.2.1", "manifests", "cache.example.com_memcacheds.yaml")
	it.serveCRD(t, old, false)
	t.Cleanup(func() { it.serveCRD(t, current, true) })

	mc := it.newMemcached(t, watchedA, "crd-upgrade", 1)
	d := it.eventuallyReplicas(t, mc, 1)
	it.makePod(t, mc, "crd-upgrade-a")
	d.Status = appsv1.DeploymentStatus{ObservedGeneration: d.Generation, Replicas: 1, ReadyReplicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1}
	g.Expect(it.k8s.Status().Update(ctx, d)).To(Succeed())
	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got)).To(Succeed())
		g.Expect(meta.IsStatusConditionTrue(got.Status.Conditions, cachev1.ConditionAvailable)).To(BeTrue())
		g.Expect(got.Status.ReadyReplicas).To(BeZero(), "0.2.1's CRD has no readyReplicas: pruned")
	}, timeout, poll).Should(Succeed())

	it.serveCRD(t, current, true)
	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got)).To(Succeed())
		g.Expect(got.Status.ReadyReplicas).To(BeEquivalentTo(1))
	}, 3*prunedRetry, poll).Should(Succeed())
}

// serveCRD replaces the Memcached CRD's spec with the one in path and waits
// until the API server applies its status schema: a probe's
// status.readyReplicas is kept exactly when the schema has the field.
func (it *integration) serveCRD(t *testing.T, path string, hasReadyReplicas bool) {
	t.Helper()
	g := NewWithT(t)
	ctx := context.Background()
	b, err := os.ReadFile(path)
	g.Expect(err).NotTo(HaveOccurred())
	want := &apiextensionsv1.CustomResourceDefinition{}
	g.Expect(yaml.UnmarshalStrict(b, want)).To(Succeed(), path)
	scheme := runtime.NewScheme()
	g.Expect(apiextensionsv1.AddToScheme(scheme)).To(Succeed())
	admin, err := client.New(it.cfg, client.Options{Scheme: scheme})
	g.Expect(err).NotTo(HaveOccurred())
	g.Expect(retry.RetryOnConflict(retry.DefaultRetry, func() error {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		if err := admin.Get(ctx, client.ObjectKey{Name: cachev1.CRDName}, crd); err != nil {
			return err
		}
		crd.Spec = want.Spec
		return admin.Update(ctx, crd)
	})).To(Succeed())

	probe := it.newMemcached(t, unwatched, "schema-probe", 1)
	defer func() { _ = it.k8s.Delete(ctx, probe) }()
	g.Eventually(func(g Gomega) {
		got := &cachev1.Memcached{}
		g.Expect(it.k8s.Get(ctx, client.ObjectKeyFromObject(probe), got)).To(Succeed())
		got.Status.ReadyReplicas++
		g.Expect(it.k8s.Status().Update(ctx, got)).To(Succeed())
		g.Expect(got.Status.ReadyReplicas != 0).To(Equal(hasReadyReplicas))
	}, timeout, poll).Should(Succeed())
}
