package controller

import (
	"errors"
	"slices"
	"strings"
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
			if st.ReadyReplicas != tc.ready {
				t.Errorf("readyReplicas = %d, want %d", st.ReadyReplicas, tc.ready)
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

func waiting(container, reason, image string) func(*corev1.Pod) {
	return func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = append(p.Status.ContainerStatuses, corev1.ContainerStatus{
			Name: container, Image: image, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "back-off 40s"}},
		})
	}
}

// Pods that cannot serve for a reason waiting will not fix make the
// Memcached Degraded, naming the pod, the kubelet's reason and the image.
func TestComputeStatusPodFailures(t *testing.T) {
	now := metav1.NewTime(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	unschedulable := func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonUnschedulable,
			Message: "0/2 nodes are available: 2 node(s) had untolerated taint."}}
	}
	for _, tc := range []struct {
		name         string
		pods         []corev1.Pod
		reason, msg  string
		wantDegraded metav1.ConditionStatus
	}{
		{"image cannot be pulled", []corev1.Pod{pod("c-2", waiting("memcached", "ImagePullBackOff", "example.com/nope:1")), pod("c-1", waiting("memcached", "ErrImagePull", "example.com/nope:1"))},
			cachev1.ReasonImagePullFailed, "pod c-1: container memcached: ErrImagePull (image example.com/nope:1) (and 1 more pods)", "True"},
		{"invalid image name", []corev1.Pod{pod("c-1", waiting("memcached", "InvalidImageName", "UPPER:case"))},
			cachev1.ReasonImagePullFailed, "pod c-1: container memcached: InvalidImageName (image UPPER:case)", "True"},
		{"crash loop", []corev1.Pod{pod("c-1"), pod("c-2", waiting("memcached", "CrashLoopBackOff", "example.com/memcached:1"))},
			cachev1.ReasonCrashLooping, "pod c-2: container memcached: CrashLoopBackOff (image example.com/memcached:1)", "True"},
		{"unschedulable", []corev1.Pod{pod("c-1", unschedulable)},
			cachev1.ReasonUnschedulable, "pod c-1: 0/2 nodes are available: 2 node(s) had untolerated taint.", "True"},
		{"still creating is not a failure", []corev1.Pod{pod("c-1", waiting("memcached", "ContainerCreating", "example.com/memcached:1"))},
			cachev1.ReasonAsExpected, "no problem seen", "False"},
		{"a failing pod being deleted is not counted", []corev1.Pod{pod("c-1", waiting("memcached", "CrashLoopBackOff", "x"), func(p *corev1.Pod) { p.DeletionTimestamp = &now })},
			cachev1.ReasonAsExpected, "no problem seen", "False"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := computeStatus(memcached("c", 2), observation{deployment: deployment(2, 2, 0, 2), pods: tc.pods}, now)
			c := meta.FindStatusCondition(st.Conditions, cachev1.ConditionDegraded)
			if c == nil || c.Status != tc.wantDegraded || c.Reason != tc.reason || c.Message != tc.msg {
				t.Fatalf("Degraded = %+v, want %s %s %q", c, tc.wantDegraded, tc.reason, tc.msg)
			}
		})
	}
}

// The cache keeps of a pod exactly what podFailure and podNames read.
func TestSlimPodKeepsFailures(t *testing.T) {
	p := pod("c-1", waiting("memcached", "ImagePullBackOff", "example.com/nope:1"), func(p *corev1.Pod) {
		p.Spec.Containers = []corev1.Container{{Name: "memcached", Image: "example.com/nope:1"}}
		p.Status.Conditions = append(p.Status.Conditions, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse})
	})
	obj, err := slimPod(&p)
	if err != nil {
		t.Fatal(err)
	}
	slim := obj.(*corev1.Pod)
	if len(slim.Spec.Containers) != 0 || len(slim.Status.Conditions) != 0 {
		t.Errorf("slim pod keeps spec or conditions it does not need: %+v", slim)
	}
	r1, m1, _ := onePodFailure(&p)
	r2, m2, _ := onePodFailure(slim)
	if r1 != r2 || m1 != m2 || r2 != cachev1.ReasonImagePullFailed {
		t.Errorf("slim pod reads %s %q, full pod %s %q", r2, m2, r1, m1)
	}
}

func TestPrunedFields(t *testing.T) {
	full := cachev1.MemcachedStatus{Nodes: []string{"a"}, ReadyReplicas: 1, ObservedGeneration: 3,
		Conditions: []metav1.Condition{{Type: cachev1.ConditionAvailable, Status: metav1.ConditionTrue}}}
	for _, tc := range []struct {
		name string
		got  cachev1.MemcachedStatus
		want []string
	}{
		{"all kept", full, nil},
		{"0.2.1's CRD: no readyReplicas", func() cachev1.MemcachedStatus { s := full; s.ReadyReplicas = 0; return s }(), []string{"readyReplicas"}},
		{"0.1.0's CRD: nodes only", cachev1.MemcachedStatus{Nodes: []string{"a"}}, []string{"readyReplicas", "observedGeneration", "conditions"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := prunedFields(full, tc.got); !slices.Equal(got, tc.want) {
				t.Errorf("got %v, want %v", got, tc.want)
			}
		})
	}
	if got := prunedFields(cachev1.MemcachedStatus{}, cachev1.MemcachedStatus{}); got != nil {
		t.Errorf("nothing sent, got %v", got)
	}
}

// A name the API server accepts but a label value cannot hold is Degraded
// at once, with the fix, and not retried.
func TestCheckName(t *testing.T) {
	ok := memcached(strings.Repeat("n", 63), 1)
	if err := checkName(ok); err != nil {
		t.Errorf("63 characters: %v", err)
	}
	long := memcached(strings.Repeat("n", 64), 1)
	err := checkName(long)
	want := "the name nnnnnnnnnnnnnnnnnnnn... (64 characters) cannot label its pods (app.kubernetes.io/instance): must be no more than 63 bytes: recreate it with a name of at most 63 characters"
	if err == nil || err.Error() != want {
		t.Fatalf("64 characters: %v\nwant %s", err, want)
	}
	st := computeStatus(long, observation{applyErr: err}, metav1.Now())
	d := meta.FindStatusCondition(st.Conditions, cachev1.ConditionDegraded)
	if d == nil || d.Status != metav1.ConditionTrue || d.Reason != cachev1.ReasonReconcileFailed || d.Message != want {
		t.Errorf("Degraded = %+v", d)
	}
}
