package image

import (
	"context"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/sirupsen/logrus"

	"github.com/example-inc/memcached-operator/internal/bundle"
	"github.com/example-inc/memcached-operator/internal/bundle/image/imagetest"
)

var goldenBundle = filepath.Join("..", "testdata", "golden", "bundle")

// An insecure registry is reached over plain HTTP or over TLS with a
// certificate nobody signed; either way the image renders exactly as the
// bundle directory it was built from, with the image as its reference.
func TestRender(t *testing.T) {
	labels := (bundle.Metadata{Package: "widget-operator", Channels: []string{"stable"}}).Annotations()
	for _, tls := range []bool{false, true} {
		srv := imagetest.StartRegistry(t, tls)
		ref, _ := imagetest.Push(t, srv, "widget-operator-bundle:v1.2.3", goldenBundle, labels)
		got, err := Render(context.Background(), ref, Options{Insecure: true})
		if err != nil {
			t.Fatalf("tls=%v: %v", tls, err)
		}
		want, err := bundle.Render(goldenBundle, ref)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("tls=%v: the image renders as\n%+v\nwant\n%+v", tls, got, want)
		}
	}
}

// opm tells a bundle image from others by its package label.
func TestRenderNotABundleImage(t *testing.T) {
	srv := imagetest.StartRegistry(t, false)
	ref, _ := imagetest.Push(t, srv, "something:v1", goldenBundle, nil)
	_, err := Render(context.Background(), ref, Options{Insecure: true})
	want := "image " + ref + ": not a bundle image: no " + bundle.PackageKey + " label"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("err = %v, want one containing %q", err, want)
	}
}

func TestRenderBadReference(t *testing.T) {
	_, err := Render(context.Background(), "Not A Reference", Options{})
	if err == nil || !strings.Contains(err.Error(), `image reference "Not A Reference"`) {
		t.Errorf("err = %v, want one naming the reference", err)
	}
}

func TestMain(m *testing.M) {
	// operator-registry notes missing optional bundle files at info level.
	logrus.SetLevel(logrus.WarnLevel)
	os.Exit(m.Run())
}
