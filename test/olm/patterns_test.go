//go:build olm

package olm

import (
	"context"
	"path/filepath"
	"slices"
	"testing"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/graph"
	"github.com/example-inc/memcached-operator/test/framework"
)

// What the analysis says of catalog patterns, checked against OLM itself.

// A skipped bundle is pruned from upgrade candidates only: a Subscription's
// startingCSV installs it, and it upgrades to where the analysis says.
func TestSkippedBundleInstallsByStartingCSV(t *testing.T) {
	e := setup(t)
	n := 0
	for _, c := range e.report.Channels {
		for _, skipped := range c.Skipped {
			n++
			t.Run(c.Name+"/"+skipped, func(t *testing.T) {
				e.installThenHop(t, e.catalog, c, skipped)
			})
		}
	}
	if n == 0 {
		t.Fatal("the catalog skips no bundle: nothing to install by startingCSV")
	}
}

// A replaces cycle whose entries the head skips (so opm accepts the
// catalog) is never walked: each entry, installed by startingCSV, upgrades
// to the head in one hop, as the analysis says.
func TestCoveredCycleUpgradesToTheHead(t *testing.T) {
	e := setup(t)
	dir, report := e.coveredCycleCatalog(t)
	c := report.Channels[0]
	for _, from := range []string{"memcached-operator.v0.3.0", "memcached-operator.v0.3.1"} {
		if c.Next[from] != c.Head {
			t.Fatalf("the analysis upgrades %s to %q, want the head %s in one hop:\n%s", from, c.Next[from], c.Head, report.Text())
		}
		t.Run(from, func(t *testing.T) { e.installThenHop(t, dir, c, from) })
	}
}

// installThenHop installs bundle from the channel of the catalog in dir by
// startingCSV, then approves one upgrade: it must install the analysis'
// next hop.
func (e *env) installThenHop(t *testing.T, dir string, c graph.ChannelReport, from string) {
	lane := e.lane.WithCatalog(dir)
	ns := lane.Namespace(t, "start")
	ctx := ctxT(t)
	source := lane.ServeCatalog(ctx, t, ns)
	sub := framework.Subscribe(ctx, t, framework.SubscribeInput{Lane: lane, Namespace: ns, CatalogSource: source, Channel: c.Name, StartingCSV: from, Approval: operatorsv1alpha1.ApprovalManual})
	plan := framework.ApproveNextHop(ctx, t, framework.ApproveNextHopInput{Lane: lane, Namespace: ns, Subscription: sub, Want: from})
	framework.ApproveNextHop(ctx, t, framework.ApproveNextHopInput{Lane: lane, Namespace: ns, Subscription: sub, After: plan, Want: c.Next[from]})
}

// coveredCycleCatalog writes a catalog of the releases 0.3.0 to 0.3.2 in one
// channel: 0.3.0 and 0.3.1 replace each other, and 0.3.2 skips both. opm
// validates it and the analysis finds no error.
func (e *env) coveredCycleCatalog(t *testing.T) (string, *graph.Report) {
	t.Helper()
	ctx := context.Background()
	cfg, err := catalog.Load(ctx, e.catalog)
	must(t, err)
	keep := []string{"memcached-operator.v0.3.0", "memcached-operator.v0.3.1", "memcached-operator.v0.3.2"}
	cfg.Bundles = slices.DeleteFunc(cfg.Bundles, func(b declcfg.Bundle) bool { return !slices.Contains(keep, b.Name) })
	cfg.Deprecations = nil
	cfg.Packages[0].DefaultChannel = "cycle"
	cfg.Channels = []declcfg.Channel{{Schema: declcfg.SchemaChannel, Package: pkg, Name: "cycle", Entries: []declcfg.ChannelEntry{
		{Name: keep[0], Replaces: keep[1]},
		{Name: keep[1], Replaces: keep[0]},
		{Name: keep[2], Skips: keep[:2], SkipRange: ">=0.3.0 <0.3.2"},
	}}}
	report, err := catalog.Analyze(ctx, cfg)
	if err != nil || report.Errors() > 0 {
		t.Fatalf("the covered cycle's catalog: %v\n%v", err, report)
	}
	dir := filepath.Join(t.TempDir(), "catalog")
	must(t, declcfg.WriteFS(*cfg, dir, declcfg.WriteYAML, ".yaml"))
	return dir, report
}
