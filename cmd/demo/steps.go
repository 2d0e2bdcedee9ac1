package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/managerenv"
	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// loadPath analyses the catalog and picks the channel's bundle with the
// longest path to the head: the demo installs it and hops along the path.
func (d *demo) loadPath(ctx context.Context) (from string, path []string, err error) {
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(d.catalogDir))
	if err != nil {
		return "", nil, fmt.Errorf("%s: %w (run make catalog)", d.catalogDir, err)
	}
	report, err := catalog.Analyze(ctx, fbc)
	if err != nil {
		return "", nil, err
	}
	for _, c := range report.Channels {
		if c.Name != d.channel {
			continue
		}
		from, path = c.Farthest()
	}
	if from == "" {
		return "", nil, fmt.Errorf("channel %q is not in the catalog", d.channel)
	}
	return from, path, nil
}

// reset removes a previous run: its namespace, its catalog server, the CRD;
// then makes the namespace again.
func (d *demo) reset(ctx context.Context) error {
	d.step("fresh namespace %s", d.ns)
	_ = olm.StopServer(d.state, "catalog")
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns}},
		&apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: cachev1.CRDName}},
	} {
		if err := d.k8s.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("delete %s: %w", o.GetName(), err)
		}
		if err := wait.Gone(ctx, d.k8s, o, wait.Options{}); err != nil {
			return err
		}
	}
	return d.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns, Labels: d.podSecurity()}})
}

// serveCatalog serves the repository's catalog with opm and points a
// CatalogSource at it; the OperatorGroup gives the operator the namespace.
func (d *demo) serveCatalog(ctx context.Context) error {
	start := time.Now()
	spec, where, err := d.catalogSpec(ctx)
	if err != nil {
		return err
	}
	objs := []client.Object{
		&operatorsv1alpha1.CatalogSource{ObjectMeta: metav1.ObjectMeta{Name: catalogSource, Namespace: d.ns}, Spec: spec},
		&operatorsv1.OperatorGroup{
			ObjectMeta: metav1.ObjectMeta{Name: "memcached-demo", Namespace: d.ns},
			Spec:       operatorsv1.OperatorGroupSpec{TargetNamespaces: []string{d.ns}},
		},
	}
	for _, o := range objs {
		if err := d.k8s.Create(ctx, o); err != nil {
			return fmt.Errorf("create %T %s: %w", o, o.GetName(), err)
		}
	}
	if err := d.olm.WaitForCatalog(ctx, d.ns, catalogSource); err != nil {
		return err
	}
	d.record(start, stepCatalog, "CatalogSource connected to %s", where)
	return nil
}

// catalogSpec is the CatalogSource: the catalog image, whose registry pod
// OLM runs (the real-node lane), or opm serving the local rendering here.
func (d *demo) catalogSpec(ctx context.Context) (operatorsv1alpha1.CatalogSourceSpec, string, error) {
	spec := operatorsv1alpha1.CatalogSourceSpec{SourceType: operatorsv1alpha1.SourceTypeGrpc, DisplayName: "Memcached Operator releases"}
	if d.catalogImage != "" {
		d.step("catalog: CatalogSource with image %s (OLM runs its registry pod); OperatorGroup", d.catalogImage)
		spec.Image = d.catalogImage
		return spec, "the registry pod of " + d.catalogImage, nil
	}
	d.step("catalog: serving %s with opm; CatalogSource and OperatorGroup", d.catalogDir)
	srv, err := olm.StartServer(ctx, olm.ServerOptions{OPM: d.opm, Dir: d.catalogDir, StateDir: d.state, Name: "catalog"})
	if err != nil {
		return spec, "", err
	}
	spec.Address = srv.Addr
	return spec, "opm at " + srv.Addr, nil
}

// installFirst subscribes to the channel at from with manual approval,
// approves the first InstallPlan and waits for the CSV; it returns the plan.
func (d *demo) installFirst(ctx context.Context, from string) (string, error) {
	d.step("Subscription to %s, starting at %s, manual approval", d.channel, from)
	start := time.Now()
	sub := &operatorsv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Name: pkg, Namespace: d.ns},
		Spec: &operatorsv1alpha1.SubscriptionSpec{
			CatalogSource: catalogSource, CatalogSourceNamespace: d.ns, Package: pkg, Channel: d.channel,
			StartingCSV: from, InstallPlanApproval: operatorsv1alpha1.ApprovalManual,
		},
	}
	if err := d.k8s.Create(ctx, sub); err != nil {
		return "", fmt.Errorf("create Subscription %s/%s: %w", d.ns, sub.Name, err)
	}
	phases := &Phases{CSV: from}
	plan, _, err := d.olm.ApproveNext(ctx, d.ns, pkg, "")
	if err != nil {
		return "", err
	}
	phases.Approved = since(start)
	if err := d.olm.WaitForCSV(ctx, d.ns, from, pkg); err != nil {
		return "", err
	}
	phases.CSVSucceeded = since(start)
	d.record(start, stepInstall, "installed %s (InstallPlan %s)", from, plan).Phases = phases
	return plan, nil
}

