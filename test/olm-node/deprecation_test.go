//go:build olmnode

package olmnode

import (
	"context"
	"fmt"
	"strings"
	"testing"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// TestSubscriptionShowsDeprecations: the catalog's olm.deprecations reach
// the subscriber as OLM shows them. Installed from a deprecated channel at a
// deprecated bundle, the Subscription says both (ChannelDeprecated,
// BundleDeprecated and the Deprecated roll-up, with the catalog's
// messages); upgraded to a bundle that is not deprecated, only the channel's
// condition stays.
func TestSubscriptionShowsDeprecations(t *testing.T) {
	ctx, e := setup(t)
	channel, bundle, channelMsg, bundleMsg := deprecatedChannelAndBundle(t, framework.Env(t, "CATALOG_DIR", "test-olm-node"))
	cs := e.lane.ServeCatalog(ctx, t, e.ns)
	sub := framework.Subscribe(ctx, t, framework.SubscribeInput{Lane: e.lane, Namespace: e.ns, CatalogSource: cs, Channel: channel, StartingCSV: bundle, Approval: operatorsv1alpha1.ApprovalManual})
	plan, _, err := e.olm.ApproveNext(within(ctx, t, installTimeout), e.ns, sub, "")
	if err != nil {
		t.Fatal(err)
	}
	if err := e.olm.WaitForCSV(within(ctx, t, installTimeout), e.ns, bundle, sub); err != nil {
		t.Fatal(err)
	}
	e.waitConditions(ctx, t, sub, map[operatorsv1alpha1.SubscriptionConditionType]string{
		operatorsv1alpha1.SubscriptionChannelDeprecated: channelMsg,
		operatorsv1alpha1.SubscriptionBundleDeprecated:  bundleMsg,
		operatorsv1alpha1.SubscriptionDeprecated:        "",
	})
	t.Logf("installed %s from channel %s: ChannelDeprecated, BundleDeprecated and Deprecated with the catalog's messages", bundle, channel)

	_, csvs, err := e.olm.ApproveNext(within(ctx, t, installTimeout), e.ns, sub, plan)
	if err != nil {
		t.Fatal(err)
	}
	next := csvs[len(csvs)-1]
	if err := e.olm.WaitForCSV(within(ctx, t, installTimeout), e.ns, next, sub); err != nil {
		t.Fatal(err)
	}
	e.waitConditions(ctx, t, sub, map[operatorsv1alpha1.SubscriptionConditionType]string{
		operatorsv1alpha1.SubscriptionChannelDeprecated: channelMsg,
		operatorsv1alpha1.SubscriptionBundleDeprecated:  "-",
		operatorsv1alpha1.SubscriptionDeprecated:        "",
	})
	t.Logf("upgraded to %s: BundleDeprecated gone, ChannelDeprecated stays", next)
}

// deprecatedChannelAndBundle finds in the catalog a deprecated channel with
// a deprecated bundle that is not its head, and the messages OLM shows for
// them.
func deprecatedChannelAndBundle(t *testing.T, dir string) (channel, bundle, channelMsg, bundleMsg string) {
	t.Helper()
	cfg, err := catalog.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	msgs := map[string]map[string]string{declcfg.SchemaChannel: {}, declcfg.SchemaBundle: {}}
	for _, d := range cfg.Deprecations {
		for _, e := range d.Entries {
			if m, ok := msgs[e.Reference.Schema]; ok {
				m[e.Reference.Name] = e.Message
			}
		}
	}
	for _, ch := range framework.AnalyzeCatalog(t, dir).Channels {
		chMsg, ok := msgs[declcfg.SchemaChannel][ch.Name]
		if !ok {
			continue
		}
		for _, b := range ch.Bundles() {
			if bMsg, ok := msgs[declcfg.SchemaBundle][b]; ok && b != ch.Head {
				// OLM prefixes the catalog's message with what it deprecates.
				return ch.Name, b, declcfg.SchemaChannel + "/" + ch.Name + ": " + chMsg, declcfg.SchemaBundle + "/" + b + ": " + bMsg
			}
		}
	}
	t.Fatalf("%s: no deprecated channel holds a deprecated bundle below its head (config/catalog/template.yaml's olm.deprecations)", dir)
	return "", "", "", ""
}

// waitConditions waits until the Subscription carries each condition True
// with its message ("" for any message), or, for "-", not True.
func (e *env) waitConditions(ctx context.Context, t *testing.T, sub string, want map[operatorsv1alpha1.SubscriptionConditionType]string) {
	t.Helper()
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("Subscription %s/%s deprecation conditions", e.ns, sub), Timeout: installTimeout},
		func(ctx context.Context) (bool, string, error) {
			s := &operatorsv1alpha1.Subscription{}
			if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: sub}, s); err != nil {
				return false, "", err
			}
			var seen []string
			ok := true
			for typ, msg := range want {
				c := s.Status.GetCondition(typ)
				seen = append(seen, fmt.Sprintf("%s=%s %q", typ, c.Status, c.Message))
				switch {
				case msg == "-":
					ok = ok && c.Status != corev1.ConditionTrue
				case c.Status != corev1.ConditionTrue:
					ok = false
				case msg != "" && c.Message != msg:
					ok = false
				}
			}
			return ok, strings.Join(seen, "; "), nil
		})
	if err != nil {
		t.Fatal(err)
	}
}
