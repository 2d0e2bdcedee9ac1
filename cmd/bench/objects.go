package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"
)

// crdFields is how many described fields each version's schema has in a
// generated CRD (one or two versions, crdEvolution): about 30 KB of
// manifests per bundle on average, as public catalogs rendered with their
// manifests carry (one of 704 bundles is 21 MB).
const crdFields = 50

// withObjects gives every bundle its manifests as olm.bundle.object in place
// of olm.csv.metadata, as a catalog rendered from bundle images without the
// CSV-metadata migration carries them: a CSV with an example and a CRD with
// a large schema that evolves release by release (crdEvolution), so the
// CRD checks run on every upgrade edge and find what they should.
func withObjects(cfg *declcfg.DeclarativeConfig) error {
	perPackage, packages := map[string]int{}, map[string]int{}
	for _, b := range cfg.Bundles {
		if _, ok := packages[b.Package]; !ok {
			packages[b.Package] = len(packages)
		}
		perPackage[b.Package]++
	}
	seen := map[string]int{}
	for i := range cfg.Bundles {
		b := &cfg.Bundles[i]
		evo := crdEvolution{Release: seen[b.Package], Releases: perPackage[b.Package], Package: packages[b.Package]}
		seen[b.Package]++
		var version string
		props := b.Properties[:0]
		for _, p := range b.Properties {
			switch p.Type {
			case property.TypeCSVMetadata:
				continue
			case property.TypePackage:
				var pp property.Package
				if err := json.Unmarshal(p.Value, &pp); err != nil {
					return err
				}
				version = pp.Version
			}
			props = append(props, p)
		}
		csv, crd := bundleObjects(b.Package, b.Name, version, evo)
		b.Properties = append(props, property.MustBuildBundleObject(csv), property.MustBuildBundleObject(crd))
	}
	return nil
}

// crdEvolution is where a bundle stands in its package's history: its
// CRD serves v1 in the first third of the releases, adds v2 in the second,
// and stores v2 in the last, v1 still served, which is safe. Two packages in
// four make a mistake: every fourth (Package%4 == 1) stops serving v1 in
// the last third, though earlier releases stored it (an error on every
// edge into it), and the next (Package%4 == 2) tightens field000 to a
// pattern halfway, which the older releases' example breaks (an error per
// edge).
type crdEvolution struct {
	Release, Releases, Package int
}

// versions are the CRD's versions at this release.
func (e crdEvolution) versions(schema map[string]any) []any {
	v := func(name string, served, storage bool) map[string]any {
		return map[string]any{"name": name, "served": served, "storage": storage, "schema": schema}
	}
	switch third := e.Release * 3 / e.Releases; {
	case third == 0:
		return []any{v("v1", true, true)}
	case third == 1:
		return []any{v("v1", true, true), v("v2", true, false)}
	default:
		return []any{v("v1", e.Package%4 != 1, false), v("v2", true, true)}
	}
}

// tightened: this release's field000 must match a pattern the older
// releases' example does not.
func (e crdEvolution) tightened() bool { return e.Package%4 == 2 && e.Release*2 >= e.Releases }

// bundleObjects are a bundle's CSV and CRD as JSON.
func bundleObjects(pkg, name, version string, evo crdEvolution) (csv, crd []byte) {
	group := pkg + ".example.com"
	fields := map[string]any{}
	for f := range crdFields {
		fields[fmt.Sprintf("field%03d", f)] = map[string]any{
			"type":        "string",
			"description": fmt.Sprintf("Field %d of the widget: %s", f, strings.Repeat("what it sets, its default, and when a change takes effect. ", 3)),
		}
	}
	value := "a"
	if evo.tightened() {
		fields["field000"].(map[string]any)["pattern"] = "^[b-z]"
		value = "b"
	}
	schema := map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
		"spec": map[string]any{"type": "object", "properties": fields},
	}}}
	crd, _ = json.Marshal(map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets." + group},
		"spec": map[string]any{
			"group": group, "scope": "Namespaced",
			"names":    map[string]any{"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
			"versions": evo.versions(schema),
		},
	})
	example, _ := json.Marshal([]any{map[string]any{"apiVersion": group + "/v1", "kind": "Widget", "metadata": map[string]any{"name": "example"}, "spec": map[string]any{"field000": value}}})
	csv, _ = json.Marshal(map[string]any{
		"apiVersion": "operators.coreos.com/v1alpha1", "kind": "ClusterServiceVersion",
		"metadata": map[string]any{"name": name, "annotations": map[string]any{"alm-examples": string(example)}},
		"spec": map[string]any{
			"version": version, "displayName": pkg,
			"installModes":              []any{map[string]any{"type": "OwnNamespace", "supported": true}, map[string]any{"type": "AllNamespaces", "supported": true}},
			"customresourcedefinitions": map[string]any{"owned": []any{map[string]any{"name": "widgets." + group, "version": "v1", "kind": "Widget"}}},
			"install":                   map[string]any{"strategy": "deployment", "spec": map[string]any{"deployments": []any{}}},
		},
	})
	return csv, crd
}
