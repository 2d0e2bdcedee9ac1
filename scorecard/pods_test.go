package scorecard

import (
	"archive/tar"
	"bytes"
	"cmp"
	"compress/gzip"
	"context"
	"crypto/rand"
	"errors"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	fakeclientset "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
)

func testConfig(t *testing.T) *v1alpha3.Configuration {
	t.Helper()
	cfg, err := LoadConfig(filepath.Join(ourBundle, "tests", "scorecard", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// A test pod runs the config's image and entrypoint after the untar
// container, sees the bundle at /bundle and its namespace in
// SCORECARD_NAMESPACE; restricted pods pass the restricted Pod Security
// Standard, legacy pods set no security context.
func TestTestPod(t *testing.T) {
	tc := testConfig(t).Stages[1].Tests[0]
	in := PodInput{Namespace: "ns", Run: "abc123", UntarImage: "example.com/util:v1", ServiceAccount: "memcached-scorecard", Security: PodSecurityRestricted}
	pod := TestPod(tc, in)
	if v := RestrictedViolations(pod); len(v) != 0 {
		t.Errorf("a restricted test pod violates the restricted standard: %v", v)
	}
	untar, test := pod.Spec.InitContainers[0], pod.Spec.Containers[0]
	for _, check := range []struct {
		what      string
		got, want any
	}{
		{"generateName", pod.GenerateName, "scorecard-memcached-example-reconciles-"},
		{"run label", pod.Labels[LabelRun], "abc123"},
		{"service account", pod.Spec.ServiceAccountName, "memcached-scorecard"},
		{"restart policy", pod.Spec.RestartPolicy, corev1.RestartPolicyNever},
		{"untar image", untar.Image, "example.com/util:v1"},
		{"untar command", strings.Join(untar.Command, " "), "tar -xzf /scorecard/bundle.tar.gz -C /bundle"},
		{"untar user", *untar.SecurityContext.RunAsUser, int64(untarUser)},
		{"test image", test.Image, "example.com/memcached-operator-scorecard:v0.3.2"},
		{"test command", strings.Join(test.Command, " "), "scorecard-test memcached-example-reconciles"},
		{"test env", test.Env, []corev1.EnvVar{{Name: "SCORECARD_NAMESPACE", Value: "ns"}}},
		{"test mount", test.VolumeMounts[0].MountPath, "/bundle"},
		{"archive ConfigMap", pod.Spec.Volumes[0].ConfigMap.Name, "scorecard-bundle-abc123"},
		{"grace period", *pod.Spec.TerminationGracePeriodSeconds > int64(CleanupTimeout.Seconds()), true},
	} {
		if !reflect.DeepEqual(check.got, check.want) {
			t.Errorf("%s: %v, want %v", check.what, check.got, check.want)
		}
	}

	in.Security = PodSecurityLegacy
	legacy := TestPod(tc, in)
	if legacy.Spec.SecurityContext != nil || legacy.Spec.Containers[0].SecurityContext != nil || legacy.Spec.InitContainers[0].SecurityContext != nil {
		t.Errorf("a legacy test pod sets a security context")
	}
	if _, err := ParsePodSecurity("baseline"); err == nil {
		t.Errorf("ParsePodSecurity accepts baseline")
	}
}

// The archive holds every file of the bundle under its path below the
// bundle directory, byte for byte; a bundle over 1 MiB is refused.
func TestBundleArchive(t *testing.T) {
	archive, err := BundleArchive(ourBundle)
	if err != nil {
		t.Fatal(err)
	}
	got := untar(t, archive)
	want := map[string][]byte{}
	err = filepath.WalkDir(ourBundle, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(ourBundle, path)
		want[filepath.ToSlash(rel)], err = os.ReadFile(path)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != len(want) {
		t.Errorf("archive has %d files, the bundle %d", len(got), len(want))
	}
	for name, b := range want {
		if !bytes.Equal(got[name], b) {
			t.Errorf("%s differs in the archive", name)
		}
	}
	if again, _ := BundleArchive(ourBundle); !bytes.Equal(again, archive) {
		t.Errorf("the same bundle gives different archives")
	}

	big := t.TempDir()
	noise := make([]byte, MaxBundleArchive+1)
	_, _ = rand.Read(noise)
	if err := os.WriteFile(filepath.Join(big, "noise"), noise, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := BundleArchive(big); err == nil || !strings.Contains(err.Error(), "over the 1 MiB") {
		t.Errorf("a bundle over 1 MiB: err %v, want one saying it is over the 1 MiB a ConfigMap holds", err)
	}
}

func untar(t *testing.T, archive []byte) map[string][]byte {
	t.Helper()
	zr, err := gzip.NewReader(bytes.NewReader(archive))
	if err != nil {
		t.Fatal(err)
	}
	files := map[string][]byte{}
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return files
		}
		if err != nil {
			t.Fatal(err)
		}
		if hdr.Typeflag == tar.TypeReg {
			files[hdr.Name], _ = io.ReadAll(tr)
		}
	}
}

func TestParseStatus(t *testing.T) {
	status, err := ParseStatus([]byte(`{"results":[{"name":"x","state":"pass"}]}` + "\n"))
	if err != nil || len(status.Results) != 1 || status.Results[0].State != v1alpha3.PassState {
		t.Errorf("a TestStatus: %+v, %v", status, err)
	}
	for _, log := range []string{"", "panic: boom", `{"results":[]}`} {
		if _, err := ParseStatus([]byte(log)); err == nil {
			t.Errorf("ParseStatus(%q) accepts it", log)
		}
	}
}

// kubelet plays the node for the fake client: every test pod of the
// namespace gets status, until ctx ends.
func kubelet(ctx context.Context, c client.Client, status corev1.PodStatus) {
	for ctx.Err() == nil {
		pods := &corev1.PodList{}
		_ = c.List(ctx, pods, client.HasLabels{LabelRun})
		for _, p := range pods.Items {
			if p.Status.Phase == "" {
				p.Status = status
				_ = c.Status().Update(ctx, &p)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Whatever ends a test (its pod finished, its wait time, a cancelled run),
// the runner deletes its pod and the bundle ConfigMap, and its result says
// which pod and what state it was in.
func TestRunPodsCleansUp(t *testing.T) {
	pulling := corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{{
		Name: untarContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}},
	}}}
	backOff := corev1.PodStatus{Phase: corev1.PodPending, InitContainerStatuses: []corev1.ContainerStatus{{
		Name: untarContainer, State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: `Back-off pulling image "util"`}},
	}}}
	for _, tc := range []struct {
		name   string
		status corev1.PodStatus
		cancel time.Duration // stop the run after this long (Ctrl-C); 0: never
		wait   time.Duration // the wait time; 0: 1.5 s
		want   []string
	}{
		{name: "wait time over", status: pulling, want: []string{
			"timed out after", "waiting for test pod ns/scorecard-basic-check-spec-", "init container scorecard-untar waiting: ErrImagePull not found"}},
		{name: "untar image cannot be pulled: no waiting out the wait time", status: backOff, wait: time.Hour, want: []string{
			"test pod ns/scorecard-basic-check-spec-", "cannot start: container scorecard-untar: ImagePullBackOff: Back-off pulling image \"util\""}},
		{name: "run cancelled", status: pulling, cancel: 300 * time.Millisecond, want: []string{"run stopped (context canceled): ", "waiting for test pod ns/scorecard-basic-check-spec-"}},
		{name: "finished without a TestStatus", status: corev1.PodStatus{Phase: corev1.PodFailed}, want: []string{
			"test pod ns/scorecard-basic-check-spec-", "(Failed): its log is not a v1alpha3 TestStatus", "fake logs"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := fake.NewClientBuilder().WithScheme(kubeclient.Scheme()).Build()
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			go kubelet(ctx, c, tc.status)
			runCtx, stop := context.WithCancel(ctx)
			defer stop()
			if tc.cancel > 0 {
				time.AfterFunc(tc.cancel, stop)
			}
			sel, _ := labels.Parse("test=basic-check-spec")
			waitTime := cmp.Or(tc.wait, 1500*time.Millisecond)
			list, err := RunPods(runCtx, testConfig(t), sel, PodOptions{
				Client: c, Clientset: fakeclientset.NewClientset(), BundleDir: ourBundle, WaitTime: waitTime,
				PodInput: PodInput{Namespace: "ns", UntarImage: "util", ServiceAccount: "default", Security: PodSecurityRestricted},
			})
			if err != nil {
				t.Fatalf("cleanup: %v", err)
			}
			if len(list.Items) != 1 || len(list.Items[0].Status.Results) != 1 {
				t.Fatalf("%d tests, want 1 with 1 result", len(list.Items))
			}
			res := list.Items[0].Status.Results[0]
			msg := strings.Join(res.Errors, "\n")
			if res.Name != BasicCheckSpec || res.State != v1alpha3.ErrorState {
				t.Errorf("result %s %s, want %s error", res.Name, res.State, BasicCheckSpec)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not say %q", msg, w)
				}
			}
			pods, cms := &corev1.PodList{}, &corev1.ConfigMapList{}
			if err := errors.Join(c.List(ctx, pods), c.List(ctx, cms)); err != nil {
				t.Fatalf("list what the run left behind: %v", err)
			}
			if len(pods.Items)+len(cms.Items) != 0 {
				t.Errorf("%d pods and %d ConfigMaps left behind", len(pods.Items), len(cms.Items))
			}
		})
	}
}
