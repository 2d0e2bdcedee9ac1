package bundle

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/property"
)

var goldenBundle = filepath.Join("testdata", "golden", "bundle")

// Render carries every manifest of the bundle inline, the package and its
// version, the CSV and the images the operator runs.
func TestRender(t *testing.T) {
	b, err := Render(goldenBundle, "")
	if err != nil {
		t.Fatal(err)
	}
	if b.Name != "widget-operator.v1.2.3" || b.Package != "widget-operator" || b.Image != "" {
		t.Errorf("name %q, package %q, image %q", b.Name, b.Package, b.Image)
	}
	manifests, err := os.ReadDir(filepath.Join(goldenBundle, "manifests"))
	if err != nil {
		t.Fatal(err)
	}
	var types []string
	objects := 0
	for _, p := range b.Properties {
		types = append(types, p.Type)
		if p.Type == property.TypeBundleObject {
			objects++
		} else if objects > 0 {
			t.Errorf("property %s follows an olm.bundle.object: opm puts the objects last", p.Type)
		}
	}
	if objects != len(manifests) || len(b.Objects) != len(manifests) {
		t.Errorf("%d olm.bundle.object properties and %d objects for %d manifests", objects, len(b.Objects), len(manifests))
	}
	for _, want := range []string{property.TypePackage, property.TypeGVK} {
		if !slices.Contains(types, want) {
			t.Errorf("no %s property in %v", want, types)
		}
	}
	var pkg property.Package
	for _, p := range b.Properties {
		if p.Type == property.TypePackage {
			_ = json.Unmarshal(p.Value, &pkg)
		}
	}
	if pkg.PackageName != "widget-operator" || pkg.Version != "1.2.3" {
		t.Errorf("olm.package = %+v", pkg)
	}
	var csv struct {
		Metadata struct{ Name string }
	}
	if err := json.Unmarshal([]byte(b.CsvJSON), &csv); err != nil || csv.Metadata.Name != b.Name {
		t.Errorf("CSV JSON names %q (%v), want %s", csv.Metadata.Name, err, b.Name)
	}
	var images []string
	for _, ri := range b.RelatedImages {
		images = append(images, ri.Image)
	}
	want := []string{"example.com/widget-operator:v1.2.3", "example.com/widget@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}
	if !slices.Equal(images, want) {
		t.Errorf("related images %v, want %v", images, want)
	}
}

// A bundle image's reference becomes the bundle's image and one of its
// related images, sorted among the others.
func TestRenderImage(t *testing.T) {
	ref := "example.com/widget-operator-bundle:v1.2.3"
	b, err := Render(goldenBundle, ref)
	if err != nil {
		t.Fatal(err)
	}
	if b.Image != ref {
		t.Errorf("image = %q, want %q", b.Image, ref)
	}
	var images []string
	for _, ri := range b.RelatedImages {
		images = append(images, ri.Image)
	}
	if !slices.Contains(images, ref) || !slices.IsSorted(images) {
		t.Errorf("related images %v: want %s among them, sorted", images, ref)
	}
}

func TestRenderNotABundle(t *testing.T) {
	dir := t.TempDir()
	_, err := Render(dir, "")
	if err == nil || !strings.Contains(err.Error(), "load bundle "+dir) {
		t.Errorf("err = %v, want a load error naming %s", err, dir)
	}
}