// upgradeHop approves the InstallPlan after plan, checks it installs next
// as the catalog analysis predicts, restarts the operator as OLM rolls out
// its Deployment, and checks the Memcached is still reconciled. The hop's
// step carries when it reached each point, timed here.
func (d *demo) upgradeHop(ctx context.Context, mc *cachev1.Memcached, plan, next string) (string, error) {
	d.step("upgrade to %s: approve the InstallPlan the Subscription names", next)
	start := time.Now()
	phases := &Phases{CSV: next}
	plan, csvs, err := d.olm.ApproveNext(ctx, d.ns, pkg, plan)
	if err != nil {
		return "", err
	}
	if !slices.Equal(csvs, []string{next}) {
		return "", fmt.Errorf("InstallPlan %s installs %v; the catalog analysis predicts %s", plan, csvs, next)
	}
	phases.Approved = since(start)
	if err := d.olm.WaitForCSV(ctx, d.ns, next, pkg); err != nil {
		return "", err
	}
	phases.CSVSucceeded = since(start)
	d.stopOperator()
	if err := d.runOperator(ctx, next); err != nil {
		return "", err
	}
	phases.OperatorReady = since(start)
	if err := d.waitReconciled(ctx, mc, next); err != nil {
		return "", err
	}
	phases.Reconciled = since(start)
	now, err := d.podNames(ctx, mc)
	if err != nil {
		return "", err
	}
	kept := "memcached pods untouched"
	if phases.PodsReplaced = !slices.Equal(now, d.pods); phases.PodsReplaced {
		kept = "memcached pods replaced"
	}
	d.pods = now
	d.record(start, stepHop, "upgraded to %s; %s still reconciled, %s", next, mc.Name, kept).Phases = phases
	return plan, nil
}

// startOperator runs the manager as a local process, watching what OLM's
// install mode gave the CSV, as OLM's operator pod would.
func (d *demo) startOperator(ctx context.Context, csv string) error {
	if d.operator == nil {
		d.step("the operator runs on this machine, watching what OLM's install mode gives it")
	}
	watch, err := d.olm.TargetNamespaces(ctx, d.ns, csv)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(d.state, 0o755); err != nil {
		return err
	}
	logPath := filepath.Join(d.state, "manager.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return err
	}
	p, err := localmanager.Start(localmanager.Options{Binary: d.manager, WatchNamespace: watch, Log: logf, Why: localmanager.StandIn, Report: os.Stdout})
	if err != nil {
		logf.Close()
		return err
	}
	go func() { <-p.Exited(); logf.Close() }()
	d.operator = p
	fmt.Printf("    %s with %s=%q (log: %s)\n", d.manager, managerenv.WatchNamespace, watch, logPath)
	return nil
}

// stopOperator ends the manager at once, as a replaced pod would end.
func (d *demo) stopOperator() {
	if d.operator != nil {
		d.operator.Kill()
	}
}

// applySample creates the sample Memcached, as kubectl apply would, and
// waits for it to be reconciled; its pods are kept to tell later whether
// an upgrade replaced them.
func (d *demo) applySample(ctx context.Context) (*cachev1.Memcached, error) {
	d.step("kubectl apply -f %s", d.samplePath)
	start := time.Now()
	b, err := os.ReadFile(d.samplePath)
	if err != nil {
		return nil, err
	}
	mc := &cachev1.Memcached{}
	if err := yaml.UnmarshalStrict(b, mc); err != nil {
		return nil, fmt.Errorf("%s: %w", d.samplePath, err)
	}
	mc.Namespace = d.ns
	if err := d.k8s.Create(ctx, mc); err != nil {
		return nil, fmt.Errorf("create Memcached %s/%s: %w", mc.Namespace, mc.Name, err)
	}
	if err := d.waitReady(ctx, mc, ""); err != nil {
		return nil, err
	}
	d.record(start, stepSample, "%s reconciled: %d pods ready", mc.Name, mc.Spec.Size)
	if err := d.show(ctx, mc); err != nil {
		return nil, err
	}
	if d.pods, err = d.podNames(ctx, mc); err != nil {
		return nil, err
	}
	return mc, nil
}

// waitReady waits until the Memcached is ready by the status fields the
// installed CRD has (0.1.0's has only status.nodes) and, when image is set,
// its pods run that memcached image.
func (d *demo) waitReady(ctx context.Context, mc *cachev1.Memcached, image string) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := d.k8s.Get(ctx, client.ObjectKey{Name: cachev1.CRDName}, crd); err != nil {
		return fmt.Errorf("CRD %s: %w", cachev1.CRDName, err)
	}
	fields := readiness.FieldsOf(crd)
	return readiness.WaitFor(ctx, d.k8s, client.ObjectKeyFromObject(mc), readiness.Options{Fields: &fields, Image: image})
}

// podNames is the Memcached's status.nodes.
func (d *demo) podNames(ctx context.Context, mc *cachev1.Memcached) ([]string, error) {
	got := &cachev1.Memcached{}
	if err := d.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got); err != nil {
		return nil, err
	}
	return got.Status.Nodes, nil
}

// show prints the CSVs and the Memcached as kubectl get would.
func (d *demo) show(ctx context.Context, mc *cachev1.Memcached) error {
	got := &cachev1.Memcached{}
	if err := d.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got); err != nil {
		return err
	}
	csvs := &operatorsv1alpha1.ClusterServiceVersionList{}
	if err := d.k8s.List(ctx, csvs, client.InNamespace(d.ns)); err != nil {
		return err
	}
	for _, c := range csvs.Items {
		fmt.Printf("    ClusterServiceVersion %s: %s\n", c.Name, c.Status.Phase)
	}
	available := "-"
	if c := meta.FindStatusCondition(got.Status.Conditions, cachev1.ConditionAvailable); c != nil {
		available = string(c.Status)
	}
	fmt.Printf("    Memcached %s: size %d, available %s\n", got.Name, got.Spec.Size, available)
	for _, n := range got.Status.Nodes {
		fmt.Printf("      status.nodes: %s\n", n)
	}
	return nil
}
