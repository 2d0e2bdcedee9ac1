package main

import (
	"context"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/fleet"
	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// observer watches the benchmark's Memcacheds and their Deployments (watches,
// not polling: the harness must add no load the API server then reports)
// and records, per CR, when its Deployment first had the CR's size, when
// that Deployment was ready (the control plane's work), and when the CR's
// status said converged (the operator's).
type observer struct {
	mu        sync.Mutex
	index     map[client.ObjectKey]int
	sizes     []int32
	deployed  []time.Time
	sized     []time.Time
	ready     []time.Time
	converged []time.Time
	done      int
	cancel    context.CancelFunc
}

// startObserver starts the watches before any Memcached exists.
func startObserver(ctx context.Context, c *localcluster.Cluster, n int) (*observer, error) {
	o := &observer{index: make(map[client.ObjectKey]int, n), sizes: make([]int32, n),
		deployed: make([]time.Time, n), sized: make([]time.Time, n), ready: make([]time.Time, n), converged: make([]time.Time, n)}
	for i := 0; i < n; i++ {
		o.index[fleet.Key(i)] = i
		o.sizes[i] = fleet.Size(i)
	}
	cancel, err := c.Watch(ctx, map[client.Object]func(any){&cachev1.Memcached{}: o.memcached, &appsv1.Deployment{}: o.deployment})
	if err != nil {
		return nil, err
	}
	o.cancel = cancel
	return o, nil
}

func (o *observer) stop() { o.cancel() }

func (o *observer) memcached(obj any) {
	mc, ok := obj.(*cachev1.Memcached)
	if !ok {
		return
	}
	if ready, _ := readiness.Memcached(mc, readiness.AllFields); !ready {
		return
	}
	o.record(client.ObjectKeyFromObject(mc), o.converged, true)
}

// deployment records a Deployment's creation (the operator's work), then
// at its CR's size, then rolled out at it (wait.StatusRolledOut: a watch
// sees no pods).
func (o *observer) deployment(obj any) {
	d, ok := obj.(*appsv1.Deployment)
	if !ok || d.Spec.Replicas == nil {
		return
	}
	key := client.ObjectKeyFromObject(d)
	o.record(key, o.deployed, false)
	o.mu.Lock()
	i, ok := o.index[key]
	o.mu.Unlock()
	if !ok || *d.Spec.Replicas != o.sizes[i] {
		return
	}
	o.record(key, o.sized, false)
	if done, _ := wait.StatusRolledOut(d); done {
		o.record(key, o.ready, false)
	}
}

// record notes the first time of an event for the CR key.
func (o *observer) record(key client.ObjectKey, at []time.Time, counts bool) {
	now := time.Now()
	o.mu.Lock()
	defer o.mu.Unlock()
	i, ok := o.index[key]
	if !ok || !at[i].IsZero() {
		return
	}
	at[i] = now
	if counts {
		o.done++
	}
}

// convergedCount is how many CRs have converged.
func (o *observer) convergedCount() int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.done
}

// timings are per-CR durations from creation (the operator's own two:
// created -> Deployment created, and Deployment ready -> status
// converged), and the last of each event from the start of the run.
type timings struct {
	deployed, sized, ready, converged []time.Duration
	readyToConverged                  []time.Duration
	lastReady, lastConverged          time.Duration
}

func (o *observer) timings(start time.Time, created []time.Time) timings {
	o.mu.Lock()
	defer o.mu.Unlock()
	var t timings
	for i := range created {
		// A Deployment's ready or sized state seen only coalesced into a
		// later event happened by the time the CR converged.
		for _, at := range [][]time.Time{o.ready, o.sized, o.deployed} {
			if at[i].IsZero() {
				at[i] = o.converged[i]
			}
		}
		t.deployed = append(t.deployed, o.deployed[i].Sub(created[i]))
		t.sized = append(t.sized, o.sized[i].Sub(created[i]))
		t.readyToConverged = append(t.readyToConverged, o.converged[i].Sub(o.ready[i]))
		t.ready = append(t.ready, o.ready[i].Sub(created[i]))
		t.converged = append(t.converged, o.converged[i].Sub(created[i]))
		t.lastReady = max(t.lastReady, o.ready[i].Sub(start))
		t.lastConverged = max(t.lastConverged, o.converged[i].Sub(start))
	}
	return t
}
