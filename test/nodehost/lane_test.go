//go:build nodehost

// Package nodehost holds the real node to being a guest on the host: it
// touches nothing it did not create (decoys of what a host with Docker,
// kubeadm or k3s has stay as they were), refuses what it cannot share, and
// runs side by side with other real-node clusters (make test-node-host).
package nodehost

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// root is the checkout, where make runs.
var root, _ = filepath.Abs(filepath.Join("..", ".."))

var intstr11211 = intstr.FromInt32(11211)

func init() { ctrllog.SetLogger(logr.Discard()) }

// readyWithin is how soon a pod must be Ready on the real node after its creation.
const readyWithin = 10 * time.Second

// lane is a real-node cluster of its own, in WORKDIR .work/<name>.
type lane struct {
	name, workdir string
	c             client.Client
}

// makeRun runs make with args in the checkout, its output in the test log,
// and returns it with whether it succeeded.
func makeRun(t *testing.T, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"--no-print-directory"}, args...)...)
	cmd.Dir = root
	cmd.Env = environ()
	out, err := cmd.CombinedOutput()
	return string(out), err == nil
}

// environ is the test's environment without what would point make at
// another cluster.
func environ() []string {
	var env []string
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KUBECONFIG=") && !strings.HasPrefix(e, "WORKDIR=") && !strings.HasPrefix(e, "MAKEFLAGS=") && !strings.HasPrefix(e, "MAKELEVEL=") {
			env = append(env, e)
		}
	}
	return env
}

// needNode handles a host where no real node can run (hack/node.sh check).
func needNode(t *testing.T) {
	t.Helper()
	framework.RequireRealNode(t, root, "the real node as a guest on the host (make test-node-host)")
}

// up starts a real-node cluster in .work/<name>; the test tears it down.
func up(t *testing.T, name string) *lane {
	t.Helper()
	l := &lane{name: name, workdir: filepath.Join(root, ".work", name)}
	t.Cleanup(func() { l.down(t) })
	start := time.Now()
	if out, ok := makeRun(t, "cluster-up", "NODE_LANE=real", "WORKDIR="+l.workdir, "CLUSTER_NAME="+name); !ok {
		t.Fatalf("make cluster-up NODE_LANE=real WORKDIR=%s:\n%s", l.workdir, tail(out))
	}
	t.Logf("cluster %s with a real node up in %s", name, time.Since(start).Round(100*time.Millisecond))
	cfg, err := clientcmd.BuildConfigFromFlags("", filepath.Join(l.workdir, "kubeconfig"))
	if err != nil {
		t.Fatal(err)
	}
	if l.c, err = client.New(cfg, client.Options{Scheme: kubeclient.Scheme()}); err != nil {
		t.Fatal(err)
	}
	return l
}

// down stops the cluster (idempotent).
func (l *lane) down(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(l.workdir); err != nil {
		return
	}
	if out, ok := makeRun(t, "cluster-down", "WORKDIR="+l.workdir); !ok {
		t.Errorf("make cluster-down WORKDIR=%s:\n%s", l.workdir, tail(out))
	}
	_ = os.RemoveAll(l.workdir)
}

// memcachedPod runs memcached (the operand image) as a restricted pod on
// the real node and waits until it is Ready, within readyWithin of its
// creation.
func (l *lane) memcachedPod(t *testing.T, name string) *corev1.Pod {
	t.Helper()
	ctx := context.Background()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: corev1.PodSpec{
			NodeSelector:    map[string]string{framework.RealNodeLabel: "real"},
			SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
			Containers: []corev1.Container{{
				Name: "memcached", Image: framework.Env(t, "OPERAND_IMAGE", "test-node-host"), Args: []string{"-p", "11211", "-U", "0"},
				Ports:           []corev1.ContainerPort{{ContainerPort: 11211}},
				ReadinessProbe:  &corev1.Probe{ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr11211}}, PeriodSeconds: 1},
				SecurityContext: &corev1.SecurityContext{AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}}},
			}},
		},
	}
	start := time.Now()
	if err := l.c.Create(ctx, p); err != nil {
		t.Fatal(err)
	}
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("pod %s on cluster %s to be Ready", p.Name, l.name), Timeout: 2 * time.Minute}, func(ctx context.Context) (bool, string, error) {
		if err := l.c.Get(ctx, client.ObjectKeyFromObject(p), p); err != nil {
			return false, "", err
		}
		return podstatus.Ready(p), string(p.Status.Phase), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	ready := time.Since(start)
	t.Logf("cluster %s: pod %s at %s Ready %s after its creation", l.name, p.Name, p.Status.PodIP, ready.Round(100*time.Millisecond))
	if ready > readyWithin {
		t.Errorf("cluster %s: pod Ready %s after its creation, want within %s", l.name, ready.Round(100*time.Millisecond), readyWithin)
	}
	return p
}

func tail(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	if len(lines) > 30 {
		lines = lines[len(lines)-30:]
	}
	return strings.Join(lines, "\n")
}
