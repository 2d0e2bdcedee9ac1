//go:build containers_image_openpgp

// This test needs operator-registry's alpha/action, which builds without
// cgo only with the containers_image_openpgp tag (the Makefile sets it).

package bundle

import (
	"bytes"
	"context"
	"path/filepath"
	"reflect"
	"testing"
	"text/template"

	"github.com/operator-framework/operator-registry/alpha/action"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/pkg/image"
)

// Render must stay what `opm render` makes of a bundle, byte for byte, on
// the golden bundle and on every released bundle of the repository: this
// catches an operator-registry upgrade that changes rendering.
func TestRenderMatchesOpmRender(t *testing.T) {
	dirs := []string{goldenBundle}
	releases, err := filepath.Glob(filepath.Join("..", "..", "config", "catalog", "releases", "*"))
	if err != nil || len(releases) == 0 {
		t.Fatalf("no released bundles (%v)", err)
	}
	dirs = append(dirs, releases...)
	const refTemplate = "example.com/{{.Package}}-bundle:v{{.Version}}"
	for _, dir := range dirs {
		for _, ref := range []string{"", refTemplate} {
			want := opmRender(t, dir, ref)
			got, err := Render(dir, want.Image)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(*got, want) {
				t.Errorf("%s (image %q) renders differently from opm:\n%s\nopm:\n%s", dir, want.Image, fbcYAML(t, *got), fbcYAML(t, want))
			}
		}
	}
}

func opmRender(t *testing.T, dir, refTemplate string) declcfg.Bundle {
	t.Helper()
	r := action.Render{Refs: []string{dir}, AllowedRefMask: action.RefBundleDir, Registry: &image.MockRegistry{}}
	if refTemplate != "" {
		r.ImageRefTemplate = template.Must(template.New("ref").Parse(refTemplate))
	}
	cfg, err := r.Run(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Bundles) != 1 {
		t.Fatalf("opm rendered %d bundles from %s", len(cfg.Bundles), dir)
	}
	return cfg.Bundles[0]
}

func fbcYAML(t *testing.T, b declcfg.Bundle) string {
	var out bytes.Buffer
	if err := declcfg.WriteYAML(declcfg.DeclarativeConfig{Bundles: []declcfg.Bundle{b}}, &out); err != nil {
		t.Fatal(err)
	}
	return out.String()
}
