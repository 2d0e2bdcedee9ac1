package controller

import (
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

func TestHoldProgress(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	key := types.NamespacedName{Namespace: "ns", Name: "m"}
	cond := func(typ string, status metav1.ConditionStatus) metav1.Condition {
		return metav1.Condition{Type: typ, Status: status}
	}
	progress := func(gen int64, nodes ...string) cachev1.MemcachedStatus {
		return cachev1.MemcachedStatus{ObservedGeneration: gen, Nodes: nodes, Conditions: []metav1.Condition{
			cond(cachev1.ConditionAvailable, metav1.ConditionFalse), cond(cachev1.ConditionDegraded, metav1.ConditionFalse)}}
	}
	done := progress(1, "a", "b")
	done.Conditions[0].Status = metav1.ConditionTrue

	r := &MemcachedReconciler{}
	if d := r.holdProgress(key, progress(1), progress(1, "a"), t0); d != 0 {
		t.Errorf("never written before: held %s", d)
	}
	r.lastWrite.Store(key, statusWrite{at: t0})
	unavailable := done
	unavailable.Nodes = []string{"a"}
	unavailable.Conditions = []metav1.Condition{cond(cachev1.ConditionAvailable, metav1.ConditionFalse), cond(cachev1.ConditionDegraded, metav1.ConditionFalse)}
	two := 2 * defaultProgressInterval
	for _, tc := range []struct {
		name     string
		old, new cachev1.MemcachedStatus
		at       time.Time
		want     time.Duration
	}{
		{"more progress soon after the generation's first status waits two intervals", progress(1), progress(1, "a"), t0.Add(300 * time.Millisecond), two - 300*time.Millisecond},
		{"more progress after one interval still waits", progress(1), progress(1, "a"), t0.Add(defaultProgressInterval), defaultProgressInterval},
		{"more progress after two intervals is written", progress(1), progress(1, "a"), t0.Add(two), 0},
		{"becoming Available is written at once", progress(1, "a"), done, t0.Add(100 * time.Millisecond), 0},
		{"losing Available is written at once", done, unavailable, t0.Add(100 * time.Millisecond), 0},
		{"a new generation is written at once", progress(1, "a"), progress(2, "a"), t0.Add(100 * time.Millisecond), 0},
		{"no change holds nothing", progress(1, "a"), progress(1, "a"), t0.Add(100 * time.Millisecond), 0},
	} {
		if got := r.holdProgress(key, tc.old, tc.new, tc.at); got != tc.want {
			t.Errorf("%s: held %s, want %s", tc.name, got, tc.want)
		}
	}
	// After a progress write, the next one waits one interval.
	r.lastWrite.Store(key, statusWrite{at: t0, progress: true})
	if got := r.holdProgress(key, progress(1, "a"), progress(1, "a", "b"), t0.Add(defaultProgressInterval-time.Second)); got != time.Second {
		t.Errorf("progress after a progress write: held %s, want 1s", got)
	}
	if got := r.holdProgress(key, progress(1, "a"), progress(1, "a", "b"), t0.Add(defaultProgressInterval)); got != 0 {
		t.Errorf("progress one interval after a progress write: held %s, want 0", got)
	}
}
