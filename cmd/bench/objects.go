package main

import (
	"encoding/json"
	"fmt"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"
)

// crdFields is how many described fields each generated CRD's schema has:
// about 30 KB of manifests per bundle, as public catalogs rendered with
// their manifests carry (one of 704 bundles is 21 MB).
const crdFields = 85

// withObjects gives every bundle its manifests as olm.bundle.object in place
// of olm.csv.metadata, as a catalog rendered from bundle images without the
// CSV-metadata migration carries them: a CSV with an example and a CRD with
// a large schema, so the CRD checks run on every upgrade edge.
func withObjects(cfg *declcfg.DeclarativeConfig) error {
	for i := range cfg.Bundles {
		b := &cfg.Bundles[i]
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
		csv, crd := bundleObjects(b.Package, b.Name, version)
		b.Properties = append(props, property.MustBuildBundleObject(csv), property.MustBuildBundleObject(crd))
	}
	return nil
}

// bundleObjects are a bundle's CSV and CRD as JSON.
func bundleObjects(pkg, name, version string) (csv, crd []byte) {
	group := pkg + ".example.com"
	fields := map[string]any{}
	for f := range crdFields {
		fields[fmt.Sprintf("field%03d", f)] = map[string]any{
			"type":        "string",
			"description": fmt.Sprintf("Field %d of the widget: %s", f, strings.Repeat("what it sets, its default, and when a change takes effect. ", 3)),
		}
	}
	crd, _ = json.Marshal(map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets." + group},
		"spec": map[string]any{
			"group": group, "scope": "Namespaced",
			"names": map[string]any{"kind": "Widget", "listKind": "WidgetList", "plural": "widgets", "singular": "widget"},
			"versions": []any{map[string]any{"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "properties": map[string]any{
					"spec": map[string]any{"type": "object", "properties": fields},
				}}}}},
		},
	})
	example, _ := json.Marshal([]any{map[string]any{"apiVersion": group + "/v1", "kind": "Widget", "metadata": map[string]any{"name": "example"}, "spec": map[string]any{"field000": "a"}}})
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
