//go:build scorecardnode

package scorecardnode

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/test/framework"
)

// upstreamTests are operator-sdk's built-in tests, as its scaffold's
// config/scorecard lists them: the basic suite and the olm suite.
var upstreamTests = map[string]string{
	"basic-check-spec": "basic", "olm-bundle-validation": "olm", "olm-crds-have-validation": "olm",
	"olm-crds-have-resources": "olm", "olm-spec-descriptors": "olm", "olm-status-descriptors": "olm",
}

// TestOperatorSDKScorecardUpstream: operator-sdk's own scorecard, running
// operator-sdk's own test image (SCORECARD_TEST_IMAGE, rebuilt here from its
// binary by make scorecard-test-image) with its scaffold's configuration as
// pods on the real node, passes every basic and olm test on our bundle.
func TestOperatorSDKScorecardUpstream(t *testing.T) {
	const suite = "operator-sdk's scorecard tests on our bundle (make test-scorecard-node)"
	sdk := framework.RequireOperatorSDK(t, suite)
	if os.Getenv("SCORECARD_TEST_BIN") == "" {
		framework.Unavailable(t, "REQUIRE_OPERATOR_SDK", suite, "SCORECARD_TEST_BIN (the binary of operator-sdk's scorecard-test image) is not set, and none is next to OPERATOR_SDK")
	}
	l := setup(t)
	cfg := filepath.Join(t.TempDir(), "config.yaml")
	if err := os.WriteFile(cfg, upstreamConfig(t, framework.Env(t, "SCORECARD_TEST_IMAGE", "test-scorecard-node")), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"scorecard", "bundle", "-c", cfg, "-n", l.ns, "-o", "json", "--untar-image", l.untarImage, "--pod-security", "restricted", "--wait-time", "3m"}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(sdk, args...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = repoRoot, &stdout, &stderr
	err := cmd.Run()
	var list v1alpha3.TestList
	if jerr := json.Unmarshal(stdout.Bytes(), &list); jerr != nil {
		t.Fatalf("operator-sdk %s: %v; output is not a TestList (%v)\nstdout: %s\nstderr: %s", strings.Join(args, " "), err, jerr, stdout.String(), stderr.String())
	}
	ran := map[string]bool{}
	for _, item := range list.Items {
		for _, r := range item.Status.Results {
			ran[r.Name] = true
			if r.State != v1alpha3.PassState {
				t.Errorf("operator-sdk's %s: %s %q (suggestions %q)", r.Name, r.State, r.Errors, r.Suggestions)
			}
		}
	}
	for name := range upstreamTests {
		if !ran[name] {
			t.Errorf("operator-sdk's %s did not run (ran: %v)", name, ran)
		}
	}
	if err != nil {
		t.Errorf("operator-sdk %s: %v\nstderr: %s", strings.Join(args, " "), err, stderr.String())
	}
}

// upstreamConfig is operator-sdk's scaffolded scorecard configuration,
// every test in one parallel stage, with image as the test image.
func upstreamConfig(t *testing.T, image string) []byte {
	t.Helper()
	cfg := v1alpha3.Configuration{TypeMeta: metav1.TypeMeta{APIVersion: v1alpha3.GroupVersion.String(), Kind: v1alpha3.ConfigurationKind},
		Stages: []v1alpha3.StageConfiguration{{Parallel: true}}}
	cfg.Metadata.Name = "config"
	for name, suite := range upstreamTests {
		cfg.Stages[0].Tests = append(cfg.Stages[0].Tests, v1alpha3.TestConfiguration{Image: image, Entrypoint: []string{"scorecard-test", name},
			Labels: map[string]string{"suite": suite, "test": name + "-test"}})
	}
	b, err := yaml.Marshal(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return b
}
