package scorecard

import (
	"context"
	"os"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/bundle"
	"github.com/example-inc/memcached-operator/internal/catalog"
)

// upgradeReadiness: the bundle's CRDs are safe to upgrade to from the
// newest older release in the catalog, by the catalog analysis' own check.
func upgradeReadiness(ctx context.Context, t *T) {
	if t.Env.CatalogDir == "" {
		t.Errorf("no catalog to compare with: pass the released catalog (--catalog)")
		return
	}
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(t.Env.CatalogDir))
	if err != nil {
		t.Errorf("catalog %s: %v", t.Env.CatalogDir, err)
		return
	}
	rendered, err := bundle.Render(t.Env.BundleDir, "")
	if err != nil {
		t.Errorf("render bundle %s: %v", t.Env.BundleDir, err)
		return
	}
	this := *rendered
	version := t.Env.Bundle.CSV.Spec.Version.Version

	var prev *declcfg.Bundle
	var prevVersion semver.Version
	for i, b := range fbc.Bundles {
		pkg, err := catalog.Package(&declcfg.DeclarativeConfig{Packages: fbc.Packages, Bundles: []declcfg.Bundle{b}})
		if err != nil {
			t.Errorf("%v", err)
			return
		}
		v := pkg.Versions[b.Name]
		if b.Package == this.Package && v.LT(version) && (prev == nil || v.GT(prevVersion)) {
			prev, prevVersion = &fbc.Bundles[i], v
		}
	}
	if prev == nil {
		t.Suggest("no release older than %s in the catalog: nothing to upgrade from", version)
		return
	}
	problems, err := catalog.AnalyzeUpgrade(*prev, this)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	for _, p := range problems {
		t.Failf("upgrade from %s: %s", prev.Name, p)
	}
	t.Logf("checked the CRDs of %s against %s", prev.Name, this.Name)
}
