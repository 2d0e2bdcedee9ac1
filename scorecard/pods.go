package scorecard

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/rand"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/logtail"
	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/wait"
)

const (
	// podGracePeriod is how long a deleted test pod has to stop: the test
	// image cancels its test on SIGTERM and runs the cleanups (CleanupTimeout).
	podGracePeriod = CleanupTimeout + 10*time.Second
	// podPollInterval is how often a test pod's phase is read.
	podPollInterval = time.Second
	// apiTimeout bounds one call made after the test's wait time ended:
	// reading a log, deleting the ConfigMap.
	apiTimeout = 30 * time.Second
	// logTailLines of a test pod's log are quoted when it says no TestStatus.
	logTailLines = 20
)

// PodOptions configure RunPods.
type PodOptions struct {
	// Client creates, reads and deletes the ConfigMap and the pods.
	Client client.Client
	// Clientset reads the test pods' logs.
	Clientset kubernetes.Interface
	// BundleDir is archived into a ConfigMap the test pods unpack at /bundle.
	BundleDir string
	// WaitTime bounds each test, from creating its pod to its pod finishing.
	WaitTime time.Duration
	// PodInput: Namespace, UntarImage, ServiceAccount, Security (Run is set by RunPods).
	PodInput
}

// RunPods runs the tests the selector picks as pods, as operator-sdk's
// scorecard does, stage by stage as RunStages orders them: the bundle
// tar.gz'ed into a ConfigMap, one pod per test, each test's results read
// from its pod's log. Pods and the ConfigMap are deleted afterwards, also
// on timeout and cancellation. The error is for what stops the run before
// any test (the bundle, the ConfigMap) and for cleanups that failed; a
// test's own trouble is an error result.
func RunPods(ctx context.Context, cfg *v1alpha3.Configuration, selector labels.Selector, o PodOptions) (v1alpha3.TestList, error) {
	archive, err := BundleArchive(o.BundleDir)
	if err != nil {
		return v1alpha3.TestList{}, err
	}
	o.Run = rand.String(6)
	cm := BundleConfigMap(o.Namespace, o.Run, archive)
	if err := o.Client.Create(ctx, cm); err != nil {
		return v1alpha3.TestList{}, fmt.Errorf("create ConfigMap %s/%s with the bundle: %w", cm.Namespace, cm.Name, err)
	}
	r := &podRunner{PodOptions: o}
	list := RunStages(ctx, cfg, selector, o.WaitTime, r.test)
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	defer cancel()
	if err := o.Client.Delete(dctx, cm); client.IgnoreNotFound(err) != nil {
		r.cleanupFailed(fmt.Errorf("delete ConfigMap %s/%s: %w", cm.Namespace, cm.Name, err))
	}
	return list, errors.Join(r.cleanupErrs...)
}

// podRunner runs the tests of one RunPods.
type podRunner struct {
	PodOptions
	mu          sync.Mutex
	cleanupErrs []error
}

func (r *podRunner) cleanupFailed(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.cleanupErrs = append(r.cleanupErrs, err)
}

// test is the TestFunc of the pod runner: create the pod, wait for it to
// finish, read the TestStatus it printed, delete it.
func (r *podRunner) test(ctx context.Context, tc v1alpha3.TestConfiguration) v1alpha3.TestStatus {
	name := TestName(tc)
	pod := TestPod(tc, r.PodInput)
	if err := r.Client.Create(ctx, pod); err != nil {
		return errorStatus(name, "create the test pod in %s: %v", r.Namespace, err)
	}
	defer r.deletePod(ctx, pod)
	done, err := r.waitFinished(ctx, pod)
	if cause := context.Cause(ctx); err != nil && cause != nil && !errors.Is(cause, ErrWaitTime) {
		return errorStatus(name, "run stopped (%v): %v", cause, err)
	}
	if err != nil {
		return errorStatus(name, "%v", err)
	}
	return r.status(ctx, name, done)
}

