//go:build operatorsdk

// Package operatorsdk holds this repository to operator-sdk's own commands
// (OPERATOR_SDK, operator-sdk v1.42): its bundle validation, its bundle
// generator, its project layout (make test-operator-sdk).
package operatorsdk

import (
	"bufio"
	"bytes"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/example-inc/memcached-operator/test/framework"
)

// suite names these tests where they are skipped or required.
const suite = "operator-sdk parity (make test-operator-sdk)"

// root is the checkout.
var root, _ = filepath.Abs(filepath.Join("..", ".."))

// sdk runs operator-sdk with args in dir and returns its exit code and
// combined output.
func sdk(t *testing.T, dir string, args ...string) (int, string) {
	t.Helper()
	return sdkWithInput(t, dir, nil, args...)
}

// sdkWithInput is sdk with stdin.
func sdkWithInput(t *testing.T, dir string, stdin []byte, args ...string) (int, string) {
	t.Helper()
	bin := framework.RequireOperatorSDK(t, suite)
	cmd := exec.Command(bin, args...)
	cmd.Dir, cmd.Stdin = dir, bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), string(out)
	} else if err != nil {
		t.Fatalf("operator-sdk %s: %v", strings.Join(args, " "), err)
	}
	return 0, string(out)
}

// finding is one line operator-sdk logs: its level and message.
type finding struct{ level, msg string }

var logLine = regexp.MustCompile(`level=(\w+) msg=("(?:[^"\\]|\\.)*"|\S+)`)

// findings are the warnings and errors in operator-sdk's log output.
func findings(t *testing.T, out string) []finding {
	t.Helper()
	var fs []finding
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		m := logLine.FindStringSubmatch(sc.Text())
		if m == nil || m[1] == "info" || m[1] == "debug" {
			continue
		}
		msg := m[2]
		if strings.HasPrefix(msg, `"`) {
			u, err := strconv.Unquote(msg)
			if err != nil {
				t.Fatalf("operator-sdk's log line %q: %v", sc.Text(), err)
			}
			msg = u
		}
		fs = append(fs, finding{m[1], msg})
	}
	return fs
}

func run(t *testing.T, dir, name string, args ...string) []byte {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, stderr.String())
	}
	return out
}
