package olm

import (
	"context"
	"fmt"
	"io"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

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
	// IndexImage, when set, serves the catalog from a registry pod running
	// this image (opm and sh), as operator-sdk does: what OLM in the cluster
	// needs. Unset, opm (OPM) serves it on this host, for OLM running here.
	IndexImage string
	// DecompressionImage unpacks the catalog in the registry pod (sh, cat,
	// gzip); IndexImage when unset.
	DecompressionImage string
	// OPM is the opm binary that serves the catalog on this host.
	OPM string
	// StateDir keeps the served catalogs, their logs and pid files.
	StateDir string
	Out      io.Writer
}

// Installed is what RunBundle and UpgradeBundle leave on the cluster.
type Installed struct {
	Package, CSV, Subscription, CatalogSource, InstallPlan, Namespace string
}

// installed names what run bundle makes for a rendered bundle.
func installed(rb *renderedBundle, ns string) *Installed {
	return &Installed{Package: rb.pkg, CSV: rb.csvName, Namespace: ns, Subscription: rb.pkg + "-sub", CatalogSource: rb.pkg + "-catalog"}
}

// RunBundle installs a bundle directory or image through OLM as
// `operator-sdk run bundle` does: a one-bundle catalog (served by a registry
// pod, or by opm on this host), a CatalogSource, an
// OperatorGroup (reused if the namespace has one), a Subscription with
// manual approval; it approves the InstallPlan and waits for the CSV.
func (c *Client) RunBundle(ctx context.Context, o RunOptions) (*Installed, error) {
	rb, err := renderBundle(ctx, o)
	if err != nil {
		return nil, err
	}
	if err := c.namespaceExists(ctx, o.Namespace); err != nil {
		return nil, err
	}
	inst := installed(rb, o.Namespace)
	if err := c.createCatalogSource(ctx, o, rb, inst); err != nil {
		return nil, err
	}
	if err := c.ensureOperatorGroup(ctx, o, rb); err != nil {
		return nil, err
	}
	if err := c.subscribe(ctx, o, inst); err != nil {
		return nil, err
	}
	if inst.InstallPlan, err = c.approveAndWait(ctx, o, inst, ""); err != nil {
		return nil, err
	}
	return inst, nil
}

func (c *Client) namespaceExists(ctx context.Context, ns string) error {
	if err := c.Get(ctx, types.NamespacedName{Name: ns}, &corev1.Namespace{}); err != nil {
		if apierrors.IsNotFound(err) {
			return fmt.Errorf("namespace %s does not exist: create it first (kubectl create namespace %s)", ns, ns)
		}
		return fmt.Errorf("namespace %s: %w", ns, err)
	}
	return nil
}

// createCatalogSource serves a catalog of the one bundle and points a new
// CatalogSource at it, then waits for OLM to connect.
func (c *Client) createCatalogSource(ctx context.Context, o RunOptions, rb *renderedBundle, inst *Installed) error {
	fbc := &declcfg.DeclarativeConfig{
		Packages: []declcfg.Package{{Schema: declcfg.SchemaPackage, Name: rb.pkg, DefaultChannel: Channel}},
		Channels: []declcfg.Channel{{Schema: declcfg.SchemaChannel, Name: Channel, Package: rb.pkg, Entries: []declcfg.ChannelEntry{{Name: rb.csvName}}}},
		Bundles:  rb.cfg.Bundles,
	}
	if err := c.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: inst.CatalogSource}, &operatorsv1alpha1.CatalogSource{}); err == nil {
		return fmt.Errorf("CatalogSource %s/%s exists: %s is installed already; run cleanup %s --namespace %s first, or run bundle-upgrade",
			o.Namespace, inst.CatalogSource, rb.pkg, rb.pkg, o.Namespace)
	}
	server := c.catalogServer(o, rb.pkg)
	addr, err := server.serve(ctx, fbc)
	if err != nil {
		return err
	}
	say(o.Out, "serving a catalog of %s at %s", rb.csvName, addr)
	cs := &operatorsv1alpha1.CatalogSource{
		ObjectMeta: metav1.ObjectMeta{Name: inst.CatalogSource, Namespace: o.Namespace, Labels: map[string]string{managedLabel: rb.pkg}},
		Spec: operatorsv1alpha1.CatalogSourceSpec{
			SourceType: operatorsv1alpha1.SourceTypeGrpc, Address: addr,
			DisplayName: rb.pkg + " (run bundle)", Publisher: "sdk run bundle",
		},
	}
	if err := c.Create(ctx, cs); err != nil {
		_ = server.abandon(context.WithoutCancel(ctx))
		return fmt.Errorf("create CatalogSource %s/%s: %w", o.Namespace, cs.Name, err)
	}
	say(o.Out, "created CatalogSource %s/%s", o.Namespace, cs.Name)
	return c.WaitForCatalog(ctx, o.Namespace, cs.Name)
}

// catalogSource gets a CatalogSource.
func (c *Client) catalogSource(ctx context.Context, ns, name string) (*operatorsv1alpha1.CatalogSource, error) {
	cs := &operatorsv1alpha1.CatalogSource{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cs); err != nil {
		return nil, fmt.Errorf("CatalogSource %s/%s: %w", ns, name, err)
	}
	return cs, nil
}

// subscribe creates the Subscription to the one-bundle channel, starting at
// the bundle, with manual approval so run bundle approves the plan it expects.
func (c *Client) subscribe(ctx context.Context, o RunOptions, inst *Installed) error {
	sub := &operatorsv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Name: inst.Subscription, Namespace: o.Namespace, Labels: map[string]string{managedLabel: inst.Package}},
		Spec: &operatorsv1alpha1.SubscriptionSpec{
			CatalogSource: inst.CatalogSource, CatalogSourceNamespace: o.Namespace, Package: inst.Package, Channel: Channel,
			StartingCSV: inst.CSV, InstallPlanApproval: operatorsv1alpha1.ApprovalManual,
		},
	}
	if err := c.Create(ctx, sub); err != nil {
		return fmt.Errorf("create Subscription %s/%s: %w", o.Namespace, sub.Name, err)
	}
	say(o.Out, "created Subscription %s/%s (manual approval)", o.Namespace, sub.Name)
	return nil
}

// approveAndWait approves the Subscription's next InstallPlan after
// previousPlan and waits for the CSV it installs.
func (c *Client) approveAndWait(ctx context.Context, o RunOptions, inst *Installed, previousPlan string) (string, error) {
	plan, csvs, err := c.ApproveNext(ctx, o.Namespace, inst.Subscription, previousPlan)
	if err != nil {
		return "", err
	}
	say(o.Out, "approved InstallPlan %s/%s for %v", o.Namespace, plan, csvs)
	if err := c.WaitForCSV(ctx, o.Namespace, inst.CSV, inst.Subscription); err != nil {
		return "", err
	}
	say(o.Out, "ClusterServiceVersion %s/%s: Succeeded", o.Namespace, inst.CSV)
	return plan, nil
}
