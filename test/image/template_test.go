//go:build image

package image

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
)

// A semver template whose bundle is the image in the local HTTPS registry,
// named by digest, is rendered by
// `sdk catalog render --pull` into the catalog `opm alpha render-template`
// renders from the same registry (with the CSV-metadata migration our
// published catalog has), both verifying the registry's certificate.
func TestTemplateRendersAsOpmFromTheRegistry(t *testing.T) {
	opm, sdk, img, caBundle := os.Getenv("OPM"), os.Getenv("SDK"), os.Getenv("TLS_BUNDLE_IMG"), os.Getenv("REGISTRY_CA_BUNDLE")
	if opm == "" || sdk == "" || img == "" || caBundle == "" {
		t.Fatal("OPM, SDK, TLS_BUNDLE_IMG and REGISTRY_CA_BUNDLE must be set: run 'make test-bundle-image'")
	}
	ref := digestRef(t, img, caBundle)
	dir := t.TempDir()
	template := filepath.Join(dir, "template.yaml")
	content := fmt.Sprintf("schema: olm.semver\ngenerateMajorChannels: true\ngenerateMinorChannels: false\nstable:\n  bundles:\n  - image: %s\n", ref)
	if err := os.WriteFile(template, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	env := append(os.Environ(), "SSL_CERT_FILE="+caBundle)

	cmd := exec.Command(opm, "alpha", "render-template", "semver", template, "-o", "yaml", "--migrate-level", "bundle-object-to-csv-metadata")
	cmd.Env = env
	want, err := cmd.Output()
	if err != nil {
		t.Fatalf("opm alpha render-template: %v\n%s", err, stderrOf(err))
	}
	out := filepath.Join(dir, "catalog")
	cmd = exec.Command(sdk, "catalog", "render", "--template", template, "--releases", filepath.Join(dir, "no-releases"), "--bundle=", "--pull", "--output", out)
	cmd.Env = env
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("sdk catalog render --pull: %v\n%s", err, msg)
	}
	got := normalized(t, out)
	wantCfg, err := declcfg.LoadReader(bytes.NewReader(want))
	if err != nil {
		t.Fatal(err)
	}
	if w := yamlOf(t, *wantCfg); got != w {
		t.Errorf("sdk catalog render --pull wrote\n%s\nopm alpha render-template renders\n%s", got, w)
	}
	if !strings.Contains(got, "image: "+ref) {
		t.Errorf("the bundle does not keep its digest reference %s:\n%s", ref, got)
	}
}

// digestRef is img (host/repo:tag) by digest, as the registry names it.
func digestRef(t *testing.T, img, caBundle string) string {
	t.Helper()
	host, rest, _ := strings.Cut(img, "/")
	repo, tag, _ := strings.Cut(rest, ":")
	pem, err := os.ReadFile(caBundle)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	req, err := http.NewRequestWithContext(context.Background(), http.MethodHead, "https://"+host+"/v2/"+repo+"/manifests/"+tag, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.v2+json")
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	digest := resp.Header.Get("Docker-Content-Digest")
	if resp.StatusCode != http.StatusOK || digest == "" {
		t.Fatalf("HEAD %s: %s, digest %q", req.URL, resp.Status, digest)
	}
	return host + "/" + repo + "@" + digest
}

// normalized is the catalog in dir as one YAML stream, as opm writes one.
func normalized(t *testing.T, dir string) string {
	t.Helper()
	cfg, err := declcfg.LoadFS(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	return yamlOf(t, *cfg)
}

func yamlOf(t *testing.T, cfg declcfg.DeclarativeConfig) string {
	t.Helper()
	var b bytes.Buffer
	if err := declcfg.WriteYAML(cfg, &b); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func stderrOf(err error) []byte {
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.Stderr
	}
	return nil
}
