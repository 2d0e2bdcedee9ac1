package readiness

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/wait"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

func memcached(size int32, mutate func(*cachev1.MemcachedStatus)) *cachev1.Memcached {
	mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Name: "m", Generation: 2}, Spec: cachev1.MemcachedSpec{Size: size}}
	mc.Status = cachev1.MemcachedStatus{
		Nodes: []string{"m-a", "m-b"}, ReadyReplicas: 2, ObservedGeneration: 2,
		Conditions: []metav1.Condition{{Type: cachev1.ConditionAvailable, Status: metav1.ConditionTrue}},
	}
	if mutate != nil {
		mutate(&mc.Status)
	}
	return mc
}

func TestMemcached(t *testing.T) {
	oldFields := Fields{} // 0.1.0: status.nodes only
	for _, tc := range []struct {
		name   string
		mc     *cachev1.Memcached
		fields Fields
		want   bool
		state  string
	}{
		{"ready", memcached(2, nil), AllFields, true, "size 2; status.nodes 2, readyReplicas 2, Available true, observedGeneration 2 of 2"},
		{"too few nodes", memcached(3, nil), AllFields, false, "size 3; status.nodes 2, readyReplicas 2, Available true, observedGeneration 2 of 2"},
		{"not available", memcached(2, func(s *cachev1.MemcachedStatus) { s.Conditions[0].Status = metav1.ConditionFalse }), AllFields, false,
			"size 2; status.nodes 2, readyReplicas 2, Available false, observedGeneration 2 of 2"},
		{"older generation", memcached(2, func(s *cachev1.MemcachedStatus) { s.ObservedGeneration = 1 }), AllFields, false,
			"size 2; status.nodes 2, readyReplicas 2, Available true, observedGeneration 1 of 2"},
		{"readyReplicas missing", memcached(2, func(s *cachev1.MemcachedStatus) { s.ReadyReplicas = 0 }), AllFields, false,
			"size 2; status.nodes 2, readyReplicas 0, Available true, observedGeneration 2 of 2"},
		{"0.1.0 CRD: nodes only", memcached(2, func(s *cachev1.MemcachedStatus) { *s = cachev1.MemcachedStatus{Nodes: s.Nodes} }), oldFields, true, "size 2; status.nodes 2"},
		{"scaled to zero", &cachev1.Memcached{Status: cachev1.MemcachedStatus{Conditions: []metav1.Condition{{Type: cachev1.ConditionAvailable, Status: metav1.ConditionTrue}}}},
			AllFields, true, "size 0; status.nodes 0, readyReplicas 0, Available true, observedGeneration 0 of 0"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, state := Memcached(tc.mc, tc.fields)
			if got != tc.want || state != tc.state {
				t.Errorf("got %t %q, want %t %q", got, state, tc.want, tc.state)
			}
		})
	}
}

// Check agrees with the object only when the cluster does: the Deployment
// wants spec.size pods and status.nodes names exactly the Ready ones.
func TestCheck(t *testing.T) {
	labels := map[string]string{"app": "m"}
	pod := func(name string, ready corev1.ConditionStatus) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}}}
	}
	mc := memcached(2, nil)
	mc.Namespace = "ns"
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	key := client.ObjectKeyFromObject(mc)
	for _, tc := range []struct {
		name string
		objs []client.Object
		want bool
	}{
		{"both pods ready", []client.Object{mc, dep, pod("m-a", corev1.ConditionTrue), pod("m-b", corev1.ConditionTrue)}, true},
		{"one pod not ready", []client.Object{mc, dep, pod("m-a", corev1.ConditionTrue), pod("m-b", corev1.ConditionFalse)}, false},
		{"status names a pod that is gone", []client.Object{mc, dep, pod("m-a", corev1.ConditionTrue), pod("m-c", corev1.ConditionTrue)}, false},
		{"no Deployment", []client.Object{mc, pod("m-a", corev1.ConditionTrue), pod("m-b", corev1.ConditionTrue)}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(kubeclient.Scheme()).WithObjects(tc.objs...).Build()
			got, state, err := Check(context.Background(), c, key, AllFields)
			if err != nil || got != tc.want {
				t.Fatalf("got %t (%s, err %v), want %t", got, state, err, tc.want)
			}
		})
	}
}

// After an upgrade that changes the memcached image, the old pods keep the
// Memcached ready: WaitFor with Image waits until the pods run the new one.
func TestWaitForImage(t *testing.T) {
	labels := map[string]string{"app": "m"}
	pod := func(name, image string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: labels},
			Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "memcached", Image: image}}},
			Status: corev1.PodStatus{Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}}}
	}
	mc := memcached(2, nil)
	mc.Namespace = "ns"
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "m", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Replicas: ptr.To[int32](2), Selector: &metav1.LabelSelector{MatchLabels: labels}}}
	c := fake.NewClientBuilder().WithScheme(kubeclient.Scheme()).WithObjects(mc, dep, pod("m-a", "memcached:1.6.38"), pod("m-b", "memcached:1.6.29")).Build()
	key := client.ObjectKeyFromObject(mc)
	o := Options{Image: "memcached:1.6.38", Wait: wait.Options{Interval: 5 * time.Millisecond, Timeout: 50 * time.Millisecond}}
	err := WaitFor(context.Background(), c, key, o)
	if err == nil || !strings.Contains(err.Error(), "pod m-b runs memcached:1.6.29, want memcached:1.6.38") {
		t.Fatalf("err = %v, want a timeout naming the pod on the old image", err)
	}
	if err := WaitFor(context.Background(), c, key, Options{Wait: o.Wait}); err != nil {
		t.Errorf("without Image: %v, want ready", err)
	}
	o.Image = "memcached:1.6.29"
	if err := WaitFor(context.Background(), c, key, o); err == nil {
		t.Errorf("pod m-a runs memcached:1.6.38, yet WaitFor for 1.6.29 returned ready")
	}
}
