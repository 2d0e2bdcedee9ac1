//go:build containers_image_openpgp

package imagetest

import (
	"context"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/action"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/pkg/image/containersimageregistry"
)

// OpmBundleRenderer renders a bundle image as opm does (`opm render`, and
// `opm alpha render-template` for each bundle): action.Render pulling with
// containers/image, TLS unverified, until the test ends. It needs the
// containers_image_openpgp tag to build without cgo (the Makefile sets it).
func OpmBundleRenderer(t testing.TB) func(context.Context, string) (*declcfg.DeclarativeConfig, error) {
	t.Helper()
	reg, err := containersimageregistry.New(containersimageregistry.DefaultSystemContext,
		containersimageregistry.WithTemporaryImageCache(), containersimageregistry.WithInsecureSkipTLSVerify(true))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = reg.Destroy() })
	return func(ctx context.Context, ref string) (*declcfg.DeclarativeConfig, error) {
		return action.Render{Refs: []string{ref}, Registry: reg, AllowedRefMask: action.RefBundleImage}.Run(ctx)
	}
}
