package main

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/graph"
)

// The generated index is what B2 claims: valid for opm, every package
// analysable with a single head per channel, the respins of every fourth
// package policy findings, deprecations in every fifth, skips and
// skipRange edges present.
func TestGenerateIndex(t *testing.T) {
	cfg := generateIndex(8, 20)
	if err := catalog.Validate(context.Background(), cfg); err != nil {
		t.Fatal(err)
	}
	report, err := catalog.AnalyzeCatalog(context.Background(), cfg, catalog.AnalyzeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(report.Packages) != 8 || report.Errors() != 0 {
		t.Fatalf("%d packages, %d errors:\n%s", len(report.Packages), report.Errors(), report.Text())
	}
	by := map[string]int{}
	warned := map[string]bool{}
	for _, r := range report.Packages {
		for _, e := range r.Edges {
			by[e.By]++
		}
		for _, p := range r.Problems {
			if p.Severity == graph.Policy {
				warned[r.Package] = true
			}
		}
	}
	if by["replaces"] == 0 || by["skips"] == 0 || by["skipRange"] == 0 {
		t.Errorf("edges by mechanism %v: want replaces, skips and skipRange", by)
	}
	if !warned["operator-003"] || !warned["operator-007"] || len(warned) != 2 {
		t.Errorf("packages with policy findings %v, want the respins operator-003 and operator-007", warned)
	}
	if text := report.Packages[0].Text(); !strings.Contains(text, `info: channel candidate entry operator-000.v1.2.0: is deprecated ("loses data on upgrade"); upgrades from`) {
		t.Errorf("no deprecated bundle on operator-000's upgrade paths:\n%s", text)
	}
	if len(cfg.Deprecations) != 2 {
		t.Errorf("%d packages deprecate, want 2 (every fifth)", len(cfg.Deprecations))
	}
}

// "+objects" catalogs carry every bundle's manifests, about 30 KB each on average,
// valid for opm and analysed with the CRD checks on every edge; their CRDs
// evolve, and the checks find exactly the two mistakes the generator makes:
// a served version dropped though stored (operator-001), a schema the old
// example breaks (operator-002); operator-000 and operator-003 add and
// switch to v2 safely.
func TestGenerateWithObjects(t *testing.T) {
	size, err := parseSize("4x12+objects")
	if err != nil || size.String() != "4x12+objects" {
		t.Fatalf("parseSize: %+v %v", size, err)
	}
	cfg, err := generateSize(size)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	if err := declcfg.WriteJSON(*cfg, &b); err != nil {
		t.Fatal(err)
	}
	if per := b.Len() / size.bundles(); per < 20_000 || per > 40_000 {
		t.Errorf("%d bytes per bundle, want about 30 KB", per)
	}
	report, err := catalog.AnalyzeCatalog(context.Background(), cfg, catalog.AnalyzeOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if text := report.Text(); strings.Contains(text, "CRD safety: not checked") {
		t.Errorf("the CRD checks did not run:\n%s", text)
	}
	want := map[string]string{"operator-001": "version v1 stored objects before and is not served any more", "operator-002": "no longer validates against"}
	for _, r := range report.Packages {
		var errs []string
		for _, p := range r.Problems {
			if p.Severity == graph.Error {
				errs = append(errs, p.Message)
			}
		}
		w, mistaken := want[r.Package]
		switch {
		case !mistaken && len(errs) > 0:
			t.Errorf("%s evolves safely, yet %d errors: %v", r.Package, len(errs), errs)
		case mistaken && len(errs) == 0:
			t.Errorf("%s: no error, want %q", r.Package, w)
		case mistaken && !strings.Contains(strings.Join(errs, "\n"), w):
			t.Errorf("%s: errors %v, want %q", r.Package, errs, w)
		}
	}
}
