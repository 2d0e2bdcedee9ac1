package olm

import (
	"context"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// OLM resolves the next upgrade while the CSV just replaced still exists,
// fails ("... exists and is not referenced by a subscription") and never
// resolves again: waiting for the next InstallPlan touches the Subscription
// once that CSV is gone, and only then.
func TestNextInstallPlanResolvesAgainPastAStaleFailure(t *testing.T) {
	stale := func() *operatorsv1alpha1.Subscription {
		s := subscription("plan-1", "op.v2")
		s.Status.Conditions = []operatorsv1alpha1.SubscriptionCondition{{
			Type: operatorsv1alpha1.SubscriptionResolutionFailed, Status: corev1.ConditionTrue, Reason: "ConstraintsNotSatisfiable",
			Message: "constraints not satisfiable: @existing/ns//op.v1, @existing/ns//op.v2 and cat/ns/fast/op.v3 originate from package op, " +
				"clusterserviceversion op.v1 exists and is not referenced by a subscription, subscription sub requires at least one of cat/ns/fast/op.v3",
		}}
		return s
	}
	for _, tc := range []struct {
		name    string
		objs    []client.Object
		touched bool
	}{
		{name: "the blamed CSV is gone", objs: []client.Object{stale()}, touched: true},
		{name: "the blamed CSV still exists", objs: []client.Object{stale(), csvIn("op.v1", operatorsv1alpha1.CSVPhaseReplacing, "", "")}},
		{name: "no resolution failure", objs: []client.Object{subscription("plan-1", "op.v2")}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fakeClient(append(tc.objs, installPlan("plan-1", operatorsv1alpha1.InstallPlanPhaseComplete, "op.v2"))...)
			ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
			defer cancel()
			_, _, err := c.ApproveNext(ctx, "ns", "sub", "plan-1")
			if err == nil {
				t.Fatal("no InstallPlan was made, yet ApproveNext returned one")
			}
			s := &operatorsv1alpha1.Subscription{}
			if err := c.Get(context.Background(), client.ObjectKey{Namespace: "ns", Name: "sub"}, s); err != nil {
				t.Fatal(err)
			}
			if _, touched := s.Annotations[managedLabel+"-resolve"]; touched != tc.touched {
				t.Errorf("Subscription touched = %t, want %t (annotations %v)", touched, tc.touched, s.Annotations)
			}
		})
	}
}
