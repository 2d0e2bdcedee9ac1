package framework

import (
	"context"
	"slices"
	"sort"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/controller"
)

// ApproveNextHopInput names the InstallPlan to approve and what it must install.
type ApproveNextHopInput struct {
	Lane         Lane
	Namespace    string
	Subscription string
	// After is the InstallPlan approved before; empty for the first install.
	After string
	// Want is the one CSV the plan must install: the startingCSV for the
	// first plan, else the next hop the catalog analysis predicts
	// (internal/graph).
	Want string
}

// ApproveNextHop approves the next InstallPlan and checks it installs
// exactly Want (ApprovePlan), then waits until Want is installed
// (WaitForInstalled). It returns the plan approved.
func ApproveNextHop(ctx context.Context, t *testing.T, in ApproveNextHopInput) string {
	t.Helper()
	plan := ApprovePlan(ctx, t, in)
	WaitForInstalled(ctx, t, WaitForInstalledInput{Lane: in.Lane, Namespace: in.Namespace, Subscription: in.Subscription, CSV: in.Want})
	return plan
}

// ApprovePlan approves the InstallPlan that follows After once the
// Subscription names it, and checks it installs exactly Want. It returns
// the plan approved, without waiting for it to run.
func ApprovePlan(ctx context.Context, t *testing.T, in ApproveNextHopInput) string {
	t.Helper()
	plan, csvs, err := in.Lane.OLM().ApproveNext(ctx, in.Namespace, in.Subscription, in.After)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(csvs, []string{in.Want}) {
		if in.After == "" {
			t.Fatalf("the first InstallPlan %s installs %v, want startingCSV %s", plan, csvs, in.Want)
		}
		t.Fatalf("InstallPlan %s installs %v; the catalog analysis predicts %s", plan, csvs, in.Want)
	}
	return plan
}

// WaitForInstalledInput is a CSV an approved InstallPlan installs.
type WaitForInstalledInput struct {
	Lane         Lane
	Namespace    string
	Subscription string
	CSV          string
}

// WaitForInstalled waits until the CSV succeeded (a Failed CSV ends the wait
// with OLM's account of why) and the operator runs for it (Lane.RunOperator).
func WaitForInstalled(ctx context.Context, t *testing.T, in WaitForInstalledInput) {
	t.Helper()
	if err := in.Lane.OLM().WaitForCSV(ctx, in.Namespace, in.CSV, in.Subscription); err != nil {
		t.Fatal(err)
	}
	in.Lane.RunOperator(ctx, t, in.Namespace, in.CSV)
}

// WaitForMemcachedInput is a Memcached to wait for under an installed CSV.
type WaitForMemcachedInput struct {
	Lane      Lane
	Memcached *cachev1.Memcached
	// CSV is the installed CSV; Operand the image its pods must run (Lane.Operand).
	CSV, Operand string
	// Available asserts the served CRD has status.conditions, so that ready
	// includes Available.
	Available bool
}

// WaitForMemcached waits until the Memcached is ready (Lane.WaitForMemcached:
// internal/readiness by the fields the served CRD has) and checks
// status.nodes names spec.size pods.
func WaitForMemcached(ctx context.Context, t *testing.T, in WaitForMemcachedInput) {
	t.Helper()
	c := in.Lane.OLM().Client
	if in.Available && !servedCRDFields(ctx, t, c).Conditions {
		t.Fatalf("the installed CRD %s has no status.conditions: Available cannot be reported", cachev1.CRDName)
	}
	in.Lane.WaitForMemcached(ctx, t, in.Memcached, in.CSV, in.Operand)
	got := &cachev1.Memcached{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(in.Memcached), got); err != nil {
		t.Fatal(err)
	}
	if len(got.Status.Nodes) != int(got.Spec.Size) {
		t.Fatalf("Memcached %s/%s ready with %d pods in status.nodes, want %d", got.Namespace, got.Name, len(got.Status.Nodes), got.Spec.Size)
	}
}

// HopState is what a hop must keep: the operand, the memcached pods and,
// where the lane reaches them, a key they hold.
type HopState struct {
	// CSV is the CSV installed before the hop; Operand the image it gives.
	CSV, Operand string
	// PodUIDs are the Memcached's pods (by its instance label, not
	// terminating), sorted.
	PodUIDs []string
	// Stored are the pods that hold Key = "kept" (Lane.ReachesPods only).
	Stored []corev1.Pod
	Key    string
}

// BeforeHopInput is the Memcached to record before the hop from CSV.
type BeforeHopInput struct {
	Lane      Lane
	Memcached *cachev1.Memcached
	CSV       string
}

