package scorecard

import (
	"context"
	"fmt"
	"os"
	"path/filepath"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"

	"github.com/example-inc/memcached-operator/internal/bundle"
	"github.com/example-inc/memcached-operator/internal/catalog"
)

// upgradeReadiness: the bundle's CRDs are safe to upgrade to from the
// newest older release, by the catalog analysis' own check. The releases
// are the released bundle directories (config/catalog/releases; the test
// image carries them): a published catalog has no manifests to compare.
func upgradeReadiness(ctx context.Context, t *T) {
	if t.Env.ReleasesDir == "" {
		t.Errorf("no released bundles to compare with: pass them (--releases)")
		return
	}
	rendered, err := bundle.Render(t.Env.BundleDir, "")
	if err != nil {
		t.Errorf("render bundle %s: %v", t.Env.BundleDir, err)
		return
	}
	this := *rendered
	prev, err := newestOlder(t.Env.ReleasesDir, this.Package, t.Env.Bundle.CSV.Spec.Version.Version)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if prev == nil {
		t.Suggest("no release older than %s in %s: nothing to upgrade from", t.Env.Bundle.CSV.Spec.Version, t.Env.ReleasesDir)
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

// newestOlder is the released bundle of pkg with the highest version below
// version; nil when there is none.
func newestOlder(releases, pkg string, version semver.Version) (*declcfg.Bundle, error) {
	dirs, err := os.ReadDir(releases)
	if err != nil {
		return nil, fmt.Errorf("released bundles: %w", err)
	}
	var prev *declcfg.Bundle
	var prevVersion semver.Version
	for _, d := range dirs {
		if !d.IsDir() {
			continue
		}
		b, err := bundle.Render(filepath.Join(releases, d.Name()), "")
		if err != nil {
			return nil, fmt.Errorf("released bundle %s: %w", d.Name(), err)
		}
		props, err := property.Parse(b.Properties)
		if err != nil || len(props.Packages) != 1 {
			return nil, fmt.Errorf("released bundle %s: want one olm.package property (%v)", d.Name(), err)
		}
		v, err := semver.Parse(props.Packages[0].Version)
		if err != nil {
			return nil, fmt.Errorf("released bundle %s: version: %w", d.Name(), err)
		}
		if b.Package == pkg && v.LT(version) && (prev == nil || v.GT(prevVersion)) {
			prev, prevVersion = b, v
		}
	}
	return prev, nil
}
