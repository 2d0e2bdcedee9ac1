// Package imagetest serves images for tests: go-containerregistry's
// registry in-process, and bundle images pushed to it from directories.
package imagetest

import (
	"io"
	"log"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-containerregistry/pkg/crane"
	"github.com/google/go-containerregistry/pkg/name"
	"github.com/google/go-containerregistry/pkg/registry"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"
)

// StartRegistry serves a registry over HTTP, or TLS with a certificate
// nobody signed, until the test ends.
func StartRegistry(t testing.TB, tls bool) *httptest.Server {
	t.Helper()
	h := registry.New(registry.Logger(log.New(io.Discard, "", 0)))
	newServer := httptest.NewServer
	if tls {
		newServer = httptest.NewTLSServer
	}
	srv := newServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// Push builds an image of dir's files with labels (as bundle.Dockerfile
// does), pushes it to the registry behind srv as repo (name:tag) and returns
// its tag reference and its digest reference.
func Push(t testing.TB, srv *httptest.Server, repo, dir string, labels map[string]string) (tagRef, digestRef string) {
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
	digest, err := img.Digest()
	if err != nil {
		t.Fatal(err)
	}
	return ref, tag.Context().Digest(digest.String()).String()
}
