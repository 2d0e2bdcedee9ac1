package repo

import (
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// TestRequiredSuitesFailWhereTheyCannotRun holds what CI relies on (.ci/run
// sets REQUIRE_REAL_NODE=1 and REQUIRE_OPERATOR_SDK=1): on a machine where
// the real node cannot run, or without operator-sdk, those suites fail with
// the reason; without the requirement they skip, and make test's summary
// names each with its reason. The real node is kept from running by a port
// it needs being taken (or, as a user without root, by that), operator-sdk
// by OPERATOR_SDK naming nothing.
func TestRequiredSuitesFailWhereTheyCannotRun(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	port := strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)
	work := t.TempDir()
	skipLog := filepath.Join(work, "skipped.log")
	env := []string{"SKIP_LOG=" + skipLog, "MAKE=make", "BIN=" + filepath.Join(work, "bin"), "WORKDIR=" + work,
		"HOST_PORTS=TEST_PORT=127.0.0.1:" + port, "OWN_PIDFILES=", "OPERATOR_SDK=" + filepath.Join(work, "no-operator-sdk")}
	suites := []struct {
		name, require string
		cmd           []string
	}{
		{"the real-node lane", "REQUIRE_REAL_NODE", []string{"hack/test-node.sh"}},
		{"operator-sdk's parity tests", "REQUIRE_OPERATOR_SDK",
			[]string{"go", "test", "-count=1", "-v", "-tags", "containers_image_openpgp,json1,operatorsdk", "-run", "^TestBundleValidate$", "./test/operatorsdk/"}},
	}
	for _, s := range suites {
		out, err := runIn(env, s.require+"=1", s.cmd)
		if err == nil || !strings.Contains(out, "cannot run") || !strings.Contains(out, s.require+"=1 requires it") {
			t.Errorf("%s with %s=1 where it cannot run: want a failure saying why and naming %s=1, got err=%v:\n%s", s.name, s.require, s.require, err, out)
		}
		if out, err := runIn(env, s.require+"=", s.cmd); err != nil || !strings.Contains(out, "skipped") {
			t.Errorf("%s without %s where it cannot run: want it to skip saying why, got err=%v:\n%s", s.name, s.require, err, out)
		}
	}
	out, err := runIn(env, "", []string{"hack/skip.sh", "summary"})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"2 suite(s) did not run", "the real-node lane (make test-node): ", "operator-sdk parity (make test-operator-sdk): OPERATOR_SDK=" + filepath.Join(work, "no-operator-sdk") + " does not run"} {
		if !strings.Contains(out, want) {
			t.Errorf("make test's summary does not say %q:\n%s", want, out)
		}
	}
}

// runIn runs cmd at the checkout's root with env (and one more variable,
// when set) over this process's environment.
func runIn(env []string, more string, cmd []string) (string, error) {
	c := exec.Command(cmd[0], cmd[1:]...)
	c.Dir = "../.."
	c.Env = append(os.Environ(), env...)
	if more != "" {
		c.Env = append(c.Env, more)
	}
	out, err := c.CombinedOutput()
	return string(out), err
}
