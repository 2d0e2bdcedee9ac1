package repo

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// makeDryRun runs `make -n TARGET VARS...` in the checkout with env added to
// a KUBECONFIG-free environment and returns its output and whether it failed.
func makeDryRun(t *testing.T, env []string, args ...string) (string, bool) {
	t.Helper()
	cmd := exec.Command("make", append([]string{"-n", "--no-print-directory", "-C", "../.."}, args...)...)
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KUBECONFIG=") && !strings.HasPrefix(e, "WORKDIR=") && !strings.HasPrefix(e, "MAKEFLAGS=") {
			cmd.Env = append(cmd.Env, e)
		}
	}
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	return string(out), err != nil
}

// recorded makes a WORKDIR as cluster-up leaves it: cluster.mk and a kubeconfig.
func recorded(t *testing.T, name, lane string) string {
	t.Helper()
	dir := t.TempDir()
	rec := "RECORDED_CLUSTER_NAME := " + name + "\nRECORDED_NODE_LANE := " + lane + "\n"
	if err := os.WriteFile(filepath.Join(dir, "cluster.mk"), []byte(rec), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "kubeconfig"), nil, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// Every target acts on the cluster its WORKDIR or KUBECONFIG names, and
// refuses, naming both, a CLUSTER_NAME or NODE_LANE that disagrees.
func TestOneClusterOneIdentity(t *testing.T) {
	dir := recorded(t, "lane-a", "real")
	cases := []struct {
		name    string
		env     []string
		args    []string
		want    []string // in the output
		refused bool
	}{
		{"WORKDIR alone takes the recorded cluster", nil, []string{"cluster-status", "WORKDIR=" + dir},
			[]string{"CLUSTER_NAME=lane-a", "NODE_LANE=real", "WORKDIR=" + dir}, false},
		{"an exported KUBECONFIG alone names its WORKDIR", []string{"KUBECONFIG=" + dir + "/kubeconfig"}, []string{"cluster-status"},
			[]string{"CLUSTER_NAME=lane-a", "NODE_LANE=real", "WORKDIR=" + dir}, false},
		{"a disagreeing NODE_LANE is refused", nil, []string{"olm-up", "WORKDIR=" + dir, "NODE_LANE=simulated"},
			[]string{"holds cluster lane-a (NODE_LANE=real), not CLUSTER_NAME=lane-a NODE_LANE=simulated"}, true},
		{"a disagreeing CLUSTER_NAME is refused", []string{"KUBECONFIG=" + dir + "/kubeconfig"}, []string{"olm-up", "CLUSTER_NAME=memcached"},
			[]string{"holds cluster lane-a (NODE_LANE=real), not CLUSTER_NAME=memcached NODE_LANE=real"}, true},
		{"KUBECONFIG and WORKDIR of two clusters are refused", nil, []string{"olm-up", "WORKDIR=" + t.TempDir(), "KUBECONFIG=" + dir + "/kubeconfig"},
			[]string{"is the cluster of WORKDIR " + dir}, true},
		{"a WORKDIR on the command line wins over an exported KUBECONFIG", []string{"KUBECONFIG=" + dir + "/kubeconfig"}, []string{"cluster-status", "WORKDIR=" + filepath.Join(dir, "other")},
			[]string{"CLUSTER_NAME=memcached", "NODE_LANE=simulated", "LOCAL_KUBECONFIG=" + filepath.Join(dir, "other", "kubeconfig")}, false},
		{"a relative WORKDIR is taken from the checkout", nil, []string{"cluster-status", "WORKDIR=.work/rel-test"},
			[]string{"WORKDIR=" + mustAbs(t, "../../.work/rel-test") + " "}, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, failed := makeDryRun(t, c.env, c.args...)
			if failed != c.refused {
				t.Fatalf("refused=%v, want %v:\n%s", failed, c.refused, out)
			}
			for _, w := range c.want {
				if !strings.Contains(out, w) {
					t.Errorf("output does not say %q:\n%s", w, out)
				}
			}
		})
	}
}

func mustAbs(t *testing.T, p string) string {
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}
