package olm

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
)

// catalogServer serves run bundle's one-package catalog where OLM's catalog
// operator can reach it: opm on this host when OLM runs here (the simulated
// lane), or a registry pod in the cluster, as operator-sdk does, when OLM
// runs in the cluster.
type catalogServer interface {
	// served is the catalog serving now for the package.
	served(ctx context.Context) (*declcfg.DeclarativeConfig, error)
	// serve starts serving fbc and returns the address for the
	// CatalogSource; what served before keeps serving until retire.
	serve(ctx context.Context, fbc *declcfg.DeclarativeConfig) (addr string, err error)
	// retire stops everything but the newest serving, once the
	// CatalogSource points at it.
	retire(ctx context.Context) error
	// abandon stops the newest serving: the CatalogSource could not take it.
	abandon(ctx context.Context) error
}

// catalogServer chooses where the package's catalog is served.
func (c *Client) catalogServer(o RunOptions, pkg string) catalogServer {
	if o.IndexImage != "" {
		return &registryPod{c: c, o: o, pkg: pkg}
	}
	return &hostServer{o: o, pkg: pkg}
}

// hostServer is opm serve on this host (serve.go), tracked in o.StateDir.
type hostServer struct {
	o   RunOptions
	pkg string
}

func (h *hostServer) dir() string { return filepath.Join(h.o.StateDir, h.pkg, "catalog") }

func (h *hostServer) served(ctx context.Context) (*declcfg.DeclarativeConfig, error) {
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(h.dir()))
	if err != nil {
		return nil, fmt.Errorf("the catalog run bundle served (%s): %w", h.dir(), err)
	}
	return fbc, nil
}

// serve replaces the served catalog; serveCatalog hands over from the old
// server to the new one itself, so retire has nothing left to do.
func (h *hostServer) serve(ctx context.Context, fbc *declcfg.DeclarativeConfig) (string, error) {
	s, err := serveCatalog(ctx, h.o, h.pkg, fbc)
	if err != nil {
		return "", err
	}
	return s.Addr, nil
}

func (h *hostServer) retire(context.Context) error { return nil }

func (h *hostServer) abandon(context.Context) error { return StopServer(h.o.StateDir, h.pkg) }
