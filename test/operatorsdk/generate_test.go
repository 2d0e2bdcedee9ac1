//go:build operatorsdk

package operatorsdk

import (
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/test/framework"
)

// difference is a field one generator writes and the other does not (or
// writes with another value), on purpose.
type difference struct {
	file string   // under bundle/
	path []string // the field, key by key
	why  string
}

// The documented differences between `make bundle` and operator-sdk's
// `generate bundle` from the same inputs. Anything else that differs fails.
var differences = []difference{
	{"manifests/memcached-operator.clusterserviceversion.yaml", []string{"metadata", "annotations", "containerImage"}, "ours: OperatorHub shows the operator image (make bundle sets it from IMG)"},
	{"manifests/memcached-operator.clusterserviceversion.yaml", []string{"metadata", "annotations", "createdAt"}, "both, another time: ours keeps the first generation's, so regenerating changes nothing"},
	{"manifests/memcached-operator.clusterserviceversion.yaml", []string{"metadata", "annotations", "operators.operatorframework.io/builder"}, "both: the generator's name"},
	{"manifests/memcached-operator.clusterserviceversion.yaml", []string{"spec", "relatedImages"}, "ours: the operator and memcached images, for disconnected mirroring"},
	{"manifests/memcached-operator.clusterserviceversion.yaml", []string{"spec", "replaces"}, "ours: REPLACES (operator-sdk reads it from the CSV base; the catalog is what OLM follows)"},
	{"manifests/memcached-operator.clusterserviceversion.yaml", []string{"spec", "cleanup"}, "ours: the API's zero value {enabled: false}, which our serializer writes and operator-sdk's omits"},
	{"metadata/annotations.yaml", []string{"annotations", "operators.operatorframework.io.metrics.builder"}, "operator-sdk's: which operator-sdk built the bundle"},
	{"metadata/annotations.yaml", []string{"annotations", "operators.operatorframework.io.metrics.mediatype.v1"}, "operator-sdk's: the metrics annotations' media type"},
}

