package olm

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/action"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/pkg/image"
	"github.com/operator-framework/operator-registry/pkg/image/containersimageregistry"
)

type renderedBundle struct {
	cfg     *declcfg.DeclarativeConfig
	pkg     string
	csvName string
	modes   []operatorsv1alpha1.InstallMode
}

// renderBundle renders a bundle directory, or pulls and renders a bundle
// image, into an FBC bundle that carries its manifests inline and no image:
// OLM then installs from the manifests without an unpack Job.
func renderBundle(ctx context.Context, ref string, useHTTP bool) (*renderedBundle, error) {
	r := action.Render{Refs: []string{ref}, AllowedRefMask: action.RefBundleDir, Registry: &image.MockRegistry{}}
	if st, err := os.Stat(ref); err != nil || !st.IsDir() {
		if strings.Contains(ref, string(os.PathSeparator)+".") || strings.HasPrefix(ref, ".") || strings.HasPrefix(ref, "/") {
			return nil, fmt.Errorf("bundle %s: no such bundle directory", ref)
		}
		reg, err := containersimageregistry.New(containersimageregistry.DefaultSystemContext,
			containersimageregistry.WithTemporaryImageCache(), containersimageregistry.WithInsecureSkipTLSVerify(useHTTP))
		if err != nil {
			return nil, err
		}
		defer func() { _ = reg.Destroy() }()
		r.Registry, r.AllowedRefMask = reg, action.RefBundleImage
	}
	cfg, err := r.Run(ctx)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", ref, err)
	}
	if len(cfg.Bundles) != 1 {
		return nil, fmt.Errorf("bundle %s: rendered %d bundles, want 1", ref, len(cfg.Bundles))
	}
	b := &cfg.Bundles[0]
	b.Image = ""
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := json.Unmarshal([]byte(b.CsvJSON), csv); err != nil {
		return nil, fmt.Errorf("bundle %s: CSV: %w", ref, err)
	}
	return &renderedBundle{cfg: cfg, pkg: b.Package, csvName: b.Name, modes: csv.Spec.InstallModes}, nil
}
