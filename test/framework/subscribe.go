package framework

import (
	"context"
	"testing"

	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// SubscribeInput is what a Subscription asks for.
type SubscribeInput struct {
	Lane Lane
	// Namespace is where the operator is installed, for that namespace only.
	Namespace string
	// CatalogSource is the name of a CatalogSource of Namespace.
	CatalogSource string
	Channel       string
	// StartingCSV is the bundle to install first; empty: the channel's head.
	StartingCSV string
	Approval    operatorsv1alpha1.Approval
}

// Subscribe subscribes to the lane's package in the namespace, for that
// namespace only (an OwnNamespace OperatorGroup, made unless one is there:
// an operator for all namespaces would fight over Memcacheds with any
// other install of it). It returns the Subscription's name.
func Subscribe(ctx context.Context, t *testing.T, in SubscribeInput) string {
	t.Helper()
	c, pkg := in.Lane.OLM().Client, in.Lane.Package()
	groups := &operatorsv1.OperatorGroupList{}
	if err := c.List(ctx, groups, client.InNamespace(in.Namespace)); err != nil {
		t.Fatal(err)
	}
	if len(groups.Items) == 0 {
		og := &operatorsv1.OperatorGroup{
			ObjectMeta: metav1.ObjectMeta{Name: pkg + "-og", Namespace: in.Namespace},
			Spec:       operatorsv1.OperatorGroupSpec{TargetNamespaces: []string{in.Namespace}},
		}
		if err := c.Create(ctx, og); err != nil {
			t.Fatal(err)
		}
	}
	sub := &operatorsv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Name: pkg + "-sub", Namespace: in.Namespace},
		Spec: &operatorsv1alpha1.SubscriptionSpec{
			CatalogSource: in.CatalogSource, CatalogSourceNamespace: in.Namespace,
			Package: pkg, Channel: in.Channel, StartingCSV: in.StartingCSV, InstallPlanApproval: in.Approval,
		},
	}
	if err := c.Create(ctx, sub); err != nil {
		t.Fatal(err)
	}
	return sub.Name
}
