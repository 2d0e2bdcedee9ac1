//go:build olmnode

package olmnode

import (
	"context"
	"slices"
	"sort"
	"testing"
	"time"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/test/framework"
)

// channelTimeout bounds one channel: its catalog, first install and hops.
const channelTimeout = 8 * time.Minute

// TestUpgradesOnRealNode runs framework.UpgradeAlongChannel, the scenario
// test/olm runs on the simulated lane, on the real node in every channel:
// from the bundle with the longest path to the head, OLM in the cluster
// installs it from the catalog image (manual approval) and each approved
// InstallPlan takes exactly the hop the catalog analysis predicts, until the
// rest of the path is one an earlier channel walked. After each hop OLM has
// rolled the operator pod to that release's own image (built from its
// source: make release-images), the Memcached keeps its spec and shows
// every printer column of the CRD now served, and its pods keep the data
// written before the hop, unless the release changes the operand image:
// then they run the new one and serve.
//
// 0.1.0's operator Deployment sets no security context and released bundles
// do not change: restricted refuses its pod, so channels are upgraded under
// baseline. The head runs under restricted (TestInstallFromCatalogImage);
// the memcached pods, which every release's operator makes restricted, are
// checked on every hop.
func TestUpgradesOnRealNode(t *testing.T) {
	_, e := setup(t)
	report := framework.AnalyzeCatalog(t, framework.Env(t, "CATALOG_DIR", "test-olm-node"))
	channels := slices.Clone(report.Channels)
	sort.Slice(channels, func(i, j int) bool { return channels[i].Name < channels[j].Name })
	lane := *e.lane
	lane.Level = "baseline"
	walked := map[string]framework.Walk{}
	for _, ch := range channels {
		t.Run(ch.Name, func(t *testing.T) {
			if _, path := ch.Farthest(); len(path) == 0 {
				t.Skipf("channel %s: no bundle has an upgrade", ch.Name)
			}
			ctx, cancel := context.WithTimeout(context.Background(), channelTimeout)
			defer cancel()
			framework.UpgradeAlongChannel(ctx, t, framework.UpgradeAlongChannelInput{Lane: &lane, Channel: ch, Size: 2, Walked: walked})
		})
	}
}

// upgrade is one install from the catalog image, in the test's namespace,
// for tests that act on a hop between the framework's steps.
type upgrade struct {
	env
	channel string
	sub     string
	mc      *cachev1.Memcached
}

// install subscribes at from with manual approval, approves the first plan
// and creates a Memcached of size 2 that is ready and serves
// (framework.InstallFirst). It returns the plan approved.
func (u *upgrade) install(ctx context.Context, t *testing.T, from string) string {
	t.Helper()
	plan, mc := framework.InstallFirst(ctx, t, framework.InstallFirstInput{Lane: u.lane, Namespace: u.ns, Channel: u.channel, StartingCSV: from, Size: 2})
	u.sub, u.mc = u.pkg+"-sub", mc
	return plan
}
