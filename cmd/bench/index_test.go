package main

import (
	"context"
	"strings"
	"testing"

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
