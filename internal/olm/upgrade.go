package olm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// UpgradeBundle adds a bundle on top of the one run bundle installed, in
// the same served catalog, and drives the upgrade to it.
func (c *Client) UpgradeBundle(ctx context.Context, o RunOptions) (*Installed, error) {
	rb, err := renderBundle(ctx, o.Bundle, o.UseHTTP)
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
	cs := &operatorsv1alpha1.CatalogSource{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: o.Namespace, Name: inst.CatalogSource}, cs); err != nil {
		return nil, fmt.Errorf("CatalogSource %s/%s: %w", o.Namespace, inst.CatalogSource, err)
	}
	fbc, err := withUpgrade(ctx, filepath.Join(o.StateDir, rb.pkg, "catalog"), rb, from)
	if err != nil {
		return nil, err
	}
	server, err := serveCatalog(ctx, o, rb.pkg, fbc)
	if err != nil {
		return nil, err
	}
	patch := client.MergeFrom(cs.DeepCopy())
	cs.Spec.Address = server.Addr
	if err := c.Patch(ctx, cs, patch); err != nil {
		return nil, fmt.Errorf("point CatalogSource %s/%s at %s: %w", cs.Namespace, cs.Name, server.Addr, err)
	}
	say(o.Out, "serving %s replacing %s at %s", rb.csvName, from, server.Addr)
	previous := ""
	if sub.Status.InstallPlanRef != nil {
		previous = sub.Status.InstallPlanRef.Name
	}
	if inst.InstallPlan, err = c.approveAndWait(ctx, o, inst, previous); err != nil {
		return nil, err
	}
	return inst, nil
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

// withUpgrade is the catalog run bundle served from dir with rb added to its
// channel, replacing the installed CSV from.
func withUpgrade(ctx context.Context, dir string, rb *renderedBundle, from string) (*declcfg.DeclarativeConfig, error) {
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		return nil, fmt.Errorf("the catalog run bundle served (%s): %w", dir, err)
	}
	fbc.Bundles = append(fbc.Bundles, rb.cfg.Bundles...)
	for i := range fbc.Channels {
		if fbc.Channels[i].Name == Channel {
			fbc.Channels[i].Entries = append(fbc.Channels[i].Entries, declcfg.ChannelEntry{Name: rb.csvName, Replaces: from})
		}
	}
	return fbc, nil
}
