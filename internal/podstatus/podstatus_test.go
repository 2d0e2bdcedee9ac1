package podstatus

import (
	"slices"
	"testing"

	corev1 "k8s.io/api/core/v1"
)

// Ready follows the Ready condition alone: running containers or a
// ContainersReady condition do not make a pod ready, and no condition is not ready.
func TestReady(t *testing.T) {
	cond := func(typ corev1.PodConditionType, st corev1.ConditionStatus) corev1.PodCondition {
		return corev1.PodCondition{Type: typ, Status: st}
	}
	for _, tc := range []struct {
		name  string
		conds []corev1.PodCondition
		want  bool
	}{
		{name: "no conditions"},
		{name: "ready", conds: []corev1.PodCondition{cond(corev1.PodScheduled, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionTrue)}, want: true},
		{name: "not ready", conds: []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionFalse)}},
		{name: "unknown", conds: []corev1.PodCondition{cond(corev1.PodReady, corev1.ConditionUnknown)}},
		{name: "containers ready but the pod is not", conds: []corev1.PodCondition{cond(corev1.ContainersReady, corev1.ConditionTrue), cond(corev1.PodReady, corev1.ConditionFalse)}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodRunning, Conditions: tc.conds}}
			if got := Ready(p); got != tc.want {
				t.Errorf("Ready = %v, want %v", got, tc.want)
			}
		})
	}
}

// The container and condition cases are covered where the OLM diagnosis uses
// them (internal/olm); these are the init containers and Describe.
func TestProblems(t *testing.T) {
	waiting := func(name, reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	exited := func(name, reason string, code int32) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code}}}
	}
	for _, tc := range []struct {
		name     string
		status   corev1.PodStatus
		want     []string
		describe string
	}{
		{name: "init container pulling", status: corev1.PodStatus{Phase: corev1.PodPending,
			InitContainerStatuses: []corev1.ContainerStatus{waiting("untar", "ErrImagePull", `pull "x": not found`)},
			ContainerStatuses:     []corev1.ContainerStatus{waiting("test", "PodInitializing", "")},
		}, want: []string{`init container untar waiting: ErrImagePull pull "x": not found`, "container test waiting: PodInitializing "},
			describe: `Pending; init container untar waiting: ErrImagePull pull "x": not found; container test waiting: PodInitializing `},
		{name: "a completed init container is no problem", status: corev1.PodStatus{Phase: corev1.PodRunning,
			InitContainerStatuses: []corev1.ContainerStatus{exited("untar", "Completed", 0)},
			ContainerStatuses:     []corev1.ContainerStatus{{Name: "test", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		}, want: nil, describe: "Running"},
		{name: "a crash loop says how the last run ended", status: corev1.PodStatus{Phase: corev1.PodRunning,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "manager",
				State:                corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s"}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "StartError", ExitCode: 128, Message: `exec: "/nope": stat /nope: no such file or directory`}},
			}},
		}, want: []string{`container manager waiting: CrashLoopBackOff back-off 10s; last run StartError (exit 128): exec: "/nope": stat /nope: no such file or directory`},
			describe: `Running; container manager waiting: CrashLoopBackOff back-off 10s; last run StartError (exit 128): exec: "/nope": stat /nope: no such file or directory`},
		{name: "a failed init container", status: corev1.PodStatus{Phase: corev1.PodFailed,
			InitContainerStatuses: []corev1.ContainerStatus{exited("untar", "Error", 1)},
		}, want: []string{"init container untar terminated: Error (exit 1)"}, describe: "Failed; init container untar terminated: Error (exit 1)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p := &corev1.Pod{Status: tc.status}
			if got := Problems(p); !slices.Equal(got, tc.want) {
				t.Errorf("Problems = %q, want %q", got, tc.want)
			}
			if got := Describe(p); got != tc.describe {
				t.Errorf("Describe = %q, want %q", got, tc.describe)
			}
		})
	}
}

func TestStuck(t *testing.T) {
	waiting := func(name, reason, msg string) corev1.ContainerStatus {
		return corev1.ContainerStatus{Name: name, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: msg}}}
	}
	for _, tc := range []struct {
		name   string
		status corev1.PodStatus
		want   string
	}{
		{name: "first pull failed: the kubelet retries", status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{waiting("untar", "ErrImagePull", "not found")}}},
		{name: "init container backing off", status: corev1.PodStatus{
			InitContainerStatuses: []corev1.ContainerStatus{waiting("untar", "ImagePullBackOff", `Back-off pulling image "example.com/util:v1"`)},
			ContainerStatuses:     []corev1.ContainerStatus{waiting("test", "PodInitializing", "")}},
			want: `container untar: ImagePullBackOff: Back-off pulling image "example.com/util:v1"`},
		{name: "invalid image name", status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{waiting("test", "InvalidImageName", `couldn't parse image name "Example.com/x"`)}},
			want: `container test: InvalidImageName: couldn't parse image name "Example.com/x"`},
		{name: "starting", status: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{waiting("test", "ContainerCreating", "")}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, stuck := Stuck(&corev1.Pod{Status: tc.status})
			if got != tc.want || stuck != (tc.want != "") {
				t.Errorf("Stuck = %q, %v; want %q", got, stuck, tc.want)
			}
		})
	}
}
