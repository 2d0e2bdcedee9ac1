package controllers

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

func pod(name string, mutate ...func(*corev1.Pod)) corev1.Pod {
	p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	for _, m := range mutate {
		m(&p)
	}
	return p
}

// 0.1.0's status is the sorted names of the pods that serve or will.
func TestComputeStatus(t *testing.T) {
	gone := func(p *corev1.Pod) { p.DeletionTimestamp = &metav1.Time{} }
	done := func(p *corev1.Pod) { p.Status.Phase = corev1.PodSucceeded }
	obs := observation{pods: []corev1.Pod{pod("c"), pod("a"), pod("b", gone), pod("d", done)}}
	st := computeStatus(&cachev1.Memcached{}, obs, metav1.Now())
	if !slices.Equal(st.Nodes, []string{"a", "c"}) {
		t.Errorf("nodes = %v, want [a c]", st.Nodes)
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
