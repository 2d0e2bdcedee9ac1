package catalog

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
)

// showCatalog is a published-style catalog (olm.csv.metadata, bundle
// images) of two packages, with deprecations.
const showCatalog = `---
schema: olm.package
name: zeta
defaultChannel: stable
icon: {base64data: PHN2Zy8+, mediatype: image/svg+xml}
---
schema: olm.channel
package: zeta
name: stable
entries:
- name: zeta.v1.0.0
- name: zeta.v1.1.0
  replaces: zeta.v1.0.0
---
schema: olm.channel
package: zeta
name: beta
entries:
- name: zeta.v1.0.0
- name: zeta.v2.0.0-rc.1
  replaces: zeta.v1.0.0
---
schema: olm.deprecations
package: zeta
entries:
- reference: {schema: olm.channel, name: beta}
  message: beta ends with 2.0.0; use stable.
- reference: {schema: olm.bundle, name: zeta.v1.0.0}
  message: 1.0.0 loses data on scale-down; upgrade.
---
schema: olm.bundle
package: zeta
name: zeta.v1.0.0
image: example.com/zeta-bundle:v1.0.0
properties:
- {type: olm.package, value: {packageName: zeta, version: 1.0.0}}
- type: olm.csv.metadata
  value: {displayName: Zeta, provider: {name: Old Provider}}
---
schema: olm.bundle
package: zeta
name: zeta.v1.1.0
image: example.com/zeta-bundle:v1.1.0
relatedImages:
- {name: operand, image: example.com/zeta-operand:v1}
- {name: operator, image: example.com/zeta:v1.1.0}
properties:
- {type: olm.package, value: {packageName: zeta, version: 1.1.0}}
- type: olm.csv.metadata
  value:
    displayName: Zeta Operator
    description: Long description.
    annotations: {capabilities: Basic Install, description: Short.}
    provider: {name: Zeta Inc., url: https://zeta.example}
    installModes: [{type: OwnNamespace, supported: true}, {type: AllNamespaces, supported: false}]
    crdDescriptions:
      owned:
      - name: zetas.example.com
        version: v1
        kind: Zeta
        displayName: Zeta
        description: A zeta.
        specDescriptors: [{path: size, displayName: Size}]
---
schema: olm.bundle
package: zeta
name: zeta.v2.0.0-rc.1
image: example.com/zeta-bundle:v2.0.0-rc.1
properties:
- {type: olm.package, value: {packageName: zeta, version: 2.0.0-rc.1}}
- type: olm.csv.metadata
  value: {displayName: Zeta Next, provider: {name: Beta Provider}}
---
schema: olm.package
name: alpha
defaultChannel: only
---
schema: olm.channel
package: alpha
name: only
entries:
- name: alpha.v0.1.0
---
schema: olm.bundle
package: alpha
name: alpha.v0.1.0
image: example.com/alpha-bundle:v0.1.0
properties:
- {type: olm.package, value: {packageName: alpha, version: 0.1.0}}
- type: olm.csv.metadata
  value: {displayName: Alpha}
`

// loadYAML writes content as a catalog's only file and loads it.
func loadYAML(t *testing.T, content string) *declcfg.DeclarativeConfig {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	return cfg
}

// Show lists what the package server would: packages and channels by name,
// each channel's head described from its CSV metadata with the package's
// icon, the default channel's provider, entries newest first, the APIs by
// name only, deprecations with their messages.
func TestShow(t *testing.T) {
	listings, omitted, err := Show(loadYAML(t, showCatalog))
	if err != nil || len(omitted) > 0 {
		t.Fatal(err, omitted)
	}
	if got := []string{listings[0].PackageName, listings[1].PackageName}; !slices.Equal(got, []string{"alpha", "zeta"}) {
		t.Fatalf("packages %v, want alpha, zeta", got)
	}
	z := listings[1]
	if z.DefaultChannel != "stable" || z.Provider != (AppLink{Name: "Zeta Inc.", URL: "https://zeta.example"}) {
		t.Errorf("default channel %q, provider %+v: want stable and the stable head's provider", z.DefaultChannel, z.Provider)
	}
	if names := []string{z.Channels[0].Name, z.Channels[1].Name}; !slices.Equal(names, []string{"beta", "stable"}) {
		t.Fatalf("channels %v, want beta, stable", names)
	}
	beta, stable := z.Channels[0], z.Channels[1]
	if beta.CurrentCSV != "zeta.v2.0.0-rc.1" || stable.CurrentCSV != "zeta.v1.1.0" {
		t.Errorf("heads %s, %s: want zeta.v2.0.0-rc.1, zeta.v1.1.0", beta.CurrentCSV, stable.CurrentCSV)
	}
	if beta.Deprecation == nil || beta.Deprecation.Message != "beta ends with 2.0.0; use stable." {
		t.Errorf("channel beta deprecation %+v", beta.Deprecation)
	}
	entries, _ := json.Marshal(stable.Entries)
	if want := `[{"name":"zeta.v1.1.0","version":"1.1.0"},{"name":"zeta.v1.0.0","version":"1.0.0","deprecation":{"message":"1.0.0 loses data on scale-down; upgrade."}}]`; string(entries) != want {
		t.Errorf("stable entries\n got %s\nwant %s", entries, want)
	}
	d := stable.CurrentCSVDesc
	if len(d.Icon) != 1 || d.Icon[0] != (Icon{Base64Data: "PHN2Zy8+", Mediatype: "image/svg+xml"}) {
		t.Errorf("icon %+v, want the package's", d.Icon)
	}
	if d.DisplayName != "Zeta Operator" || d.Description != "Long description." || d.Version.String() != "1.1.0" {
		t.Errorf("description %q %q %s", d.DisplayName, d.Description, d.Version.String())
	}
	crds, _ := json.Marshal(d.CustomResourceDefinitions)
	if want := `{"owned":[{"name":"zetas.example.com","version":"v1","kind":"Zeta","displayName":"Zeta","description":"A zeta."}]}`; string(crds) != want {
		t.Errorf("CRDs\n got %s\nwant %s (no descriptors: the package server does not serve them)", crds, want)
	}
	if want := []string{"example.com/zeta-operand:v1", "example.com/zeta:v1.1.0"}; !slices.Equal(d.RelatedImages, want) {
		t.Errorf("related images %v, want %v", d.RelatedImages, want)
	}

	text := z.Text()
	for _, want := range []string{
		"package zeta: Zeta Operator 1.1.0, by Zeta Inc. (https://zeta.example)\n",
		"  short description: Short.\n",
		"  capability level: Basic Install; categories: (none); maturity: (none)\n",
		"  icon: image/svg+xml, 6 bytes\n",
		"  install modes: OwnNamespace\n",
		"  default channel: stable (installs zeta.v1.1.0)\n",
		"    beta: head zeta.v2.0.0-rc.1; 2.0.0-rc.1, 1.0.0; DEPRECATED: beta ends with 2.0.0; use stable.\n",
		"      zeta.v1.0.0 DEPRECATED: 1.0.0 loses data on scale-down; upgrade.\n",
		"    Zeta (zetas.example.com v1): A zeta.\n",
		"    | Long description.\n",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("text lacks %q:\n%s", want, text)
		}
	}
}

