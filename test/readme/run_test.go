//go:build readme

package readme

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/example-inc/memcached-operator/test/framework"
)

// requireEnv is the variable that turns an unmet need into a failure.
var requireEnv = map[string]string{"real-node": "REQUIRE_REAL_NODE", "operator-sdk": "REQUIRE_OPERATOR_SDK"}

// TestReadme runs the blocks of the scenario README_SCENARIO names, as
// written, in README order (make test-readme-<scenario>).
func TestReadme(t *testing.T) {
	name := os.Getenv("README_SCENARIO")
	s, ok := Lookup(name)
	if !ok || s.Setup {
		t.Fatalf("README_SCENARIO=%q: want a scenario a make target runs (make test-readme-...)", name)
	}
	root, err := filepath.Abs(filepath.Join("..", ".."))
	if err != nil {
		t.Fatal(err)
	}
	md, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	all, err := Parse(md)
	if err != nil {
		t.Fatal(err)
	}
	blocks := Of(all, name)
	if len(blocks) == 0 {
		t.Fatalf("README.md has no block of scenario %s", name)
	}
	if need, why := Unmet(root, s); why != "" {
		framework.Unavailable(t, requireEnv[need], "README scenario "+name, why)
	}
	dir := root
	if s.Copy {
		dir = copyCheckout(t, root)
	}
	tools := map[string]string{"kubectl": filepath.Join(root, "bin", "kubectl")}
	if sdk := os.Getenv("OPERATOR_SDK"); sdk != "" {
		tools["operator-sdk"] = sdk
	}
	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Minute)
	defer cancel()
	start := time.Now()
	if err := Run(ctx, blocks, RunOptions{Dir: dir, Tools: tools, Out: os.Stdout}); err != nil {
		t.Fatal(err)
	}
	t.Logf("README scenario %s: %d blocks ran as written in %s", name, len(blocks), time.Since(start).Round(time.Second))
}

// copyCheckout copies the checkout for blocks that change it; the copy shares
// the checkout's tools and registries. A registry the blocks started stops
// with the test; one already running (make test's) stays up.
func copyCheckout(t *testing.T, root string) string {
	t.Helper()
	dir := t.TempDir()
	if err := framework.CopyCheckout(root, dir, "bin", ".work/registry", ".work/registry-tls"); err != nil {
		t.Fatal(err)
	}
	var down []string
	for target, sub := range map[string]string{"registry-down": ".work/registry", "registry-tls-down": ".work/registry-tls"} {
		if !running(filepath.Join(root, sub, "pid")) {
			down = append(down, target)
		}
	}
	t.Cleanup(func() {
		if len(down) == 0 {
			return
		}
		args := append([]string{"-C", dir, "--no-print-directory"}, down...)
		if out, err := exec.Command("make", args...).CombinedOutput(); err != nil {
			t.Errorf("stop the registries the README's blocks started: %v\n%s", err, out)
		}
	})
	return dir
}

// running says whether the process a pid file names is alive.
func running(pidFile string) bool {
	b, err := os.ReadFile(pidFile)
	if err != nil {
		return false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	return err == nil && syscall.Kill(pid, 0) == nil
}
