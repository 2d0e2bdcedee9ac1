package olm

import (
	"context"
	"fmt"
	"strings"
	"testing"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
)

func TestPodProblems(t *testing.T) {
	tests := []struct {
		name string
		pod  corev1.PodStatus
		want string
	}{
		{name: "healthy", pod: corev1.PodStatus{
			Conditions:        []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}, {Type: corev1.PodScheduled, Status: corev1.ConditionTrue}},
			ContainerStatuses: []corev1.ContainerStatus{{Name: "manager", Ready: true, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		}, want: ""},
		{name: "unschedulable", pod: corev1.PodStatus{
			Conditions: []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable",
				Message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."}},
		}, want: "; PodScheduled=False Unschedulable: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector."},
		{name: "a false condition without a message says nothing", pod: corev1.PodStatus{
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady"}},
		}, want: ""},
		{name: "image pull", pod: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "manager", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{
				Reason: "ImagePullBackOff", Message: `Back-off pulling image "example.com/nope:v1"`}}}},
		}, want: `; container manager waiting: ImagePullBackOff Back-off pulling image "example.com/nope:v1"`},
		{name: "crash loop", pod: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "manager", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
				Reason: "Error", ExitCode: 2}}}},
		}, want: "; container manager terminated: Error (exit 2)"},
		{name: "running, not ready", pod: corev1.PodStatus{
			ContainerStatuses: []corev1.ContainerStatus{{Name: "manager", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}},
		}, want: "; container manager not ready"},
		{name: "several problems in order", pod: corev1.PodStatus{
			Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "ContainersNotReady", Message: "containers with unready status: [manager]"}},
			ContainerStatuses: []corev1.ContainerStatus{
				{Name: "manager", State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}},
				{Name: "proxy", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CrashLoopBackOff", Message: "back-off 10s"}}},
			},
		}, want: "; Ready=False ContainersNotReady: containers with unready status: [manager]; container manager not ready; container proxy waiting: CrashLoopBackOff back-off 10s"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := podProblems(&corev1.Pod{Status: tc.pod}); got != tc.want {
				t.Errorf("podProblems = %q, want %q", got, tc.want)
			}
		})
	}
}

// describeDeployment lists the pods the Deployment's whole selector picks:
// a selector with only matchExpressions must not select every pod.
func TestDescribeDeploymentUsesMatchExpressions(t *testing.T) {
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "op", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn, Values: []string{"op"}},
		}}},
	}
	pod := func(name, app string) *corev1.Pod {
		return &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "ns", Labels: map[string]string{"app": app}},
			Status: corev1.PodStatus{Phase: corev1.PodPending}}
	}
	c := &Client{Client: fake.NewClientBuilder().WithScheme(kubeclient.Scheme()).
		WithObjects(dep, pod("op-1", "op"), pod("other-1", "other"), pod("op-0", "op")).Build()}

	var lines []string
	c.describeDeployment(context.Background(), "ns", "op", func(format string, args ...any) {
		lines = append(lines, fmt.Sprintf(format, args...))
	})
	got := strings.Join(lines, "\n")
	want := "Deployment ns/op: 0/1 available\n  pod op-0: Pending\n  pod op-1: Pending"
	if got != want {
		t.Errorf("describeDeployment:\n%s\nwant:\n%s", got, want)
	}
}

func TestDeploymentSelectorRejectsBadExpressions(t *testing.T) {
	dep := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Name: "op", Namespace: "ns"},
		Spec: appsv1.DeploymentSpec{Selector: &metav1.LabelSelector{MatchExpressions: []metav1.LabelSelectorRequirement{
			{Key: "app", Operator: metav1.LabelSelectorOpIn}, // In needs values
		}}}}
	if _, err := deploymentSelector(dep); err == nil || !strings.Contains(err.Error(), "Deployment ns/op selector") {
		t.Errorf("err = %v, want the Deployment's selector named", err)
	}
}

// describeCatalogSource names the catalog image a registry pod cannot pull:
// that, not the connection state, is what the admin has to fix.
func TestDescribeCatalogSourceNamesRegistryPodProblems(t *testing.T) {
	cs := &operatorsv1alpha1.CatalogSource{
		ObjectMeta: metav1.ObjectMeta{Name: "cat", Namespace: "ns"},
		Spec:       operatorsv1alpha1.CatalogSourceSpec{SourceType: operatorsv1alpha1.SourceTypeGrpc, Image: "example.com/catalog:nope"},
		Status: operatorsv1alpha1.CatalogSourceStatus{GRPCConnectionState: &operatorsv1alpha1.GRPCConnectionState{
			LastObservedState: "TRANSIENT_FAILURE", Address: "cat.ns.svc:50051"}},
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "cat-x1", Namespace: "ns", Labels: map[string]string{CatalogSourceLabel: "cat"}},
		Status: corev1.PodStatus{Phase: corev1.PodPending, ContainerStatuses: []corev1.ContainerStatus{{Name: "registry-server",
			State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "example.com/catalog:nope"`}}}}}}
	other := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "other", Namespace: "ns", Labels: map[string]string{CatalogSourceLabel: "another"}}}
	c := &Client{Client: fake.NewClientBuilder().WithScheme(kubeclient.Scheme()).WithObjects(cs, pod, other).Build()}
	got := c.describeCatalogSource(context.Background(), "ns", "cat")
	want := "  CatalogSource ns/cat: connection TRANSIENT_FAILURE to cat.ns.svc:50051\n" +
		`    registry pod cat-x1 (example.com/catalog:nope): Pending; container registry-server waiting: ImagePullBackOff Back-off pulling image "example.com/catalog:nope"` + "\n"
	if got != want {
		t.Errorf("describeCatalogSource:\n%s\nwant:\n%s", got, want)
	}
}