// BeforeHop records the state HopLanded checks against; where the lane
// reaches the pods it writes a key into each first.
func BeforeHop(ctx context.Context, t *testing.T, in BeforeHopInput) *HopState {
	t.Helper()
	s := &HopState{CSV: in.CSV, Operand: in.Lane.Operand(ctx, t, in.Memcached.Namespace, in.CSV)}
	if in.Lane.ReachesPods() {
		s.Key = "written-under-" + in.CSV
		s.Stored = Store(ctx, t, in.Lane.OLM().Client, in.Memcached, s.Key, "kept")
	}
	s.PodUIDs = podUIDs(ctx, t, in.Lane.OLM().Client, in.Memcached)
	return s
}

// HopLandedInput is a hop to check once ApproveNextHop installed CSV.
type HopLandedInput struct {
	Lane      Lane
	Memcached *cachev1.Memcached
	CSV       string
	Before    *HopState
}

// HopLanded checks what a user checks once OLM runs the new CSV: the
// Memcached is ready under it with its spec, its pods restricted, and, when
// the release kept the operand, the same pods (holding the key written
// before, where the lane reaches them); otherwise new pods that serve. It
// returns the new operand.
func HopLanded(ctx context.Context, t *testing.T, in HopLandedInput) string {
	t.Helper()
	c := in.Lane.OLM().Client
	operand := in.Lane.Operand(ctx, t, in.Memcached.Namespace, in.CSV)
	WaitForMemcached(ctx, t, WaitForMemcachedInput{Lane: in.Lane, Memcached: in.Memcached, CSV: in.CSV, Operand: operand})
	got := &cachev1.Memcached{}
	if err := c.Get(ctx, client.ObjectKeyFromObject(in.Memcached), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.Size != in.Memcached.Spec.Size {
		t.Errorf("after %s: spec.size %d, want %d", in.CSV, got.Spec.Size, in.Memcached.Spec.Size)
	}
	for _, p := range ListedPods(ctx, t, c, in.Memcached) {
		if why := NotRestricted(&p.Spec); why != "" {
			t.Errorf("under %s: memcached pod %s is not restricted: %s", in.CSV, p.Name, why)
		}
	}
	switch {
	case operand != in.Before.Operand:
		if in.Lane.ReachesPods() {
			AssertServes(ctx, t, c, in.Memcached, "after-"+in.CSV)
		}
	default:
		if now := podUIDs(ctx, t, c, in.Memcached); !slices.Equal(now, in.Before.PodUIDs) {
			t.Errorf("after the hop %s -> %s (operand %q kept): memcached pods were replaced (%v -> %v)", in.Before.CSV, in.CSV, operand, in.Before.PodUIDs, now)
		}
		AssertStored(t, in.Before.Stored, in.Before.Key, "kept")
	}
	return operand
}

// NotRestricted says why a pod spec misses the restricted Pod Security
// Standard (the fields the API server's restricted checks read); empty
// when it meets it.
func NotRestricted(spec *corev1.PodSpec) string {
	sc := spec.SecurityContext
	if sc == nil || sc.RunAsNonRoot == nil || !*sc.RunAsNonRoot || sc.SeccompProfile == nil || sc.SeccompProfile.Type != corev1.SeccompProfileTypeRuntimeDefault {
		return "the pod must set runAsNonRoot and the RuntimeDefault seccomp profile"
	}
	for _, c := range spec.Containers {
		csc := c.SecurityContext
		if csc == nil || csc.AllowPrivilegeEscalation == nil || *csc.AllowPrivilegeEscalation || csc.Capabilities == nil || !slices.Equal(csc.Capabilities.Drop, []corev1.Capability{"ALL"}) {
			return "container " + c.Name + " must forbid privilege escalation and drop ALL capabilities"
		}
	}
	return ""
}

// podUIDs are the UIDs of the Memcached's pods (its instance label) that
// are not terminating, sorted.
func podUIDs(ctx context.Context, t testing.TB, c client.Client, mc *cachev1.Memcached) []string {
	t.Helper()
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(mc.Namespace), client.MatchingLabels{controller.LabelInstance: mc.Name}); err != nil {
		t.Fatal(err)
	}
	var uids []string
	for _, p := range pods.Items {
		// A pod of the operand before last, still terminating after the
		// previous hop replaced it, is not one this hop could keep.
		if p.DeletionTimestamp == nil {
			uids = append(uids, string(p.UID))
		}
	}
	sort.Strings(uids)
	return uids
}
