//go:build nodehost

package nodehost

import (
	"context"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/test/framework"
)

// TestTwoNodesSideBySide: two real-node clusters run at once, each with a
// pod that serves, on pod subnets of their own; one goes down and the other
// still serves, starts a new pod and its node stays Ready.
func TestTwoNodesSideBySide(t *testing.T) {
	needNode(t)
	a, b := up(t, "side-a"), up(t, "side-b")
	pa, pb := a.memcachedPod(t, "memcached"), b.memcachedPod(t, "memcached")
	if subnet(pa.Status.PodIP) == subnet(pb.Status.PodIP) {
		t.Errorf("both nodes give pods addresses in %s.0/24; want a subnet each", subnet(pa.Status.PodIP))
	}
	framework.AssertAnswers(t, pa, "a")
	framework.AssertAnswers(t, pb, "b")

	a.down(t)
	framework.AssertAnswers(t, pb, "b after a went")
	// The node would show NotReady only after its grace period (40 s): what
	// says at once that b's kubelet and containerd live is a new pod there,
	// Ready and answering.
	framework.AssertAnswers(t, b.memcachedPod(t, "memcached-after"), "b's new pod after a went")
	ctx := context.Background()
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
