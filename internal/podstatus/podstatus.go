// Package podstatus reads a pod's status: whether it is ready, and if not,
// why, in the words the kubelet and the scheduler use: unschedulable, image
// pulls, crashes, failing probes, init containers that did not finish.
package podstatus

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// Ready reports the pod's Ready condition: the one definition of "the pod is
// ready" (kubectl's READY column, a Service's endpoints).
func Ready(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Problems lists why the pod is not ready, in the order the pod reports
// them: conditions with a message, then init containers that did not
// complete, then containers.
func Problems(p *corev1.Pod) []string {
	var out []string
	for _, c := range p.Status.Conditions {
		if c.Status != corev1.ConditionTrue && c.Message != "" {
			out = append(out, fmt.Sprintf("%s=%s %s: %s", c.Type, c.Status, c.Reason, c.Message))
		}
	}
	for _, cs := range p.Status.InitContainerStatuses {
		if t := cs.State.Terminated; t != nil && t.ExitCode == 0 {
			continue
		}
		if msg := container(cs); msg != "" {
			out = append(out, "init "+msg)
		}
	}
	for _, cs := range p.Status.ContainerStatuses {
		if msg := container(cs); msg != "" {
			out = append(out, msg)
		}
	}
	return out
}

// Describe is the pod's phase followed by its problems, for one line of a
// wait's last state: "Pending; init container untar waiting: ErrImagePull ...".
func Describe(p *corev1.Pod) string {
	return strings.Join(append([]string{string(p.Status.Phase)}, Problems(p)...), "; ")
}

func container(cs corev1.ContainerStatus) string {
	switch {
	case cs.State.Waiting != nil:
		msg := fmt.Sprintf("container %s waiting: %s %s", cs.Name, cs.State.Waiting.Reason, cs.State.Waiting.Message)
		// A crash loop's cause is in how the last run ended (a command that
		// is not in the image: StartError, "exec: ... no such file").
		if last := cs.LastTerminationState.Terminated; last != nil {
			msg += "; last run " + exit(last)
		}
		return msg
	case cs.State.Terminated != nil:
		return fmt.Sprintf("container %s terminated: %s", cs.Name, exit(cs.State.Terminated))
	case !cs.Ready:
		return fmt.Sprintf("container %s not ready", cs.Name)
	}
	return ""
}

// exit is how a container run ended: reason, exit code, and the runtime's
// message when there is one.
func exit(t *corev1.ContainerStateTerminated) string {
	out := fmt.Sprintf("%s (exit %d)", t.Reason, t.ExitCode)
	if m := strings.TrimSpace(t.Message); m != "" {
		out += ": " + m
	}
	return out
}

// stuckReasons are what the kubelet says of a waiting container that will
// not start without someone changing the pod or the image: its image cannot
// be pulled (after the kubelet already retried: back-off) or is not a valid
// reference, or pulling it is forbidden by the pod's pull policy.
var stuckReasons = map[string]bool{
	"ImagePullBackOff":  true,
	"InvalidImageName":  true,
	"ErrImageNeverPull": true,
}

// Stuck says why a pod will not start by itself, for a waiter that should
// stop waiting: the first init or app container whose image cannot be
// pulled, with the kubelet's reason and message (which names the image).
func Stuck(p *corev1.Pod) (string, bool) {
	statuses := append(append([]corev1.ContainerStatus{}, p.Status.InitContainerStatuses...), p.Status.ContainerStatuses...)
	for _, cs := range statuses {
		if w := cs.State.Waiting; w != nil && stuckReasons[w.Reason] {
			return fmt.Sprintf("container %s: %s: %s", cs.Name, w.Reason, w.Message), true
		}
	}
	return "", false
}
