package main

import (
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/fleet"
)

// The observer records a Deployment as created at its first sight, as sized only at its CR's size and as
// ready only when it is rolled out (wait.StatusRolledOut) at its generation,
// and a CR as converged only when its status says so; the first time of
// each counts. Durations run from each CR's creation, the last ones from
// the start.
func TestObserverRecordsFirstTimes(t *testing.T) {
	o := &observer{index: map[client.ObjectKey]int{fleet.Key(0): 0, fleet.Key(1): 1}, sizes: []int32{fleet.Size(0), fleet.Size(1)},
		deployed: make([]time.Time, 2), sized: make([]time.Time, 2), ready: make([]time.Time, 2), converged: make([]time.Time, 2)}
	key := fleet.Key(1) // size 2
	dep := func(replicas, ready, updated int32, observed int64) *appsv1.Deployment {
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Generation: 2},
			Spec:   appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
			Status: appsv1.DeploymentStatus{Replicas: updated, AvailableReplicas: ready, UpdatedReplicas: updated, ObservedGeneration: observed}}
	}
	o.deployment(dep(1, 1, 1, 2))
	if !o.sized[1].IsZero() || o.deployed[1].IsZero() {
		t.Fatalf("sized %v deployed %v: a Deployment not at its CR's size must count as created, not sized", o.sized[1], o.deployed[1])
	}
	deployed := o.deployed[1]
	o.deployment(dep(2, 0, 0, 2))
	sized := o.sized[1]
	if sized.IsZero() || !o.ready[1].IsZero() {
		t.Fatalf("sized %v ready %v: want sized, not ready", o.sized[1], o.ready[1])
	}
	o.deployment(dep(2, 2, 2, 1))
	if !o.ready[1].IsZero() {
		t.Fatal("ready counted for an older generation")
	}
	o.deployment(dep(2, 2, 2, 2))
	if o.ready[1].IsZero() || o.sized[1] != sized || o.deployed[1] != deployed {
		t.Fatal("ready not recorded, or sized or created moved")
	}

	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name, Generation: 1}, Spec: cachev1.MemcachedSpec{Size: 2}}
	mc.Status = cachev1.MemcachedStatus{Nodes: []string{"a", "b"}, ReadyReplicas: 2, ObservedGeneration: 1}
	o.memcached(mc)
	if o.convergedCount() != 0 {
		t.Fatal("converged without Available")
	}
	mc.Status.Conditions = []metav1.Condition{{Type: cachev1.ConditionAvailable, Status: metav1.ConditionTrue}}
	o.memcached(mc)
	o.memcached(mc)
	if o.convergedCount() != 1 {
		t.Fatalf("converged %d, want 1 (counted once)", o.convergedCount())
	}

	// The operator's two latencies per CR: created -> Deployment created,
	// Deployment ready -> status converged.
	created := deployed.Add(-time.Second)
	o.converged[0], o.ready[0] = deployed, deployed
	tm := o.timings(created, []time.Time{created, created})
	if tm.deployed[1] != time.Second || tm.readyToConverged[1] != o.converged[1].Sub(o.ready[1]) {
		t.Fatalf("created->Deployment %v (want 1s), ready->converged %v (want %v)", tm.deployed[1], tm.readyToConverged[1], o.converged[1].Sub(o.ready[1]))
	}
}
