package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// SkipLogEnv names the file make test appends each skipped suite to, one
// "suite: reason" line, and summarises at its end (hack/skip.sh writes the
// same lines from scripts).
const SkipLogEnv = "SKIP_LOG"

// Unavailable handles a suite whose needs this machine does not meet. With
// requireEnv set to 1 (CI sets REQUIRE_REAL_NODE and REQUIRE_OPERATOR_SDK)
// that is a failure with the reason; otherwise the suite is skipped, and the
// skip recorded for make test's summary.
func Unavailable(t testing.TB, requireEnv, suite, why string) {
	t.Helper()
	if os.Getenv(requireEnv) == "1" {
		t.Fatalf("%s cannot run: %s (%s=1 requires it)", suite, why, requireEnv)
	}
	if log := os.Getenv(SkipLogEnv); log != "" {
		f, err := os.OpenFile(log, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			fmt.Fprintf(f, "%s: %s\n", suite, why)
			f.Close()
		}
	}
	t.Skipf("%s skipped: %s", suite, why)
}

// OperatorSDK is the operator-sdk OPERATOR_SDK names (make resolves it from
// PATH, as the operator-sdk scaffold's Makefile does), or why there is none.
func OperatorSDK() (path, why string) {
	sdk := os.Getenv("OPERATOR_SDK")
	if sdk == "" {
		return "", "operator-sdk is not on PATH and OPERATOR_SDK is not set (set OPERATOR_SDK=/path/to/operator-sdk)"
	}
	if out, err := exec.Command(sdk, "version").CombinedOutput(); err != nil {
		return "", fmt.Sprintf("OPERATOR_SDK=%s does not run: %v %s", sdk, err, strings.TrimSpace(string(out)))
	}
	return sdk, ""
}

// RequireOperatorSDK returns OPERATOR_SDK's operator-sdk, or handles its
// absence (Unavailable with REQUIRE_OPERATOR_SDK).
func RequireOperatorSDK(t testing.TB, suite string) string {
	t.Helper()
	sdk, why := OperatorSDK()
	if why != "" {
		Unavailable(t, "REQUIRE_OPERATOR_SDK", suite, why)
	}
	return sdk
}

// RealNode says why no real node can run on this host (hack/node.sh check
// of the checkout at root); empty when one can.
func RealNode(root string) string {
	cmd := exec.Command("hack/node.sh", "check")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "BIN="+filepath.Join(root, "bin"), "STATE="+filepath.Join(root, ".work", "node-check"))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "no real node can run here: " + strings.TrimSpace(string(out))
	}
	return ""
}

// RequireRealNode handles a host where no real node can run (Unavailable
// with REQUIRE_REAL_NODE).
func RequireRealNode(t testing.TB, root, suite string) {
	t.Helper()
	if why := RealNode(root); why != "" {
		Unavailable(t, "REQUIRE_REAL_NODE", suite, why)
	}
}
