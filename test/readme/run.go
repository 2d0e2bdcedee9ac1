package readme

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/example-inc/memcached-operator/test/framework"
)

// userEnv are the variables of the test's environment a user's shell would
// have too; everything else (what make and the test harness export: MAKEFLAGS,
// KUBECONFIG, WORKDIR, GOFLAGS, SSL_CERT_FILE, ...) is left out, so a block
// runs as it would when pasted into a terminal.
var userEnv = []string{"HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "TERM", "SHELL", "TMPDIR", "HOSTNAME",
	"GOPATH", "GOCACHE", "GOMODCACHE", "GOPROXY", "GOSUMDB", "GONOSUMDB", "GOPRIVATE", "GONOPROXY", "GOTOOLCHAIN",
	"http_proxy", "https_proxy", "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY"}

// RunOptions say where and how a scenario's blocks run.
type RunOptions struct {
	// Dir is the checkout (or its copy) the blocks run in.
	Dir string
	// Tools are commands put on the user's PATH: name -> binary (kubectl ->
	// bin/kubectl, operator-sdk -> OPERATOR_SDK).
	Tools map[string]string
	// Out receives each block and its output.
	Out io.Writer
}

// Run runs blocks in order, each in a fresh bash (errexit, pipefail, each
// command echoed) in o.Dir, then the block's check; it stops at the first
// failure, naming the README line.
func Run(ctx context.Context, blocks []Block, o RunOptions) error {
	path, err := toolDir(o.Tools)
	if err != nil {
		return err
	}
	defer os.RemoveAll(path)
	env := []string{"PATH=" + path + string(os.PathListSeparator) + os.Getenv("PATH")}
	for _, k := range userEnv {
		if v, ok := os.LookupEnv(k); ok {
			env = append(env, k+"="+v)
		}
	}
	for _, b := range blocks {
		fmt.Fprintf(o.Out, "==> README.md:%d (%s)\n%s", b.Line, b.Scenario, b.Text)
		cmd := exec.CommandContext(ctx, "bash", "--noprofile", "--norc", "-o", "errexit", "-o", "pipefail", "-o", "xtrace", "-c", b.Text)
		cmd.Dir, cmd.Env, cmd.Stdout, cmd.Stderr = o.Dir, env, o.Out, o.Out
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("README.md:%d: the block failed as written: %w", b.Line, err)
		}
		if len(b.Check) > 0 {
			fmt.Fprintf(o.Out, "==> check after README.md:%d: %s\n", b.Line, strings.Join(b.Check, " "))
			if err := Checks[b.Check[0]].Run(ctx, o.Dir, b.Check[1:]); err != nil {
				return fmt.Errorf("README.md:%d: check %s: %w", b.Line, b.Check[0], err)
			}
		}
	}
	return nil
}

// toolDir makes a directory of symbolic links to tools, for PATH.
func toolDir(tools map[string]string) (string, error) {
	dir, err := os.MkdirTemp("", "readme-path-")
	if err != nil {
		return "", err
	}
	for name, bin := range tools {
		abs, err := filepath.Abs(bin)
		if err == nil {
			err = os.Symlink(abs, filepath.Join(dir, name))
		}
		if err != nil {
			os.RemoveAll(dir)
			return "", fmt.Errorf("put %s on PATH: %w", name, err)
		}
	}
	return dir, nil
}

// Unmet says why a scenario's needs are not met here (empty: they are):
// root is the checkout, whose hack/node.sh says whether a real node can run.
func Unmet(root string, s Scenario) (need, why string) {
	for _, n := range s.Needs {
		switch n {
		case "real-node":
			if why := framework.RealNode(root); why != "" {
				return n, why
			}
		case "operator-sdk":
			if _, why := framework.OperatorSDK(); why != "" {
				return n, why
			}
		}
	}
	return "", ""
}
