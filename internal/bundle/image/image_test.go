package image

import (
	"context"
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
	"github.com/sirupsen/logrus"

	"github.com/example-inc/memcached-operator/internal/bundle"
)

var goldenBundle = filepath.Join("..", "testdata", "golden", "bundle")

// push builds an image of dir's files with labels (as bundle.Dockerfile
// does) and pushes it to the registry behind srv.
func push(t *testing.T, srv *httptest.Server, repo, dir string, labels map[string]string) string {
	t.Helper()
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)], err = os.ReadFile(p)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	img, err := crane.Image(files)
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := img.ConfigFile()
	if err != nil {
		t.Fatal(err)
	}
	cfg.OS, cfg.Architecture, cfg.Config.Labels = "linux", "amd64", labels
	if img, err = mutate.ConfigFile(img, cfg); err != nil {
		t.Fatal(err)
	}
	ref := strings.TrimPrefix(strings.TrimPrefix(srv.URL, "http://"), "https://") + "/" + repo
	tag, err := name.ParseReference(ref, name.Insecure)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.Write(tag, img, remote.WithTransport(srv.Client().Transport)); err != nil {
		t.Fatal(err)
	}
	return ref
}

func startRegistry(t *testing.T, tls bool) *httptest.Server {
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	newServer := httptest.NewServer
	if tls {
		newServer = httptest.NewTLSServer
	}
	srv := newServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// An insecure registry is reached over plain HTTP or over TLS with a
// certificate nobody signed; either way the image renders exactly as the
// bundle directory it was built from, with the image as its reference.
func TestRender(t *testing.T) {
	labels := (bundle.Metadata{Package: "widget-operator", Channels: []string{"stable"}}).Annotations()
	for _, tls := range []bool{false, true} {
		srv := startRegistry(t, tls)
		ref := push(t, srv, "widget-operator-bundle:v1.2.3", goldenBundle, labels)
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
	srv := startRegistry(t, false)
	ref := push(t, srv, "something:v1", goldenBundle, nil)
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
