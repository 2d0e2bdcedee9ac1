package bundle

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

var (
	t0  = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	rel = Release{
		Metadata:      Metadata{Package: "widget-operator", Channels: []string{"fast", "stable"}, DefaultChannel: "stable", ProjectLayout: "go.kubebuilder.io/v4"},
		Version:       "1.2.3",
		Replaces:      "1.2.2",
		SkipRange:     ">=1.0.0 <1.2.2",
		OperatorImage: "example.com/widget-operator:v1.2.3",
	}
	opts       = Options{K8sVersion: K8sTargetVersion}
	scorecard  = []byte("apiVersion: scorecard.operatorframework.io/v1alpha3\nkind: Configuration\nmetadata:\n  name: config\nstages: []\n")
	fixtureYML = filepath.Join("..", "csv", "testdata", "manifests.yaml")
)

// fixture returns the rendered manifests, each mutated by edit (by kind).
func fixture(t *testing.T, edit func(u *unstructured.Unstructured) bool) *bytes.Buffer {
	t.Helper()
	f, err := os.Open(fixtureYML)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	objs, err := Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	out := &bytes.Buffer{}
	for _, u := range objs {
		if edit != nil && !edit(u) {
			continue
		}
		b, err := yaml.Marshal(u.Object)
		if err != nil {
			t.Fatal(err)
		}
		out.WriteString("---\n")
		out.Write(b)
	}
	return out
}

func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = string(b)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return files
}

func generate(t *testing.T, dir string, manifests *bytes.Buffer, r Release, now time.Time) ([]Problem, error) {
	t.Helper()
	return Generate(GenerateOptions{
		Release:         r,
		Manifests:       manifests,
		ScorecardConfig: scorecard,
		Dir:             filepath.Join(dir, "bundle"),
		Dockerfile:      filepath.Join(dir, "bundle.Dockerfile"),
		Validation:      opts,
		Now:             now,
	})
}

