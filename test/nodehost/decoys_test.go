//go:build nodehost

package nodehost

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/example-inc/memcached-operator/test/framework"
)

// decoy is something a host with Docker, kubeadm or k3s has, which the
// real node must leave as it is: made if absent (and removed afterwards),
// and checked after the node has come and gone.
type decoy struct {
	what   string
	make   string // shell commands that make it
	check  string // shell commands that succeed while it is as made
	remove string // shell commands that remove it
}

// decoys: /run/containerd (Docker's and kubeadm's containerd), a pod network
// namespace, kube-proxy's and CNI's iptables chains with jumps from built-in
// chains, kube-proxy's nftables table, a kubepods cgroup, and a shim of
// another node's containerd.
func decoys(cgroupRoot string) []decoy {
	return []decoy{
		{"/run/containerd with a socket-named file and a marker",
			"mkdir /run/containerd && : >/run/containerd/containerd.sock && echo decoy >/run/containerd/MARKER",
			"[ -f /run/containerd/containerd.sock ] && [ \"$(cat /run/containerd/MARKER)\" = decoy ] && [ \"$(ls /run/containerd | wc -l)\" = 2 ]",
			"rm -rf /run/containerd"},
		{"network namespace cni-decoy", "ip netns add cni-decoy", "ip netns list | grep -qx 'cni-decoy.*'", "ip netns delete cni-decoy"},
		{"iptables chain KUBE-DECOY jumped to from FORWARD",
			"iptables -N KUBE-DECOY && iptables -A FORWARD -j KUBE-DECOY",
			"iptables -S KUBE-DECOY && iptables -C FORWARD -j KUBE-DECOY",
			"iptables -D FORWARD -j KUBE-DECOY; iptables -X KUBE-DECOY"},
		{"iptables nat chain CNI-DECOY jumped to from POSTROUTING",
			"iptables -t nat -N CNI-DECOY && iptables -t nat -A POSTROUTING -j CNI-DECOY",
			"iptables -t nat -S CNI-DECOY && iptables -t nat -C POSTROUTING -j CNI-DECOY",
			"iptables -t nat -D POSTROUTING -j CNI-DECOY; iptables -t nat -X CNI-DECOY"},
		{"nftables table ip kube-proxy", "nft add table ip kube-proxy && nft add chain ip kube-proxy decoy", "nft list chain ip kube-proxy decoy", "nft delete table ip kube-proxy"},
		{"cgroup kubepods", "mkdir " + cgroupRoot + "/kubepods", "[ -d " + cgroupRoot + "/kubepods ]", "rmdir " + cgroupRoot + "/kubepods"},
	}
}

// TestNodeLeavesHostAlone: with decoys of another node's state in place, a
// real-node cluster comes up, a pod serves, the cluster goes down; every
// decoy is as it was, the decoy shim still runs, and the host's snapshot
// (links, routes, namespaces, rules, mounts, cgroups, processes, settings)
// is what it was before.
func TestNodeLeavesHostAlone(t *testing.T) {
	needNode(t)
	// ip netns add mounts /run/netns the first time: what the test made it
	// takes away again, after the decoys.
	if _, err := os.Stat("/run/netns"); os.IsNotExist(err) {
		t.Cleanup(func() { _ = run("sh", "-c", "umount /run/netns; rmdir /run/netns") })
	}
	for _, d := range decoys(cgroupRoot(t)) {
		if run("sh", "-c", d.check) == nil {
			t.Logf("decoy %s: the host has one already; it is checked as it is", d.what)
			continue
		}
		if err := run("sh", "-c", d.make); err != nil {
			t.Fatalf("make decoy %s: %v", d.what, err)
		}
		t.Cleanup(func() { _ = run("sh", "-c", d.remove) })
	}
	shim := exec.Command("bash", "-c", `exec -a "containerd-shim-runc-v2 -namespace k8s.io -id decoy -address /run/containerd/containerd.sock" sleep 3600`)
	if err := shim.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = shim.Process.Kill(); _ = shim.Wait() })

	before := snapshot(t)
	l := up(t, "host-decoys")
	framework.AssertAnswers(t, l.memcachedPod(t, "memcached"), "guest")
	l.down(t)
	if after := snapshot(t); after != before {
		t.Errorf("the host differs after the node came and went:\n%s", diff(before, after))
	}
	for _, d := range decoys(cgroupRoot(t)) {
		if err := run("sh", "-c", d.check); err != nil {
			t.Errorf("decoy %s was changed: %v", d.what, err)
		}
	}
	if err := shim.Process.Signal(syscall.Signal(0)); err != nil {
		t.Errorf("the decoy containerd-shim-runc-v2 (pid %d) no longer runs: %v", shim.Process.Pid, err)
	}
}

// cgroupRoot is where a kubepods cgroup of another node would be: the pids
// hierarchy on cgroup v1, the root on v2.
func cgroupRoot(t *testing.T) string {
	t.Helper()
	for _, d := range []string{"/sys/fs/cgroup/pids", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
			return d
		}
	}
	t.Fatal("no cgroup hierarchy at /sys/fs/cgroup/pids or /sys/fs/cgroup")
	return ""
}

// snapshot is hack/node.sh's account of the host state a node must leave alone.
func snapshot(t *testing.T) string {
	t.Helper()
	cmd := exec.Command("hack/node.sh", "snapshot")
	cmd.Dir = root
	cmd.Env = append(environ(), "BIN="+filepath.Join(root, "bin"), "STATE="+filepath.Join(root, ".work", "host-decoys", "node"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("hack/node.sh snapshot: %v", err)
	}
	return string(out)
}

func run(name string, args ...string) error {
	out, err := exec.Command(name, args...).CombinedOutput()
	if err != nil {
		return &cmdError{err: err, out: strings.TrimSpace(string(out))}
	}
	return nil
}

type cmdError struct {
	err error
	out string
}

func (e *cmdError) Error() string { return e.err.Error() + ": " + e.out }

// diff lists the lines only before and only after.
func diff(before, after string) string {
	in := func(s string) map[string]bool {
		m := map[string]bool{}
		for _, l := range strings.Split(s, "\n") {
			m[l] = true
		}
		return m
	}
	b, a := in(before), in(after)
	var out []string
	for _, l := range strings.Split(before, "\n") {
		if !a[l] {
			out = append(out, "- "+l)
		}
	}
	for _, l := range strings.Split(after, "\n") {
		if !b[l] {
			out = append(out, "+ "+l)
		}
	}
	return strings.Join(out, "\n")
}
