package olm

import (
	"context"
	"errors"
	"slices"
	"strings"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/wait"
)

func fakeClient(objs ...client.Object) *Client {
	return &Client{Client: fake.NewClientBuilder().WithScheme(kubeclient.Scheme()).WithObjects(objs...).
		// The API server selects any object by metadata.name.
		WithIndex(&operatorsv1alpha1.ClusterServiceVersion{}, "metadata.name", func(o client.Object) []string { return []string{o.GetName()} }).
		Build(), Poll: 5 * time.Millisecond, CleanupQuiet: 20 * time.Millisecond}
}

func subscription(plan, csv string) *operatorsv1alpha1.Subscription {
	s := &operatorsv1alpha1.Subscription{ObjectMeta: metav1.ObjectMeta{Name: "sub", Namespace: "ns"}, Spec: &operatorsv1alpha1.SubscriptionSpec{}}
	s.Status.CurrentCSV = csv
	if plan != "" {
		s.Status.InstallPlanRef = &corev1.ObjectReference{Name: plan, Namespace: "ns"}
	}
	return s
}

func installPlan(name string, phase operatorsv1alpha1.InstallPlanPhase, csvs ...string) *operatorsv1alpha1.InstallPlan {
	return &operatorsv1alpha1.InstallPlan{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Spec:       operatorsv1alpha1.InstallPlanSpec{ClusterServiceVersionNames: csvs, Approval: operatorsv1alpha1.ApprovalManual},
		Status:     operatorsv1alpha1.InstallPlanStatus{Phase: phase},
	}
}

func csvIn(name string, phase operatorsv1alpha1.ClusterServiceVersionPhase, reason operatorsv1alpha1.ConditionReason, msg string) *operatorsv1alpha1.ClusterServiceVersion {
	return &operatorsv1alpha1.ClusterServiceVersion{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns"},
		Status:     operatorsv1alpha1.ClusterServiceVersionStatus{Phase: phase, Reason: reason, Message: msg},
	}
}

func TestApproveNextApprovesThePlanTheSubscriptionNames(t *testing.T) {
	c := fakeClient(subscription("plan-2", ""),
		installPlan("plan-1", operatorsv1alpha1.InstallPlanPhaseComplete, "op.v1"),
		installPlan("plan-2", operatorsv1alpha1.InstallPlanPhaseRequiresApproval, "op.v2"))
	plan, csvs, err := c.ApproveNext(context.Background(), "ns", "sub", "plan-1")
	if err != nil {
		t.Fatal(err)
	}
	if plan != "plan-2" || !slices.Equal(csvs, []string{"op.v2"}) {
		t.Errorf("ApproveNext = %s %v, want plan-2 [op.v2]", plan, csvs)
	}
	for name, want := range map[string]bool{"plan-1": false, "plan-2": true} {
		ip := &operatorsv1alpha1.InstallPlan{}
		if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: name}, ip); err != nil {
			t.Fatal(err)
		}
		if ip.Spec.Approved != want {
			t.Errorf("%s approved = %t, want %t", name, ip.Spec.Approved, want)
		}
	}
}

func TestNextInstallPlanWithoutApprovalLeavesThePlan(t *testing.T) {
	c := fakeClient(subscription("plan-2", ""), installPlan("plan-2", operatorsv1alpha1.InstallPlanPhaseRequiresApproval, "op.v2"))
	if _, _, err := c.NextInstallPlan(context.Background(), "ns", "sub", "", false); err != nil {
		t.Fatal(err)
	}
	ip := &operatorsv1alpha1.InstallPlan{}
	if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "plan-2"}, ip); err != nil || ip.Spec.Approved {
		t.Errorf("plan-2 approved %t (err %v), want left for approval", ip.Spec.Approved, err)
	}
}

