//go:build node

package node

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example-inc/memcached-operator/test/framework"
)

// TestPullsFromHTTPSRegistry: the real node pulls an image from the local
// HTTPS registry (make registry-tls-up), verifying its certificate against
// the registry's CA, and runs it under the restricted Pod Security Standard.
// containerd trusts a localhost registry without checking its certificate
// unless hosts.toml configures it, so the test also reads that
// configuration: the registry's CA, no skip_verify.
func TestPullsFromHTTPSRegistry(t *testing.T) {
	ctx, c, ns := setup(t)
	image := framework.Env(t, "TLS_SCRAPE_IMAGE", "test-node")
	host, _, _ := strings.Cut(image, "/")
	hostsToml := filepath.Join(framework.Env(t, "NODE_STATE", "test-node"), "containerd", "certs.d", host, "hosts.toml")
	b, err := os.ReadFile(hostsToml)
	if err != nil {
		t.Fatal(err)
	}
	ca := filepath.Join(framework.Env(t, "REGISTRY_TLS_DIR", "test-node"), "tls", "ca.crt")
	if cfg := string(b); !strings.Contains(cfg, `ca = "`+ca+`"`) || strings.Contains(cfg, "skip_verify") || !strings.Contains(cfg, "https://"+host) {
		t.Fatalf("%s does not make containerd verify %s with its CA %s:\n%s", hostsToml, host, ca, cfg)
	}
	// The scrape image exits non-zero when it cannot reach the URL; that it ran
	// at all is what this test needs.
	code := runPod(ctx, t, c, ns, "default", image, "https://127.0.0.1:1/")
	t.Logf("%s pulled over HTTPS verified with %s and ran (exit %d)", image, ca, code)
}