// waitFinished waits for the pod to succeed or fail. It stops early when the
// pod cannot start (an image that cannot be pulled: the untar image or the
// test image); on timeout the error names the pod, its phase and problems,
// and the end of its log.
func (r *podRunner) waitFinished(ctx context.Context, pod *corev1.Pod) (*corev1.Pod, error) {
	var last *corev1.Pod
	key := client.ObjectKeyFromObject(pod)
	err := wait.For(ctx, wait.Options{
		What:     fmt.Sprintf("test pod %s to finish", key),
		Interval: podPollInterval,
		Diagnose: func(ctx context.Context) string { return r.logTail(ctx, pod) },
	}, func(ctx context.Context) (bool, string, error) {
		p := &corev1.Pod{}
		err := r.Client.Get(ctx, key, p)
		switch {
		case apierrors.IsNotFound(err):
			return false, "", wait.Failed("test pod %s was deleted before it finished", key)
		case ctx.Err() != nil:
			return false, "", nil
		case err != nil:
			return false, err.Error(), nil
		}
		last = p
		if why, stuck := podstatus.Stuck(p); stuck {
			return false, podstatus.Describe(p), wait.Failed("test pod %s cannot start: %s", key, why)
		}
		return p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed, podstatus.Describe(p), nil
	})
	return last, err
}

// status is the TestStatus the finished pod's test container printed.
func (r *podRunner) status(ctx context.Context, name string, pod *corev1.Pod) v1alpha3.TestStatus {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), apiTimeout)
	defer cancel()
	log, err := r.log(ctx, pod)
	if err != nil {
		return errorStatus(name, "read the log of test pod %s/%s: %v", pod.Namespace, pod.Name, err)
	}
	status, err := ParseStatus(log)
	if err != nil {
		return errorStatus(name, "test pod %s/%s (%s): %v; its log ends:\n%s",
			pod.Namespace, pod.Name, podstatus.Describe(pod), err, logtail.Lines(string(log), logTailLines))
	}
	return status
}

func (r *podRunner) log(ctx context.Context, pod *corev1.Pod) ([]byte, error) {
	return r.Clientset.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, &corev1.PodLogOptions{Container: testContainer}).DoRaw(ctx)
}

// logTail is the end of the test container's log so far, for a timeout.
func (r *podRunner) logTail(ctx context.Context, pod *corev1.Pod) string {
	log, err := r.log(ctx, pod)
	if err != nil || len(bytes.TrimSpace(log)) == 0 {
		return ""
	}
	return fmt.Sprintf("  log of %s/%s so far:\n%s", pod.Namespace, pod.Name, logtail.Lines(string(log), logTailLines))
}

// deletePod deletes the test pod and waits until it is gone. A pod still
// running (wait time over, run cancelled) gets its grace period: the test
// image cleans up what its test created on SIGTERM.
func (r *podRunner) deletePod(ctx context.Context, pod *corev1.Pod) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), podGracePeriod+apiTimeout)
	defer cancel()
	key := client.ObjectKeyFromObject(pod)
	if err := r.Client.Delete(ctx, pod); client.IgnoreNotFound(err) != nil {
		r.cleanupFailed(fmt.Errorf("delete test pod %s: %w", key, err))
		return
	}
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("test pod %s to be deleted", key), Interval: podPollInterval},
		func(ctx context.Context) (bool, string, error) {
			p := &corev1.Pod{}
			if err := r.Client.Get(ctx, key, p); apierrors.IsNotFound(err) {
				return true, "", nil
			} else if err != nil {
				return false, err.Error(), nil
			}
			return false, podstatus.Describe(p), nil
		})
	if err != nil {
		r.cleanupFailed(err)
	}
}

// ParseStatus reads the v1alpha3 TestStatus a test container prints as its
// whole output, as operator-sdk's scorecard reads it.
func ParseStatus(log []byte) (v1alpha3.TestStatus, error) {
	var status v1alpha3.TestStatus
	if err := json.Unmarshal(bytes.TrimSpace(log), &status); err != nil {
		return status, fmt.Errorf("its log is not a v1alpha3 TestStatus: %w", err)
	}
	if len(status.Results) == 0 {
		return status, errors.New("its TestStatus has no results")
	}
	return status, nil
}

// errorStatus is one error result for a test that gave no TestStatus.
func errorStatus(name, format string, args ...any) v1alpha3.TestStatus {
	res := v1alpha3.TestResult{Name: name, State: v1alpha3.ErrorState, Errors: []string{fmt.Sprintf(format, args...)}}
	res.CreationTimestamp.Time = time.Now().UTC().Truncate(time.Second)
	return v1alpha3.TestStatus{Results: []v1alpha3.TestResult{res}}
}
