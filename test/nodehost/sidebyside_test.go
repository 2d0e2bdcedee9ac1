//go:build nodehost

package nodehost

import (
	"context"
	"strings"
	"testing"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// TestTwoNodesSideBySide: two real-node clusters run at once, each with a
// pod that serves, on pod subnets of their own; one goes down and the other
// still serves, its kubelet still renews its Lease and its node stays Ready.
func TestTwoNodesSideBySide(t *testing.T) {
	needNode(t)
	a, b := up(t, "side-a"), up(t, "side-b")
	pa, pb := a.memcachedPod(t), b.memcachedPod(t)
	if subnet(pa.Status.PodIP) == subnet(pb.Status.PodIP) {
		t.Errorf("both nodes give pods addresses in %s.0/24; want a subnet each", subnet(pa.Status.PodIP))
	}
	framework.AssertAnswers(t, pa, "a")
	framework.AssertAnswers(t, pb, "b")

	a.down(t)
	framework.AssertAnswers(t, pb, "b after a went")
	// The node would show NotReady only after its grace period (40 s): what
	// says at once that b's kubelet lives is its Lease, renewed every 10 s.
	ctx := context.Background()
	lease := &coordinationv1.Lease{}
	key := client.ObjectKey{Namespace: "kube-node-lease", Name: pb.Spec.NodeName}
	if err := b.c.Get(ctx, key, lease); err != nil {
		t.Fatal(err)
	}
	before := lease.Spec.RenewTime.Time
	err := wait.For(ctx, wait.Options{What: "side-b's kubelet to renew its node Lease after side-a went", Timeout: 30 * time.Second, Interval: time.Second},
		func(ctx context.Context) (bool, string, error) {
			if err := b.c.Get(ctx, key, lease); err != nil {
				return false, "", err
			}
			return lease.Spec.RenewTime.After(before), "renewed at " + lease.Spec.RenewTime.String(), nil
		})
	if err != nil {
		t.Error(err)
	}
	node := &corev1.Node{}
	if err := b.c.Get(ctx, client.ObjectKey{Name: pb.Spec.NodeName}, node); err != nil {
		t.Fatal(err)
	}
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady && c.Status != corev1.ConditionTrue {
			t.Errorf("cluster side-b's node %s is %s after side-a went: %s", node.Name, c.Status, c.Message)
		}
	}
}

// subnet is the /24 of an IPv4 address.
func subnet(ip string) string { return ip[:strings.LastIndex(ip, ".")] }
