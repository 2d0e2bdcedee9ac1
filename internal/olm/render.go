package olm

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/bundle"
	bundleimage "github.com/example-inc/memcached-operator/internal/bundle/image"
)

type renderedBundle struct {
	cfg     *declcfg.DeclarativeConfig
	pkg     string
	csvName string
	modes   []operatorsv1alpha1.InstallMode
}

// renderBundle renders a bundle directory, or pulls and renders a bundle
// image, into an FBC bundle that carries its manifests inline. Served by a
// registry pod, a bundle from an image keeps its image, and OLM in the
// cluster unpacks that image with a Job as it does for operator-sdk's run
// bundle; served on this host (OLM runs here and cannot run a Job's pod),
// it carries no image, and OLM installs from the inline manifests.
func renderBundle(ctx context.Context, o RunOptions) (*renderedBundle, error) {
	ref := o.Bundle
	b, err := renderRef(ctx, ref, o.UseHTTP)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", ref, err)
	}
	if o.IndexImage == "" {
		b.Image = ""
	}
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := json.Unmarshal([]byte(b.CsvJSON), csv); err != nil {
		return nil, fmt.Errorf("bundle %s: CSV: %w", ref, err)
	}
	cfg := &declcfg.DeclarativeConfig{Bundles: []declcfg.Bundle{*b}}
	return &renderedBundle{cfg: cfg, pkg: b.Package, csvName: b.Name, modes: csv.Spec.InstallModes}, nil
}

// renderRef renders ref as a bundle directory when it is one, else as a
// bundle image; something that looks like a path is never pulled.
func renderRef(ctx context.Context, ref string, useHTTP bool) (*declcfg.Bundle, error) {
	if st, err := os.Stat(ref); err == nil && st.IsDir() {
		return bundle.Render(ref, "")
	}
	if strings.Contains(ref, string(os.PathSeparator)+".") || strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") {
		return nil, errors.New("no such bundle directory")
	}
	return bundleimage.Render(ctx, ref, bundleimage.Options{Insecure: useHTTP})
}
