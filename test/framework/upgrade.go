package framework

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/graph"
)

// Walk is the rest of a path to the head that a channel's run walked from
// a bundle.
type Walk struct {
	Channel string
	Rest    []string
}

// UpgradeAlongChannelInput is one channel to upgrade along, hop by hop.
type UpgradeAlongChannelInput struct {
	Lane Lane
	// Channel is the catalog analysis' report of the channel: the path
	// from its farthest bundle to the head is what OLM must take.
	Channel graph.ChannelReport
	// Size is the Memcached's spec.size; at the head it is scaled by one.
	Size int32
	// Walked, when not nil, records each hop walked, and the run stops where
	// the rest of its path is one an earlier channel walked (channels share
	// their tails: 0.3.0 -> 0.3.1 -> 0.3.2). Nil: every hop is walked.
	Walked map[string]Walk
}

// UpgradeAlongChannel: from the channel's bundle with the longest path to
// the head, installed from scratch (no CRD) by startingCSV with manual
// approval, each approved InstallPlan installs exactly the hop the catalog
// analysis predicts (ApproveNextHop) and lands (HopLanded): a Memcached
// created under the first release keeps its spec and its pods (unless the
// release changes the operand: then new pods serve). At the head, scaling
// still works and Available is reported.
func UpgradeAlongChannel(ctx context.Context, t *testing.T, in UpgradeAlongChannelInput) {
	t.Helper()
	ch, c := in.Channel.Name, in.Lane.OLM().Client
	from, path := in.Channel.Farthest()
	if len(path) == 0 {
		t.Fatalf("channel %s has no upgrade path", ch)
	}
	RemoveCRD(ctx, t, c) // from nothing: the oldest release's CRD, not a newer one left by another test
	// Registered before the namespace, so it runs after the namespace's
	// cleanup: while the Subscription and the CSV are there, OLM may make
	// the CRD again (CI's simulated lane saw it still there after a minute).
	t.Cleanup(func() {
		if err := removeCRD(context.Background(), c); err != nil {
			t.Error(err)
		}
	})
	ns := in.Lane.Namespace(t, "upgrade-"+ch)
	plan, mc := InstallFirst(ctx, t, InstallFirstInput{Lane: in.Lane, Namespace: ns, Channel: in.Channel.Name, StartingCSV: from, Size: in.Size})
	for i, next := range path {
		if w, ok := in.Walked[from]; ok && slices.Equal(w.Rest, path[i:]) {
			t.Logf("%s: from %s on, the path %v was walked in channel %s: stop here", ch, from, w.Rest, w.Channel)
			return
		}
		before := BeforeHop(ctx, t, BeforeHopInput{Lane: in.Lane, Memcached: mc, CSV: from})
		start := time.Now()
		plan = ApproveNextHop(ctx, t, ApproveNextHopInput{Lane: in.Lane, Namespace: ns, Subscription: in.Lane.Package() + "-sub", After: plan, Want: next})
		rolled := since(start)
		operand := HopLanded(ctx, t, HopLandedInput{Lane: in.Lane, Memcached: mc, CSV: next, Before: before})
		kept := "its pods kept"
		if operand != before.Operand {
			kept = fmt.Sprintf("operand %s -> %s: pods replaced and serving (memcached keeps data in memory only)", before.Operand, operand)
		}
		t.Logf("%s (%s): %s -> %s: operator running in %s, landed in %s; %s", ch, in.Lane, from, next, rolled, since(start), kept)
		if in.Walked != nil {
			in.Walked[from] = Walk{Channel: ch, Rest: path[i:]} // once the hop landed
		}
		from = next
	}
	// Reconciled under the head's CRD: scaling still works and Available is reported.
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"size":%d}}`, in.Size+1))
	if err := c.Patch(ctx, mc.DeepCopy(), patch); err != nil {
		t.Fatal(err)
	}
	WaitForMemcached(ctx, t, WaitForMemcachedInput{Lane: in.Lane, Memcached: mc, CSV: from, Operand: in.Lane.Operand(ctx, t, ns, from), Available: true})
}

// InstallFirstInput is the first release to install, by startingCSV with
// manual approval, and the Memcached to create under it.
type InstallFirstInput struct {
	Lane        Lane
	Namespace   string
	Channel     string
	StartingCSV string
	// Size is the Memcached's spec.size.
	Size int32
}

// InstallFirst serves the catalog, subscribes at StartingCSV, approves the
// first plan (ApproveNextHop) and creates the Memcached "upgraded", which
// must be ready (and, where the lane reaches its pods, serve). It returns
// the plan approved and the Memcached.
func InstallFirst(ctx context.Context, t *testing.T, in InstallFirstInput) (string, *cachev1.Memcached) {
	t.Helper()
	source := in.Lane.ServeCatalog(ctx, t, in.Namespace)
	sub := Subscribe(ctx, t, SubscribeInput{Lane: in.Lane, Namespace: in.Namespace, CatalogSource: source, Channel: in.Channel, StartingCSV: in.StartingCSV, Approval: operatorsv1alpha1.ApprovalManual})
	start := time.Now()
	plan := ApproveNextHop(ctx, t, ApproveNextHopInput{Lane: in.Lane, Namespace: in.Namespace, Subscription: sub, Want: in.StartingCSV})
	t.Logf("%s (%s): %s installed, operator running, in %s", in.Channel, in.Lane, in.StartingCSV, since(start))
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: "upgraded", Namespace: in.Namespace}, Spec: cachev1.MemcachedSpec{Size: in.Size}}
	if err := in.Lane.OLM().Create(ctx, mc); err != nil {
		t.Fatal(err)
	}
	WaitForMemcached(ctx, t, WaitForMemcachedInput{Lane: in.Lane, Memcached: mc, CSV: in.StartingCSV, Operand: in.Lane.Operand(ctx, t, in.Namespace, in.StartingCSV)})
	if in.Lane.ReachesPods() {
		AssertServes(ctx, t, in.Lane.OLM().Client, mc, "installed-"+in.StartingCSV)
	}
	return plan, mc
}

func since(t time.Time) time.Duration { return time.Since(t).Round(100 * time.Millisecond) }