// TestGolden compares the whole generated bundle with testdata/golden.
func TestGolden(t *testing.T) {
	dir := t.TempDir()
	problems, err := generate(t, dir, fixture(t, nil), rel, t0)
	if err != nil {
		t.Fatalf("Generate: %v\n%v", err, problems)
	}
	for _, p := range problems {
		t.Logf("%s", p)
	}
	got := readTree(t, dir)
	golden := filepath.Join("testdata", "golden")
	if *update {
		_ = os.RemoveAll(golden)
		for name, content := range got {
			p := filepath.Join(golden, name)
			_ = os.MkdirAll(filepath.Dir(p), 0o755)
			if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	want := readTree(t, golden)
	for name := range want {
		if _, ok := got[name]; !ok {
			t.Errorf("missing %s", name)
		}
	}
	for name, content := range got {
		if want[name] != content {
			t.Errorf("%s differs from testdata/golden (go test ./internal/bundle -update to accept):\n%s", name, content)
		}
	}
}

// Regenerating the same version later changes no byte; a new version
// gets a new createdAt.
func TestGenerateIsDeterministic(t *testing.T) {
	dir := t.TempDir()
	if _, err := generate(t, dir, fixture(t, nil), rel, t0); err != nil {
		t.Fatal(err)
	}
	first := readTree(t, dir)
	if _, err := generate(t, dir, fixture(t, nil), rel, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	second := readTree(t, dir)
	for name := range first {
		if first[name] != second[name] {
			t.Errorf("%s changed on regeneration", name)
		}
	}
	next := rel
	next.Version, next.Replaces, next.SkipRange = "1.2.4", "1.2.3", ""
	if _, err := generate(t, dir, fixture(t, nil), next, t0.Add(48*time.Hour)); err != nil {
		t.Fatal(err)
	}
	csv := readTree(t, dir)["bundle/manifests/widget-operator.clusterserviceversion.yaml"]
	if !strings.Contains(csv, `createdAt: "2026-01-04T03:04:05Z"`) {
		t.Errorf("a new version kept the old createdAt")
	}
}

// Each broken input fails with its own message and leaves the bundle
// already on disk exactly as it was.
func TestBrokenInputs(t *testing.T) {
	dropKind := func(kind string) func(u *unstructured.Unstructured) bool {
		return func(u *unstructured.Unstructured) bool { return u.GetKind() != kind }
	}
	for _, tc := range []struct {
		name string
		edit func(u *unstructured.Unstructured) bool
		rel  func(r *Release)
		want string
	}{
		{
			name: "missing CRD for an owned kind",
			edit: dropKind("CustomResourceDefinition"),
			want: `bundle/manifests/widget-operator.clusterserviceversion.yaml: error: owned CRD "example.com/v1, Kind=Widget" not found in bundle "widget-operator.v1.2.3"`,
		},
		{
			name: "bad semver",
			rel:  func(r *Release) { r.Version = "1.2" },
			want: `VERSION="1.2" is not a semantic version (MAJOR.MINOR.PATCH, e.g. 0.3.0): No Major.Minor.Patch elements found`,
		},
		{
			name: "replaces a newer version",
			rel:  func(r *Release) { r.Replaces = "1.3.0" },
			want: `REPLACES=1.3.0 is not older than VERSION=1.2.3: an upgrade edge must go to a higher version`,
		},
		{
			name: "skipRange covers the version itself",
			rel:  func(r *Release) { r.SkipRange = ">=1.0.0" },
			want: `SKIP_RANGE=">=1.0.0" includes VERSION 1.2.3 itself: end it below 1.2.3`,
		},
		{
			name: "install mode the manager cannot honour",
			edit: func(u *unstructured.Unstructured) bool {
				if u.GetKind() == "Deployment" {
					_ = unstructured.SetNestedSlice(u.Object, nil, "spec", "template", "spec", "containers", "0", "env")
					cs, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "containers")
					delete(cs[0].(map[string]any), "env")
					_ = unstructured.SetNestedSlice(u.Object, cs, "spec", "template", "spec", "containers")
				}
				return true
			},
			want: `bundle/manifests/widget-operator.clusterserviceversion.yaml: spec.installModes: error: install modes OwnNamespace, SingleNamespace are declared but no container reads WATCH_NAMESPACE from metadata.annotations['olm.targetNamespaces']: the operator would watch every namespace; wire the env var or declare only AllNamespaces`,
		},
		{
			name: "empty descriptors",
			edit: func(u *unstructured.Unstructured) bool {
				if u.GetKind() == "ClusterServiceVersion" {
					owned, _, _ := unstructured.NestedSlice(u.Object, "spec", "customresourcedefinitions", "owned")
					delete(owned[0].(map[string]any), "statusDescriptors")
					_ = unstructured.SetNestedSlice(u.Object, owned, "spec", "customresourcedefinitions", "owned")
				}
				return true
			},
			want: `bundle/manifests/widget-operator.clusterserviceversion.yaml: spec.customresourcedefinitions.owned[0].statusDescriptors: error: owned CRD widgets.example.com has no status descriptors: describe its status fields in the CSV base`,
		},
		{
			name: "RBAC with a wildcard",
			edit: func(u *unstructured.Unstructured) bool {
				if u.GetKind() == "ClusterRole" && u.GetName() == "widget-manager" {
					_ = unstructured.SetNestedField(u.Object, []any{map[string]any{"apiGroups": []any{"example.com"}, "resources": []any{"widgets"}, "verbs": []any{"*"}}}, "rules")
				}
				return true
			},
			want: `bundle/manifests/widget-operator.clusterserviceversion.yaml: spec.install.spec.clusterPermissions[0].rules[0].verbs: error: service account widget-controller is granted verbs "*": list exactly what the operator needs in its +kubebuilder:rbac markers`,
		},
		{
			name: "scaffolded description in the CSV base",
			edit: func(u *unstructured.Unstructured) bool {
				if u.GetKind() == "ClusterServiceVersion" {
					_ = unstructured.SetNestedField(u.Object, "widget-operator description. TODO.", "spec", "description")
				}
				return true
			},
			want: `bundle/manifests/widget-operator.clusterserviceversion.yaml: spec.description: error: long description "widget-operator description. TODO." is a placeholder (TODO): write the real one; set it in the CSV base (config/manifests/bases)`,
		},
		{
			name: "no CSV base",
			edit: dropKind("ClusterServiceVersion"),
			want: `no ClusterServiceVersion base in the manifests: add config/manifests/bases/<package>.clusterserviceversion.yaml to config/manifests`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if _, err := generate(t, dir, fixture(t, nil), rel, t0); err != nil {
				t.Fatal(err)
			}
			before := readTree(t, dir)

			r := rel
			if tc.rel != nil {
				tc.rel(&r)
			}
			problems, err := generate(t, dir, fixture(t, tc.edit), r, t0)
			if err == nil {
				t.Fatalf("broken input was accepted")
			}
			var lines []string
			for _, p := range problems {
				if p.Error {
					lines = append(lines, strings.TrimPrefix(p.String(), dir+"/"))
				}
			}
			if !errors.Is(err, ErrInvalid) {
				lines = append(lines, err.Error())
			}
			found := false
			for _, l := range lines {
				found = found || l == tc.want
			}
			if !found {
				t.Errorf("errors:\n  %s\nwant:\n  %s", strings.Join(lines, "\n  "), tc.want)
			}
			after := readTree(t, dir)
			if len(after) != len(before) {
				t.Errorf("files changed: %d before, %d after", len(before), len(after))
			}
			for name, content := range before {
				if after[name] != content {
					t.Errorf("%s was changed by a failed generation", name)
				}
			}
		})
	}
}

// A CSV whose name does not match its version is caught by Validate on a
// bundle directory, as `sdk bundle validate` runs it.
func TestValidateNameVersionMismatch(t *testing.T) {
	dir := t.TempDir()
	if _, err := generate(t, dir, fixture(t, nil), rel, t0); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bundle", "manifests", "widget-operator.clusterserviceversion.yaml")
	b, _ := os.ReadFile(p)
	if err := os.WriteFile(p, bytes.Replace(b, []byte("version: 1.2.3"), []byte("version: 1.2.4"), 1), 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := Validate(filepath.Join(dir, "bundle"), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := p + `: metadata.name: error: CSV name "widget-operator.v1.2.3" does not match package "widget-operator" and spec.version 1.2.4: want "widget-operator.v1.2.4"`
	for _, pr := range problems {
		if pr.String() == want {
			return
		}
	}
	t.Errorf("problems %v\nwant %s", problems, want)
}

// A bundle whose CSV version is not semver cannot be loaded: one error
// that names the directory.
func TestValidateBadSemverInCSV(t *testing.T) {
	dir := t.TempDir()
	if _, err := generate(t, dir, fixture(t, nil), rel, t0); err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "bundle", "manifests", "widget-operator.clusterserviceversion.yaml")
	b, _ := os.ReadFile(p)
	_ = os.WriteFile(p, bytes.Replace(b, []byte("version: 1.2.3"), []byte("version: one.two"), 1), 0o644)
	_, err := Validate(filepath.Join(dir, "bundle"), opts)
	if err == nil || !strings.Contains(err.Error(), "load bundle "+filepath.Join(dir, "bundle")) {
		t.Errorf("err = %v, want a load error naming the bundle", err)
	}
}

// K8sTargetVersion stands for the Makefile's default where the Makefile
// does not pass one (scorecard), so the two must agree.
func TestK8sTargetVersionIsTheMakefiles(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^K8S_TARGET_VERSION \?= (\S+)$`).FindSubmatch(b)
	if m == nil || string(m[1]) != K8sTargetVersion {
		t.Errorf("the Makefile sets K8S_TARGET_VERSION to %q, K8sTargetVersion is %q", m, K8sTargetVersion)
	}
}

// OLM picks the namespace of a bundle's objects: operator-registry's content
// validation (operator-sdk bundle validate, OperatorHub's pipelines) refuses a
// namespaced Service that names one, and Validate says so at its file.
func TestValidateRegistryContent(t *testing.T) {
	dir := t.TempDir()
	if _, err := generate(t, dir, fixture(t, nil), rel, t0); err != nil {
		t.Fatal(err)
	}
	manifests := filepath.Join(dir, "bundle", "manifests")
	entries, err := os.ReadDir(manifests)
	if err != nil {
		t.Fatal(err)
	}
	var svc string
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), "_v1_service.yaml") {
			svc = filepath.Join(manifests, e.Name())
		}
	}
	if svc == "" {
		t.Fatalf("the fixture's bundle has no Service in %v", entries)
	}
	b, _ := os.ReadFile(svc)
	if bytes.Contains(b, []byte("namespace:")) {
		t.Fatalf("make bundle left metadata.namespace on the Service:\n%s", b)
	}
	b = bytes.Replace(b, []byte("metadata:\n"), []byte("metadata:\n  namespace: widget-system\n"), 1)
	if err := os.WriteFile(svc, b, 0o644); err != nil {
		t.Fatal(err)
	}
	problems, err := Validate(filepath.Join(dir, "bundle"), opts)
	if err != nil {
		t.Fatal(err)
	}
	want := svc + ": error: operator-registry's bundle content validation: error validating object metadata: metadata.namespace: Forbidden: not allowed on this type"
	for _, pr := range problems {
		if pr.String() == want {
			return
		}
	}
	t.Errorf("problems %v\nwant %s", problems, want)
}

// DockerfileOf, on the bundle make bundle wrote, is bundle.Dockerfile (but
// for its generated-file header); on a released bundle it copies only the
// directories the bundle has (no tests/scorecard in a release).
func TestDockerfileOf(t *testing.T) {
	want, err := os.ReadFile(filepath.Join("..", "..", "bundle.Dockerfile"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := DockerfileOf(filepath.Join("..", "..", "bundle"), "bundle")
	if err != nil {
		t.Fatal(err)
	}
	if w := strings.SplitN(string(want), "\n", 2)[1]; got != w {
		t.Errorf("DockerfileOf(bundle) is not bundle.Dockerfile:\n%s\nwant:\n%s", got, w)
	}

	dir := t.TempDir()
	for _, d := range []string{"manifests", "metadata"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	ann := "annotations:\n  " + PackageKey + ": memcached-operator\n  " + ChannelsKey + ": stable\n"
	if err := os.WriteFile(filepath.Join(dir, "metadata", "annotations.yaml"), []byte(ann), 0o644); err != nil {
		t.Fatal(err)
	}
	got, err = DockerfileOf(dir, ".")
	if err != nil {
		t.Fatal(err)
	}
	w := "FROM scratch\n\nLABEL " + ChannelsKey + "=stable\nLABEL " + PackageKey + "=memcached-operator\n\nCOPY manifests /manifests/\nCOPY metadata /metadata/\n"
	if got != w {
		t.Errorf("DockerfileOf(release) =\n%s\nwant:\n%s", got, w)
	}
	if _, err := DockerfileOf(t.TempDir(), "."); err == nil {
		t.Error("DockerfileOf of a directory without metadata/annotations.yaml: no error")
	}
}