// TestGenerateBundle: operator-sdk's `generate bundle`, fed what `make
// bundle` reads (the kustomize builds of config/manifests and
// config/scorecard, the manager's image set as the scaffold's bundle target
// does, the same version, package and channels), writes bundle/ as `make
// bundle` does, but for the documented differences.
func TestGenerateBundle(t *testing.T) {
	framework.RequireOperatorSDK(t, suite)
	dir := t.TempDir()
	if err := framework.CopyCheckout(root, dir, "bin"); err != nil {
		t.Fatal(err)
	}
	kustomize := framework.Env(t, "KUSTOMIZE", "test-operator-sdk")
	img, version := framework.Env(t, "IMG", "test-operator-sdk"), framework.Env(t, "VERSION", "test-operator-sdk")
	run(t, filepath.Join(dir, "config", "manager"), kustomize, "edit", "set", "image", "controller="+img)
	input := append(run(t, dir, kustomize, "build", "config/manifests"), "---\n"...)
	input = append(input, withTestImage(t, run(t, dir, kustomize, "build", "config/scorecard"), framework.Env(t, "SCORECARD_IMG", "test-operator-sdk"))...)
	if err := os.RemoveAll(filepath.Join(dir, "bundle")); err != nil {
		t.Fatal(err)
	}
	args := []string{"generate", "bundle", "-q", "--overwrite", "--version", version, "--package", framework.Env(t, "PACKAGE", "test-operator-sdk"),
		"--channels", framework.Env(t, "CHANNELS", "test-operator-sdk"), "--default-channel", framework.Env(t, "DEFAULT_CHANNEL", "test-operator-sdk")}
	if code, out := sdkWithInput(t, dir, input, args...); code != 0 {
		t.Fatalf("operator-sdk %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	if ours, theirs := dockerfileLines(t, filepath.Join(root, "bundle.Dockerfile")), dockerfileLines(t, filepath.Join(dir, "bundle.Dockerfile")); !slices.Equal(ours, theirs) {
		t.Errorf("bundle.Dockerfile's instructions (metrics labels aside):\n  make bundle:  %q\n  operator-sdk: %q", ours, theirs)
	}
	ours, theirs := files(t, filepath.Join(root, "bundle")), files(t, filepath.Join(dir, "bundle"))
	if !slices.Equal(ours, theirs) {
		t.Fatalf("bundle/ files:\n  make bundle:  %v\n  operator-sdk: %v", ours, theirs)
	}
	for _, f := range ours {
		a, b := load(t, filepath.Join(root, "bundle", f)), load(t, filepath.Join(dir, "bundle", f))
		for _, d := range differences {
			if d.file != f {
				continue
			}
			// A documented difference that no longer differs would hide a
			// change there: the table must say only what is true.
			if va, vb := take(a, d.path), take(b, d.path); reflect.DeepEqual(va, vb) {
				t.Errorf("bundle/%s: %s is documented as differing (%s), but both write %v; remove it from the table", f, strings.Join(d.path, "."), d.why, va)
			}
		}
		if diffs := compare("", a, b); len(diffs) > 0 {
			t.Errorf("bundle/%s differs from operator-sdk's beyond the documented differences (-make bundle +operator-sdk):\n%s", f, strings.Join(diffs, "\n"))
		}
	}
}

// withTestImage sets every test of a scorecard Configuration to image, as
// make bundle's --scorecard-image does (config/scorecard's patches name a
// placeholder: the image is a release input, SCORECARD_IMG).
func withTestImage(t *testing.T, config []byte, image string) []byte {
	t.Helper()
	obj := map[string]any{}
	if err := yaml.Unmarshal(config, &obj); err != nil {
		t.Fatal(err)
	}
	stages, _ := obj["stages"].([]any)
	for _, st := range stages {
		tests, _ := st.(map[string]any)["tests"].([]any)
		for _, tc := range tests {
			tc.(map[string]any)["image"] = image
		}
	}
	out, err := yaml.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// dockerfileLines are a bundle.Dockerfile's instructions, sorted, without
// comments and operator-sdk's metrics labels (its own, as in annotations.yaml).
func dockerfileLines(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l != "" && !strings.HasPrefix(l, "#") && !strings.HasPrefix(l, "LABEL operators.operatorframework.io.metrics.") {
			out = append(out, l)
		}
	}
	slices.Sort(out)
	return out
}

// files are the paths under dir, sorted.
func files(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			rel, _ := filepath.Rel(dir, p)
			out = append(out, rel)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(out)
	return out
}

// load reads a manifest as a generic object, without what only says "unset"
// (creationTimestamp: null, an empty status): the two serializers differ there.
func load(t *testing.T, file string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	obj := map[string]any{}
	if err := yaml.Unmarshal(b, &obj); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	if md, ok := obj["metadata"].(map[string]any); ok && md["creationTimestamp"] == nil {
		delete(md, "creationTimestamp")
	}
	delete(obj, "status")
	return obj
}

// take removes the field at path from obj and returns its value (nil when
// there is none).
func take(obj map[string]any, path []string) any {
	for i, k := range path {
		if i == len(path)-1 {
			v := obj[k]
			delete(obj, k)
			return v
		}
		next, ok := obj[k].(map[string]any)
		if !ok {
			return nil
		}
		obj = next
	}
	return nil
}

// compare lists the paths where a and b differ.
func compare(path string, a, b any) []string {
	am, aok := a.(map[string]any)
	bm, bok := b.(map[string]any)
	if !aok || !bok {
		if reflect.DeepEqual(a, b) {
			return nil
		}
		return []string{fmt.Sprintf("  %s:\n  - %v\n  + %v", path, a, b)}
	}
	keys := map[string]bool{}
	for k := range am {
		keys[k] = true
	}
	for k := range bm {
		keys[k] = true
	}
	var out []string
	for _, k := range slices.Sorted(maps.Keys(keys)) {
		out = append(out, compare(path+"."+k, am[k], bm[k])...)
	}
	return out
}
