package olm

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
)

// A catalog larger than a ConfigMap is cut into ordered parts that join back
// to the same bytes, whatever order the API server lists them in; a set with
// a part missing is refused by name.
func TestPartitionsJoinInOrder(t *testing.T) {
	data := bytes.Repeat([]byte("0123456789abcdef"), partitionSize/16*2+100)
	parts := splitPartitions(data)
	if len(parts) != 3 {
		t.Fatalf("%d bytes in %d parts, want 3", len(data), len(parts))
	}
	r := &registryPod{o: RunOptions{Namespace: "ns"}, pkg: "op", gen: "abc"}
	cms := r.configMaps(parts)
	reversed := []corev1.ConfigMap{cms[2], cms[0], cms[1]}
	got, err := joinPartitions(r.name("abc"), reversed)
	if err != nil || !bytes.Equal(got, data) {
		t.Fatalf("joined %d bytes (%v), want the %d split", len(got), err, len(data))
	}
	_, err = joinPartitions(r.name("abc"), []corev1.ConfigMap{cms[0], cms[2]})
	if err == nil || !strings.Contains(err.Error(), "ConfigMap op-catalog-abc-partition-1 is missing") {
		t.Errorf("a missing part gave %v", err)
	}
	for i, cm := range cms {
		if size := len(cm.BinaryData[partitionKey]); size > partitionSize {
			t.Errorf("ConfigMap %d carries %d bytes, over %d", i, size, partitionSize)
		}
	}
}

// The registry pod passes the restricted Pod Security Standard (it runs in
// namespaces that enforce it), mounts every part in order and serves what
// the init container unpacked.
func TestRegistryPodIsRestricted(t *testing.T) {
	pod := registryPodSpec(registryPodOptions{
		Name: "op-catalog-abc", Namespace: "ns", Package: "op", IndexImage: "example.com/opm:v1", Partitions: 2,
	})
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		t.Fatal(err)
	}
	res := policy.AggregateCheckResults(evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}, &pod.ObjectMeta, &pod.Spec))
	if !res.Allowed {
		t.Errorf("restricted refuses the registry pod: %s", res.ForbiddenDetail())
	}
	unpack := pod.Spec.InitContainers[0]
	if unpack.Image != "example.com/opm:v1" {
		t.Errorf("unpack image %s, want the index image when no decompression image is given", unpack.Image)
	}
	var mounts []string
	for _, m := range unpack.VolumeMounts {
		mounts = append(mounts, m.MountPath)
	}
	if want := "/configs /partitions/0000 /partitions/0001"; strings.Join(mounts, " ") != want {
		t.Errorf("unpack mounts %v, want %s", mounts, want)
	}
	for i := range 2 {
		v := pod.Spec.Volumes[2+i]
		if v.ConfigMap == nil || v.ConfigMap.Name != fmt.Sprintf("op-catalog-abc-partition-%d", i) {
			t.Errorf("volume %s: %+v", v.Name, v.VolumeSource)
		}
	}
	if got := strings.Join(pod.Spec.Containers[0].Command, " "); got != "opm serve /configs -p 50051" {
		t.Errorf("registry serves with %q", got)
	}
	if p := pod.Spec.Containers[0].ReadinessProbe; p == nil || p.GRPC == nil || p.GRPC.Port != registryPort {
		t.Errorf("readiness probe %+v, want gRPC on %d", p, registryPort)
	}
}

// Waiting for the registry pod ends at once when nothing gets better by
// waiting, and names why.
func TestRegistryPodStuck(t *testing.T) {
	waiting := func(reason string) corev1.Pod {
		return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p"}, Status: corev1.PodStatus{Phase: corev1.PodPending,
			ContainerStatuses: []corev1.ContainerStatus{{Name: "registry-server", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason, Message: "m"}}}}}}
	}
	for reason, stuck := range map[string]bool{"ImagePullBackOff": true, "CrashLoopBackOff": true, "RunContainerError": true, "ContainerCreating": false, "PodInitializing": false} {
		p := waiting(reason)
		why, got := registryPodStuck(&p)
		if got != stuck || (stuck && !strings.Contains(why, reason)) {
			t.Errorf("%s: stuck %t (%q), want %t", reason, got, why, stuck)
		}
	}
}
