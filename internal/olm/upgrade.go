package olm

import (
	"context"
	"fmt"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// UpgradeBundle adds a bundle on top of the one run bundle installed, in
// the same served catalog, and drives the upgrade to it.
func (c *Client) UpgradeBundle(ctx context.Context, o RunOptions) (*Installed, error) {
	rb, err := renderBundle(ctx, o)
	if err != nil {
		return nil, err
	}
	inst := installed(rb, o.Namespace)
	sub, err := c.installedSubscription(ctx, o.Namespace, inst.Subscription)
	if err != nil {
		return nil, err
	}
	from := sub.Status.InstalledCSV
	if from == "" || from == rb.csvName {
		return nil, fmt.Errorf("Subscription %s/%s has installed %q: nothing to upgrade to %s from", o.Namespace, sub.Name, from, rb.csvName)
	}
	if err := c.serveUpgrade(ctx, o, rb, inst, from); err != nil {
		return nil, err
	}
	previous := ""
	if sub.Status.InstallPlanRef != nil {
		previous = sub.Status.InstallPlanRef.Name
	}
	if inst.InstallPlan, err = c.approveAndWait(ctx, o, inst, previous); err != nil {
		return nil, err
	}
	return inst, nil
}

// serveUpgrade serves the catalog run bundle serves with rb added on top
// of the installed CSV from, and points the CatalogSource at it; the old
// catalog stops serving only then.
func (c *Client) serveUpgrade(ctx context.Context, o RunOptions, rb *renderedBundle, inst *Installed, from string) error {
	cs, err := c.catalogSource(ctx, o.Namespace, inst.CatalogSource)
	if err != nil {
		return err
	}
	server := c.catalogServer(o, rb.pkg)
	fbc, err := server.served(ctx)
	if err != nil {
		return err
	}
	addr, err := server.serve(ctx, withUpgrade(fbc, rb, from))
	if err != nil {
		return err
	}
	patch := client.MergeFrom(cs.DeepCopy())
	cs.Spec.Address = addr
	if err := c.Patch(ctx, cs, patch); err != nil {
		_ = server.abandon(context.WithoutCancel(ctx))
		return fmt.Errorf("point CatalogSource %s/%s at %s: %w", cs.Namespace, cs.Name, addr, err)
	}
	say(o.Out, "serving %s replacing %s at %s", rb.csvName, from, addr)
	return server.retire(ctx)
}

// installedSubscription waits for run bundle's Subscription to record the
// installed CSV, which it does shortly after the CSV succeeds.
func (c *Client) installedSubscription(ctx context.Context, ns, name string) (*operatorsv1alpha1.Subscription, error) {
	sub := &operatorsv1alpha1.Subscription{}
	key := types.NamespacedName{Namespace: ns, Name: name}
	if err := c.Get(ctx, key, sub); err != nil {
		return nil, fmt.Errorf("Subscription %s/%s: %w (install with run bundle first)", ns, name, err)
	}
	o := c.waitOptions(fmt.Sprintf("Subscription %s/%s to record the installed CSV", ns, name), c.diagnoseSubscription(ns, name))
	err := wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
		if err := c.Get(ctx, key, sub); err != nil {
			return false, "", err
		}
		state := fmt.Sprintf("state %q, installed CSV %q", sub.Status.State, sub.Status.InstalledCSV)
		return sub.Status.InstalledCSV != "" && sub.Status.State == operatorsv1alpha1.SubscriptionStateAtLatest, state, nil
	})
	if err != nil {
		return nil, err
	}
	return sub, nil
}

// withUpgrade is the catalog fbc with rb added to run bundle's channel,
// replacing the installed CSV from.
func withUpgrade(fbc *declcfg.DeclarativeConfig, rb *renderedBundle, from string) *declcfg.DeclarativeConfig {
	fbc.Bundles = append(fbc.Bundles, rb.cfg.Bundles...)
	for i := range fbc.Channels {
		if fbc.Channels[i].Name == Channel {
			fbc.Channels[i].Entries = append(fbc.Channels[i].Entries, declcfg.ChannelEntry{Name: rb.csvName, Replaces: from})
		}
	}
	return fbc
}
