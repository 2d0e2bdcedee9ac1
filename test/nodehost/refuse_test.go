//go:build nodehost

package nodehost

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// fakeProcess runs a copy of sleep named name (a process of the host's PID
// namespace whose command is name) until the test ends.
func fakeProcess(t *testing.T, name string) *exec.Cmd {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(sleep)
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(bin, b, 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "300")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	return cmd
}

// TestRefusesWhatItCannotShare: node-check and cluster-up name another
// node's kubelet or kube-proxy and a port the lane needs that another
// process holds, with the process and the way out, and start nothing; a
// containerd of the host is no reason to refuse.
func TestRefusesWhatItCannotShare(t *testing.T) {
	needNode(t)
	workdir := filepath.Join(root, ".work", "host-refusals")
	t.Cleanup(func() { _, _ = makeRun(t, "cluster-down", "WORKDIR="+workdir); _ = os.RemoveAll(workdir) })
	for _, name := range []string{"kubelet", "kube-proxy"} {
		t.Run("another node's "+name, func(t *testing.T) {
			p := fakeProcess(t, name)
			want := []string{"a " + name + " of another node runs on this host (pid " + strconv.Itoa(p.Process.Pid), "stop it first"}
			refused(t, want, "node-check")
			refused(t, want, "cluster-up", "NODE_LANE=real", "WORKDIR="+workdir)
			if _, err := os.Stat(filepath.Join(workdir, "kubeconfig")); err == nil {
				t.Errorf("cluster-up started a control plane in %s before refusing", workdir)
			}
		})
	}
	t.Run("a port the lane needs", func(t *testing.T) {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer l.Close()
		port := l.Addr().(*net.TCPAddr).Port
		addr := "127.0.0.1:" + strconv.Itoa(port)
		refused(t, []string{addr + ", which this lane needs (LOCAL_HTTP_REGISTRY), is taken by", "(pid " + strconv.Itoa(os.Getpid()) + ")",
			"LOCAL_HTTP_REGISTRY=127.0.0.1:" + strconv.Itoa(port+1)}, "node-check", "LOCAL_HTTP_REGISTRY="+addr)
	})
	t.Run("a containerd of the host", func(t *testing.T) {
		fakeProcess(t, "containerd")
		if out, ok := makeRun(t, "node-check"); !ok {
			t.Errorf("make node-check with a containerd of the host refused:\n%s", tail(out))
		}
	})
}

// refused: make args fails saying each of want.
func refused(t *testing.T, want []string, args ...string) {
	t.Helper()
	out, ok := makeRun(t, args...)
	if ok {
		t.Errorf("make %s succeeded; want it to refuse:\n%s", strings.Join(args, " "), tail(out))
		return
	}
	for _, w := range want {
		if !strings.Contains(out, w) {
			t.Errorf("make %s does not say %q:\n%s", strings.Join(args, " "), w, tail(out))
		}
	}
}
