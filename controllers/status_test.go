package controllers

import (
	"errors"
	"slices"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

func deployment(replicas, total, ready, updated int32) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "cache", Generation: 2},
		Spec:       appsv1.DeploymentSpec{Replicas: ptr.To(replicas)},
		Status: appsv1.DeploymentStatus{
			ObservedGeneration: 2, Replicas: total, ReadyReplicas: ready, UpdatedReplicas: updated,
		},
	}
}

func pod(name string, mutate ...func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, m := range mutate {
		m(&p)
	}
	return p
}

func TestComputeStatus(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	type conds struct{ available, progressing, degraded metav1.ConditionStatus }
	cases := []struct {
		name   string
		size   int32
		obs    observation
		want   conds
		reason string // of Available
		nodes  []string
		ready  int32
	}{
		{
			name: "no Deployment yet", size: 3, obs: observation{},
			want: conds{"False", "True", "False"}, reason: cachev1.ReasonReplicasNotReady,
		},
		{
			name: "all ready", size: 2,
			obs:  observation{deployment: deployment(2, 2, 2, 2), pods: []corev1.Pod{pod("b"), pod("a")}},
			want: conds{"True", "False", "False"}, reason: cachev1.ReasonAllReplicasReady,
			nodes: []string{"a", "b"}, ready: 2,
		},
		{
			name: "scaling up", size: 5,
			obs:  observation{deployment: deployment(5, 3, 3, 3), pods: []corev1.Pod{pod("a"), pod("b"), pod("c")}},
			want: conds{"False", "True", "False"}, reason: cachev1.ReasonReplicasNotReady,
			nodes: []string{"a", "b", "c"}, ready: 3,
		},
		{
			name: "Deployment not yet scaled to the new size", size: 1,
			obs:  observation{deployment: deployment(3, 3, 3, 3)},
			want: conds{"False", "True", "False"}, reason: cachev1.ReasonReplicasNotReady, ready: 3,
		},
		{
			name: "scaled to zero", size: 0,
			obs:  observation{deployment: deployment(0, 0, 0, 0)},
			want: conds{"True", "False", "False"}, reason: cachev1.ReasonScaledToZero,
		},
		{
			name: "terminating and finished pods are not nodes", size: 1,
			obs: observation{deployment: deployment(1, 1, 1, 1), pods: []corev1.Pod{
				pod("live"),
				pod("going", func(p *corev1.Pod) { p.DeletionTimestamp = &now }),
				pod("done", func(p *corev1.Pod) { p.Status.Phase = corev1.PodFailed }),
			}},
			want: conds{"True", "False", "False"}, reason: cachev1.ReasonAllReplicasReady,
			nodes: []string{"live"}, ready: 1,
		},
		{
			name: "write failed", size: 1,
			obs:  observation{deployment: deployment(1, 1, 1, 1), applyErr: errors.New("forbidden")},
			want: conds{"True", "False", "True"}, reason: cachev1.ReasonAllReplicasReady, ready: 1,
		},
		{
			name: "Deployment reports ReplicaFailure", size: 2,
			obs: observation{deployment: func() *appsv1.Deployment {
				d := deployment(2, 0, 0, 0)
				d.Status.Conditions = []appsv1.DeploymentCondition{{Type: appsv1.DeploymentReplicaFailure, Status: corev1.ConditionTrue, Message: "quota exceeded"}}
				return d
			}()},
			want: conds{"False", "True", "True"}, reason: cachev1.ReasonReplicasNotReady,
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			mc := memcached("cache", tc.size)
			mc.Generation = 4
			st := computeStatus(mc, tc.obs, now)
			for typ, want := range map[string]metav1.ConditionStatus{
				cachev1.ConditionAvailable: tc.want.available, cachev1.ConditionProgressing: tc.want.progressing, cachev1.ConditionDegraded: tc.want.degraded,
			} {
				c := meta.FindStatusCondition(st.Conditions, typ)
				if c == nil || c.Status != want {
					t.Errorf("%s = %v, want %s", typ, c, want)
					continue
				}
				if c.ObservedGeneration != 4 {
					t.Errorf("%s observedGeneration = %d, want 4", typ, c.ObservedGeneration)
				}
			}
			if c := meta.FindStatusCondition(st.Conditions, cachev1.ConditionAvailable); c != nil && c.Reason != tc.reason {
				t.Errorf("Available reason = %s, want %s", c.Reason, tc.reason)
			}
			if st.ObservedGeneration != 4 {
				t.Errorf("observedGeneration = %d, want 4", st.ObservedGeneration)
			}
			if !slices.Equal(st.Nodes, tc.nodes) {
				t.Errorf("nodes = %v, want %v", st.Nodes, tc.nodes)
			}
		})
	}
}

// A condition whose status does not change keeps its transition time, so a
// steady state computes the same status twice and nothing is written.
func TestComputeStatusIsStable(t *testing.T) {
	t0 := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	t1 := metav1.NewTime(t0.Add(time.Hour))
	mc := memcached("cache", 2)
	obs := observation{deployment: deployment(2, 2, 2, 2), pods: []corev1.Pod{pod("a"), pod("b")}}
	mc.Status = computeStatus(mc, obs, t0)
	again := computeStatus(mc, obs, t1)
	for _, c := range again.Conditions {
		if !c.LastTransitionTime.Equal(&t0) {
			t.Errorf("%s lastTransitionTime moved to %v without a change", c.Type, c.LastTransitionTime)
		}
	}

	obs.deployment = deployment(2, 2, 1, 2)
	changed := computeStatus(mc, obs, t1)
	if c := meta.FindStatusCondition(changed.Conditions, cachev1.ConditionAvailable); !c.LastTransitionTime.Equal(&t1) {
		t.Errorf("Available flipped but lastTransitionTime = %v, want %v", c.LastTransitionTime, t1)
	}
	if len(mc.Status.Conditions) != 3 || mc.Status.Conditions[0].Status != metav1.ConditionTrue {
		t.Errorf("computeStatus modified its input's conditions")
	}
}

func TestParseWatchNamespace(t *testing.T) {
	for in, want := range map[string][]string{"": nil, "  ": nil, "a": {"a"}, "a, b": {"a", "b"}} {
		got, err := ParseWatchNamespace(in)
		if err != nil || !slices.Equal(got, want) {
			t.Errorf("ParseWatchNamespace(%q) = %v, %v; want %v", in, got, err, want)
		}
	}
	for _, bad := range []string{"A", "a,,b", "a/b"} {
		if _, err := ParseWatchNamespace(bad); err == nil {
			t.Errorf("ParseWatchNamespace(%q) accepted a bad namespace", bad)
		}
	}
}