// A head with neither olm.csv.metadata nor olm.bundle.object (an image-only
// bundle) has no CSV to describe: as OLM's package server does, its channel
// is left out (the default falls to the first channel listed), a package
// with no channel left is left out, everything else is listed, and each
// omission says why.
func TestShowLeavesOutChannelsWithoutCSV(t *testing.T) {
	imageOnly := func(catalog, bundle, metadata string) string {
		out := strings.Replace(catalog, metadata, "", 1)
		if out == catalog {
			t.Fatalf("no metadata of %s in the catalog", bundle)
		}
		return out
	}
	content := imageOnly(showCatalog, "zeta.v1.1.0", showCatalog[strings.Index(showCatalog, "- type: olm.csv.metadata\n  value:\n    displayName: Zeta Operator"):strings.Index(showCatalog, "---\nschema: olm.bundle\npackage: zeta\nname: zeta.v2.0.0-rc.1")])
	content = imageOnly(content, "alpha.v0.1.0", "- type: olm.csv.metadata\n  value: {displayName: Alpha}\n")
	listings, omitted, err := Show(loadYAML(t, content))
	if err != nil {
		t.Fatal(err)
	}
	if len(listings) != 1 || listings[0].PackageName != "zeta" || len(listings[0].Channels) != 1 || listings[0].Channels[0].Name != "beta" || listings[0].DefaultChannel != "beta" {
		t.Fatalf("listings %+v: want zeta with channel beta only, the default", listings)
	}
	var got []string
	for _, o := range omitted {
		got = append(got, o.String())
	}
	want := []string{
		"package alpha: channel only left out: its head alpha.v0.1.0: carries no CSV (neither olm.csv.metadata nor an olm.bundle.object CSV), so the registry serves none; add olm.csv.metadata (opm's bundle-object-to-csv-metadata migration) or the bundle's manifests",
		"package alpha left out: no channel can be listed, and the package server lists no package without one",
		"package zeta: channel stable left out: its head zeta.v1.1.0: carries no CSV (neither olm.csv.metadata nor an olm.bundle.object CSV), so the registry serves none; add olm.csv.metadata (opm's bundle-object-to-csv-metadata migration) or the bundle's manifests",
	}
	if !slices.Equal(got, want) {
		t.Errorf("omitted:\n  %s\nwant:\n  %s", strings.Join(got, "\n  "), strings.Join(want, "\n  "))
	}
}

// Our published catalog: every channel the analysis finds is listed with
// the same head, and the icon comes from the CSV (render gives the package
// the default head's icon), so OperatorHub does not show OLM's default.
func TestShowOurCatalog(t *testing.T) {
	cfg, err := Load(context.Background(), filepath.Join("..", "..", "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	listings, omitted, err := Show(cfg)
	if err != nil || len(omitted) > 0 {
		t.Fatal(err, omitted)
	}
	report, err := Analyze(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	if len(listings) != 1 || len(listings[0].Channels) != len(report.Channels) {
		t.Fatalf("listing %+v, analysis channels %+v", listings, report.Channels)
	}
	for i, ch := range listings[0].Channels {
		if ch.Name != report.Channels[i].Name || ch.CurrentCSV != report.Channels[i].Head {
			t.Errorf("listed channel %s head %s, analysis %s head %s", ch.Name, ch.CurrentCSV, report.Channels[i].Name, report.Channels[i].Head)
		}
		if len(ch.CurrentCSVDesc.Icon) != 1 {
			t.Errorf("channel %s: %d icons, want the operator's", ch.Name, len(ch.CurrentCSVDesc.Icon))
		}
	}
}