func TestNextInstallPlanWaitsPastThePreviousPlan(t *testing.T) {
	c := fakeClient(subscription("plan-1", ""), installPlan("plan-1", operatorsv1alpha1.InstallPlanPhaseComplete, "op.v1"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, _, err := c.ApproveNext(ctx, "ns", "sub", "plan-1")
	var we *wait.Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a timeout", err)
	}
	for _, want := range []string{"waiting for an InstallPlan for Subscription ns/sub", "last seen: the Subscription still names InstallPlan plan-1"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

func TestNextInstallPlanFailedEndsWithTheDiagnosis(t *testing.T) {
	c := fakeClient(subscription("plan-1", ""), installPlan("plan-1", operatorsv1alpha1.InstallPlanPhaseFailed, "op.v1"))
	_, _, err := c.ApproveNext(context.Background(), "ns", "sub", "")
	var we *wait.Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *wait.Error", err)
	}
	if we.What != "InstallPlan ns/plan-1 failed" || !strings.Contains(we.Diagnosis, "InstallPlan ns/plan-1: phase Failed") {
		t.Errorf("What %q, Diagnosis %q", we.What, we.Diagnosis)
	}
}

func TestWaitForCSV(t *testing.T) {
	c := fakeClient(csvIn("op.v1", operatorsv1alpha1.CSVPhaseSucceeded, "InstallSucceeded", ""))
	if err := c.WaitForCSV(context.Background(), "ns", "op.v1", "sub"); err != nil {
		t.Fatal(err)
	}
}

func TestWaitForCSVFailedPastGraceEndsEarly(t *testing.T) {
	c := fakeClient(subscription("", "op.v1"), csvIn("op.v1", operatorsv1alpha1.CSVPhaseFailed, "InstallCheckFailed", "install timeout"))
	c.FailedGrace = 20 * time.Millisecond
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := c.WaitForCSV(ctx, "ns", "op.v1", "sub")
	var we *wait.Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *wait.Error", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the wait ran out the context instead of ending after the grace period")
	}
	if want := "ClusterServiceVersion ns/op.v1 failed: InstallCheckFailed: install timeout"; we.What != want {
		t.Errorf("What = %q, want %q", we.What, want)
	}
	if !strings.Contains(we.Diagnosis, "ClusterServiceVersion op.v1: phase Failed, reason InstallCheckFailed: install timeout") {
		t.Errorf("Diagnosis %q does not describe the CSV", we.Diagnosis)
	}
}

func TestWaitForCSVTimeoutSaysWhatItSaw(t *testing.T) {
	c := fakeClient(subscription("", "op.v1"), csvIn("op.v1", operatorsv1alpha1.CSVPhaseInstalling, "InstallWaiting", "waiting for deployment"))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := c.WaitForCSV(ctx, "ns", "op.v1", "sub")
	var we *wait.Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *wait.Error", err)
	}
	for _, want := range []string{"timed out after", "waiting for ClusterServiceVersion ns/op.v1 to succeed", `last seen: phase "Installing", reason "InstallWaiting"`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q does not say %q", err, want)
		}
	}
}

func TestWaitForCatalog(t *testing.T) {
	cs := &operatorsv1alpha1.CatalogSource{ObjectMeta: metav1.ObjectMeta{Name: "cat", Namespace: "ns"}}
	cs.Status.GRPCConnectionState = &operatorsv1alpha1.GRPCConnectionState{LastObservedState: "READY", Address: "127.0.0.1:1"}
	if err := fakeClient(cs).WaitForCatalog(context.Background(), "ns", "cat"); err != nil {
		t.Fatal(err)
	}
	cs.Status.GRPCConnectionState.LastObservedState = "TRANSIENT_FAILURE"
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	err := fakeClient(cs).WaitForCatalog(ctx, "ns", "cat")
	if err == nil || !strings.Contains(err.Error(), "last seen: connection TRANSIENT_FAILURE\n  CatalogSource ns/cat: connection TRANSIENT_FAILURE to 127.0.0.1:1") {
		t.Errorf("err = %v, want the connection state and the CatalogSource described", err)
	}
}

// A registry pod that cannot pull the catalog image ends the wait at once,
// naming the image, instead of waiting out the timeout.
func TestWaitForCatalogEndsOnAnUnpullableImage(t *testing.T) {
	cs := &operatorsv1alpha1.CatalogSource{ObjectMeta: metav1.ObjectMeta{Name: "cat", Namespace: "ns"},
		Spec: operatorsv1alpha1.CatalogSourceSpec{SourceType: operatorsv1alpha1.SourceTypeGrpc, Image: "example.com/catalog:nope"}}
	cs.Status.GRPCConnectionState = &operatorsv1alpha1.GRPCConnectionState{LastObservedState: "CONNECTING"}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cat-x1", Namespace: "ns", Labels: map[string]string{CatalogSourceLabel: "cat"}},
		Status: corev1.PodStatus{ContainerStatuses: []corev1.ContainerStatus{{Name: "registry-server", State: corev1.ContainerState{
			Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "example.com/catalog:nope"`}}}}}}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	start := time.Now()
	err := fakeClient(cs, pod).WaitForCatalog(ctx, "ns", "cat")
	var werr *wait.Error
	if !errors.As(err, &werr) || time.Since(start) > 10*time.Second {
		t.Fatalf("err = %v after %s, want the wait to end at once", err, time.Since(start))
	}
	want := `CatalogSource ns/cat: its registry pod cat-x1 cannot run the catalog image example.com/catalog:nope: container registry-server: ImagePullBackOff: Back-off pulling image "example.com/catalog:nope"`
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("err = %v\nwant it to start %s", err, want)
	}
	// Still pulling (no back-off yet): the wait goes on.
	pod.Status.ContainerStatuses[0].State.Waiting.Reason = "ContainerCreating"
	short, cancel2 := context.WithTimeout(context.Background(), time.Second)
	defer cancel2()
	if err := fakeClient(cs, pod).WaitForCatalog(short, "ns", "cat"); err == nil || !strings.Contains(err.Error(), "last seen: connection CONNECTING") {
		t.Errorf("err = %v, want a timeout that saw the connection CONNECTING", err)
	}
}
