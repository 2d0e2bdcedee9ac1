//go:build containers_image_openpgp

// This test needs operator-registry's alpha/action and containers/image,
// which build without cgo only with the containers_image_openpgp tag (the
// Makefile sets it).

package image

import (
	"context"
	"reflect"
	"testing"

	"github.com/example-inc/memcached-operator/internal/bundle"
	"github.com/example-inc/memcached-operator/internal/bundle/image/imagetest"
)

// A bundle image renders exactly as `opm render IMAGE` renders it, pulled
// with containers/image from the same insecure registry.
func TestRenderMatchesOpmRender(t *testing.T) {
	labels := (bundle.Metadata{Package: "widget-operator", Channels: []string{"stable"}}).Annotations()
	srv := imagetest.StartRegistry(t, false)
	ref, _ := imagetest.Push(t, srv, "widget-operator-bundle:v1.2.3", goldenBundle, labels)
	ctx := context.Background()

	cfg, err := imagetest.OpmBundleRenderer(t)(ctx, ref)
	if err != nil || len(cfg.Bundles) != 1 {
		t.Fatalf("opm render %s: %v", ref, err)
	}

	got, err := Render(ctx, ref, Options{Insecure: true})
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(*got, cfg.Bundles[0]) {
		t.Errorf("%s renders as\n%+v\nopm:\n%+v", ref, *got, cfg.Bundles[0])
	}
}
