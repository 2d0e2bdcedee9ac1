//go:build image

// Package image checks the bundle image as a registry serves it: rendered
// back by operator-registry's opm, it must hold exactly bundle/.
package image

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"
)

type property struct {
	Type  string          `json:"type"`
	Value json.RawMessage `json:"value"`
}

type renderedBundle struct {
	Schema     string     `json:"schema"`
	Name       string     `json:"name"`
	Package    string     `json:"package"`
	Image      string     `json:"image"`
	Properties []property `json:"properties"`
}

func TestBundleImageRendersBackIdentical(t *testing.T) {
	opm, img := os.Getenv("OPM"), os.Getenv("BUNDLE_IMG")
	if opm == "" || img == "" {
		t.Fatal("OPM and BUNDLE_IMG must be set: run 'make test-bundle-image'")
	}
	b := render(t, opm, img)
	if b.Schema != "olm.bundle" || b.Image != img {
		t.Errorf("rendered %s %q from %q, want olm.bundle from %s", b.Schema, b.Name, b.Image, img)
	}

	annotations := readYAML(t, filepath.Join("..", "..", "bundle", "metadata", "annotations.yaml"))["annotations"].(map[string]any)
	if b.Package != annotations["operators.operatorframework.io.bundle.package.v1"] {
		t.Errorf("package = %q, want %q", b.Package, annotations["operators.operatorframework.io.bundle.package.v1"])
	}

	// Every manifest in bundle/manifests, and nothing else, is in the image.
	want := bundleManifests(t)
	got, gvks := imageObjects(t, b)
	if len(got) != len(want) {
		t.Errorf("image holds %d objects, bundle/ %d: %v vs %v", len(got), len(want), keys(got), keys(want))
	}
	for k, w := range want {
		if !reflect.DeepEqual(got[k], w) {
			t.Errorf("%s in the image differs from bundle/", k)
		}
	}
	if len(gvks) != 1 || gvks[0] != "cache.example.com/v1/Memcached" {
		t.Errorf("olm.gvk properties = %v, want the Memcached v1 API", gvks)
	}
	if b.Name != want["ClusterServiceVersion/"+b.Name]["metadata"].(map[string]any)["name"] {
		t.Errorf("bundle name %q is not the CSV's", b.Name)
	}
}

// The bundle image in the HTTPS registry (make registry-tls-up): opm, as
// operator-sdk does, reads it from this host verifying the certificate, so it
// refuses the registry until SSL_CERT_FILE names the bundle with the
// registry's CA, then renders the same bundle.
func TestBundleImageOverVerifiedTLS(t *testing.T) {
	opm, img, tlsImg, caBundle := os.Getenv("OPM"), os.Getenv("BUNDLE_IMG"), os.Getenv("TLS_BUNDLE_IMG"), os.Getenv("REGISTRY_CA_BUNDLE")
	if opm == "" || img == "" || tlsImg == "" || caBundle == "" {
		t.Fatal("OPM, BUNDLE_IMG, TLS_BUNDLE_IMG and REGISTRY_CA_BUNDLE must be set: run 'make test-bundle-image'")
	}
	cmd := exec.Command(opm, "render", tlsImg, "-o", "json")
	cmd.Env = append(os.Environ(), "SSL_CERT_FILE=/dev/null")
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "certificate") {
		t.Errorf("opm render %s trusting no CA: %v, want a certificate error:\n%s", tlsImg, err, out)
	}
	got := render(t, opm, tlsImg, "SSL_CERT_FILE="+caBundle)
	if want := render(t, opm, img); got.Name != want.Name || got.Image != tlsImg || len(got.Properties) != len(want.Properties) {
		t.Errorf("over HTTPS opm rendered %s (%s, %d properties), over HTTP %s (%d properties)", got.Name, got.Image, len(got.Properties), want.Name, len(want.Properties))
	}
}

// render is the bundle image img as opm renders it from the registry; with
// env, the registry is verified HTTPS, without it plain HTTP.
func render(t *testing.T, opm, img string, env ...string) renderedBundle {
	t.Helper()
	args := []string{"render", img, "-o", "json"}
	if len(env) == 0 {
		args = append(args, "--use-http")
	}
	cmd := exec.Command(opm, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("opm render %s: %v\n%s", img, err, stderr)
	}
	var b renderedBundle
	if err := json.Unmarshal(out, &b); err != nil {
		t.Fatalf("opm render output: %v\n%s", err, out)
	}
	return b
}

// bundleManifests are the objects in bundle/manifests by key.
func bundleManifests(t *testing.T) map[string]map[string]any {
	t.Helper()
	want := map[string]map[string]any{}
	files, err := filepath.Glob(filepath.Join("..", "..", "bundle", "manifests", "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests in bundle/: %v", err)
	}
	for _, f := range files {
		obj := readYAML(t, f)
		want[key(obj)] = obj
	}
	return want
}

// imageObjects decodes the rendered bundle's olm.bundle.object properties by
// key, and lists its olm.gvk properties as group/version/kind.
func imageObjects(t *testing.T, b renderedBundle) (map[string]map[string]any, []string) {
	t.Helper()
	got := map[string]map[string]any{}
	var gvks []string
	for _, p := range b.Properties {
		switch p.Type {
		case "olm.bundle.object":
			var v struct{ Data string }
			if err := json.Unmarshal(p.Value, &v); err != nil {
				t.Fatal(err)
			}
			raw, err := base64.StdEncoding.DecodeString(v.Data)
			if err != nil {
				t.Fatal(err)
			}
			obj := map[string]any{}
			if err := json.Unmarshal(raw, &obj); err != nil {
				t.Fatal(err)
			}
			got[key(obj)] = obj
		case "olm.gvk":
			var g struct{ Group, Version, Kind string }
			if err := json.Unmarshal(p.Value, &g); err != nil {
				t.Fatal(err)
			}
			gvks = append(gvks, g.Group+"/"+g.Version+"/"+g.Kind)
		}
	}
	return got, gvks
}

func key(obj map[string]any) string {
	md, _ := obj["metadata"].(map[string]any)
	return obj["kind"].(string) + "/" + md["name"].(string)
}

func keys(m map[string]map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return obj
}
