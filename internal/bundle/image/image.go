// Package image pulls bundle images from a container registry and renders
// them as `opm render IMAGE` does. It is the one place that talks to
// registries, on operator-registry's containerd-based client: pure Go, so
// it builds without cgo, gpgme or build tags.
package image

import (
	"context"
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/distribution/reference"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	registryimage "github.com/operator-framework/operator-registry/pkg/image"
	"github.com/operator-framework/operator-registry/pkg/image/containerdregistry"
	"github.com/sirupsen/logrus"

	"github.com/example-inc/memcached-operator/internal/bundle"
)

// Options of Render.
type Options struct {
	// Insecure reaches the registry over plain HTTP or unverified TLS (a
	// local registry).
	Insecure bool
}

// Render pulls the bundle image ref and renders it into an FBC olm.bundle
// with ref as its image, as `opm render` does. Nothing is kept on disk.
func Render(ctx context.Context, ref string, o Options) (*declcfg.Bundle, error) {
	named, err := reference.ParseNormalizedNamed(ref)
	if err != nil {
		return nil, fmt.Errorf("image reference %q: %w", ref, err)
	}
	// The registry client wants a full name with a tag, as docker pulls it.
	pullRef := registryimage.SimpleReference(reference.TagNameOnly(named).String())
	tmp, err := os.MkdirTemp("", "bundle-image-")
	if err != nil {
		return nil, err
	}
	defer func() { _ = os.RemoveAll(tmp) }()
	reg, err := newRegistry(ctx, reference.Domain(named), filepath.Join(tmp, "cache"), o)
	if err != nil {
		return nil, fmt.Errorf("registry client: %w", err)
	}
	defer func() { _ = reg.Destroy() }()

	dir := filepath.Join(tmp, "bundle")
	if err := unpackBundle(ctx, reg, pullRef, dir); err != nil {
		return nil, fmt.Errorf("image %s: %w", ref, err)
	}
	return bundle.Render(dir, ref)
}

// unpackBundle pulls ref, checks that it is a bundle image (opm tells one
// from a catalog image by the package label) and writes its files to dir.
func unpackBundle(ctx context.Context, reg *containerdregistry.Registry, ref registryimage.Reference, dir string) error {
	if err := reg.Pull(ctx, ref); err != nil {
		return fmt.Errorf("pull: %w", err)
	}
	labels, err := reg.Labels(ctx, ref)
	if err != nil {
		return fmt.Errorf("labels: %w", err)
	}
	if _, ok := labels[bundle.PackageKey]; !ok {
		return fmt.Errorf("not a bundle image: no %s label (build it from bundle.Dockerfile)", bundle.PackageKey)
	}
	if err := reg.Unpack(ctx, ref, dir); err != nil {
		return fmt.Errorf("unpack: %w", err)
	}
	return nil
}

// newRegistry makes a client whose cache lives in cacheDir. Credentials
// come from the docker and podman auth files, as opm reads them.
func newRegistry(ctx context.Context, host, cacheDir string, o Options) (*containerdregistry.Registry, error) {
	return containerdregistry.NewRegistry(
		containerdregistry.WithCacheDir(cacheDir),
		containerdregistry.WithLog(quietLog()),
		containerdregistry.SkipTLSVerify(o.Insecure),
		containerdregistry.WithPlainHTTP(o.Insecure && !speaksTLS(ctx, host)),
	)
}

// quietLog shows the registry client's errors only: it logs every image's
// whole config at warning level (operator-registry's Labels), and its
// retry warnings end in the error the pull returns anyway.
func quietLog() *logrus.Entry {
	l := logrus.New()
	l.SetLevel(logrus.ErrorLevel)
	return logrus.NewEntry(l)
}

// speaksTLS says whether host answers HTTPS, certificate unchecked. An
// insecure registry is tried over HTTPS first and over plain HTTP only
// when that fails, as containers/image (what opm pulls with) does.
func speaksTLS(ctx context.Context, host string) bool {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+host+"/v2/", nil)
	if err != nil {
		return false
	}
	transport := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}} //nolint:gosec // only for registries the user marked insecure
	defer transport.CloseIdleConnections()
	resp, err := (&http.Client{Transport: transport}).Do(req)
	if err != nil {
		return false
	}
	_ = resp.Body.Close()
	return true
}
