package wait

import (
	"context"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
)

func deployment(replicas int32, st appsv1.DeploymentStatus) *appsv1.Deployment {
	return &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "op", Generation: 2},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: map[string]string{"app": "op"}},
		},
		Status: st,
	}
}

func pod(name string, ready bool) corev1.Pod {
	status := corev1.ConditionFalse
	if ready {
		status = corev1.ConditionTrue
	}
	return corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: name, Labels: map[string]string{"app": "op"}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: []corev1.PodCondition{
			{Type: corev1.PodReady, Status: status, Reason: "ContainersNotReady", Message: "containers with unready status: [manager]"},
		}},
	}
}

func TestRolledOut(t *testing.T) {
	full := appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 2, UpdatedReplicas: 2, AvailableReplicas: 2}
	cases := []struct {
		name string
		st   func(s appsv1.DeploymentStatus) appsv1.DeploymentStatus
		pods int
		want bool
	}{
		{"rolled out", func(s appsv1.DeploymentStatus) appsv1.DeploymentStatus { return s }, 2, true},
		{"spec not observed", func(s appsv1.DeploymentStatus) appsv1.DeploymentStatus { s.ObservedGeneration = 1; return s }, 2, false},
		{"old replica left", func(s appsv1.DeploymentStatus) appsv1.DeploymentStatus { s.Replicas = 3; return s }, 2, false},
		{"not updated", func(s appsv1.DeploymentStatus) appsv1.DeploymentStatus { s.UpdatedReplicas = 1; return s }, 2, false},
		{"not available", func(s appsv1.DeploymentStatus) appsv1.DeploymentStatus { s.AvailableReplicas = 1; return s }, 2, false},
		{"terminating pod still listed", func(s appsv1.DeploymentStatus) appsv1.DeploymentStatus { return s }, 3, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			pods := make([]corev1.Pod, tc.pods)
			got, state := RolledOut(deployment(2, tc.st(full)), pods)
			if got != tc.want {
				t.Errorf("RolledOut = %v (%s), want %v", got, state, tc.want)
			}
		})
	}
}

func TestDeploymentRolledOutDiagnosesTimeout(t *testing.T) {
	d := deployment(1, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1,
		Conditions: []appsv1.DeploymentCondition{{Type: appsv1.DeploymentAvailable, Status: corev1.ConditionFalse,
			Reason: "MinimumReplicasUnavailable", Message: "Deployment does not have minimum availability."}}})
	p := pod("op-1", false)
	c := fake.NewClientBuilder().WithObjects(d, &p).Build()
	err := DeploymentRolledOut(context.Background(), c, client.ObjectKeyFromObject(d), Options{Timeout: 300 * time.Millisecond, Interval: 50 * time.Millisecond})
	if err == nil {
		t.Fatal("a Deployment with no available replica was reported rolled out")
	}
	for _, want := range []string{"Deployment ns/op to roll out", "available 0", "MinimumReplicasUnavailable", "pod op-1: Running; Ready=False ContainersNotReady"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestDeploymentRolledOut(t *testing.T) {
	d := deployment(1, appsv1.DeploymentStatus{ObservedGeneration: 2, Replicas: 1, UpdatedReplicas: 1, AvailableReplicas: 1})
	p := pod("op-1", true)
	c := fake.NewClientBuilder().WithObjects(d, &p).Build()
	if err := DeploymentRolledOut(context.Background(), c, client.ObjectKeyFromObject(d), Options{Timeout: time.Second}); err != nil {
		t.Fatal(err)
	}
}

func TestGone(t *testing.T) {
	d := deployment(1, appsv1.DeploymentStatus{})
	c := fake.NewClientBuilder().WithObjects(d).Build()
	err := Gone(context.Background(), c, d.DeepCopy(), Options{Timeout: 200 * time.Millisecond, Interval: 50 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "Deployment ns/op to be gone; last seen: still there") {
		t.Fatalf("an existing Deployment: err = %v", err)
	}
	go func() {
		time.Sleep(100 * time.Millisecond)
		_ = c.Delete(context.Background(), d)
	}()
	if err := Gone(context.Background(), c, d.DeepCopy(), Options{Timeout: 2 * time.Second, Interval: 20 * time.Millisecond}); err != nil {
		t.Fatalf("a deleted Deployment: %v", err)
	}
}
