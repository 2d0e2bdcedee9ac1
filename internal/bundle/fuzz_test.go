package bundle

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
)

// FuzzValidate: any CSV in an otherwise good bundle is either loaded and
// validated or refused with an error naming the bundle; validation never
// panics, and every problem names a file of the bundle.
func FuzzValidate(f *testing.F) {
	golden := filepath.Join("testdata", "golden", "bundle")
	csvName := "manifests/widget-operator.clusterserviceversion.yaml"
	good, err := os.ReadFile(filepath.Join(golden, csvName))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(good))
	f.Add(strings.Replace(string(good), "version: 1.2.3", "version: one.two", 1))
	f.Add("apiVersion: operators.coreos.com/v1alpha1\nkind: ClusterServiceVersion\nmetadata: {name: x}\nspec: {}\n")
	f.Add("kind: ClusterServiceVersion\nspec:\n  install:\n    strategy: deployment\n    spec: {deployments: [{}]}\n")
	f.Add("{")
	files, err := atomicdir.Read(golden)
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, csv string) {
		dir := filepath.Join(t.TempDir(), "bundle")
		for name, b := range files {
			if name == csvName {
				b = []byte(csv)
			}
			p := filepath.Join(dir, filepath.FromSlash(name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, b, 0o644); err != nil {
				t.Fatal(err)
			}
		}
		problems, err := Validate(dir, opts)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("the error does not name the bundle %s: %v", dir, err)
			}
			return
		}
		for _, p := range problems {
			if p.File != "" && !strings.HasPrefix(p.File, dir) {
				t.Fatalf("problem names a file outside the bundle: %s", p)
			}
		}
	})
}
