package catalog

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"
	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/example-inc/memcached-operator/internal/csv"
	"github.com/example-inc/memcached-operator/internal/graph"
)

// contents are the CRDs and example CRs a bundle ships.
type contents struct {
	crds     map[string]*apiextensionsv1.CustomResourceDefinition
	examples []*unstructured.Unstructured
}

// AnalyzeCRDs checks every upgrade edge for what breaks existing objects:
// every version the old CRD could have stored must still be served by the
// new CRD, and the old release's example CRs must validate against the
// new schema (with the API server's own validation code).
//
// Bundles that carry no manifests (olm.csv.metadata only, as published
// catalogs are) cannot be checked: one info finding says how many.
func AnalyzeCRDs(cfg *declcfg.DeclarativeConfig, edges []graph.Edge) ([]graph.Problem, error) {
	byName := map[string]*contents{}
	var out []graph.Problem
	unchecked := 0
	for _, b := range cfg.Bundles {
		if !slices.ContainsFunc(b.Properties, func(p property.Property) bool { return p.Type == property.TypeBundleObject }) {
			unchecked++
			continue
		}
		c, err := bundleContents(b)
		if err != nil {
			return nil, err
		}
		byName[b.Name] = c
	}
	if unchecked > 0 {
		out = append(out, graph.Problem{Severity: graph.Info, Message: fmt.Sprintf(
			"CRD safety: not checked for %d of %d bundles: no manifests in the catalog (olm.csv.metadata only); analyse a rendering with olm.bundle.object to check them",
			unchecked, len(cfg.Bundles))})
	}
	seen := map[string]bool{}
	for _, e := range edges {
		key := e.From + ">" + e.To
		old, cur := byName[e.From], byName[e.To]
		if seen[key] || old == nil || cur == nil {
			continue
		}
		seen[key] = true
		for _, msg := range crdUpgradeProblems(old, cur) {
			out = append(out, graph.Problem{Severity: graph.Error, Channel: e.Channel, Entry: e.To,
				Message: fmt.Sprintf("upgrade from %s: %s", e.From, msg)})
		}
	}
	return out, nil
}

func crdUpgradeProblems(old, cur *contents) []string {
	var msgs []string
	for _, name := range slices.Sorted(maps.Keys(old.crds)) {
		o := old.crds[name]
		n, ok := cur.crds[name]
		if !ok {
			msgs = append(msgs, fmt.Sprintf("CRD %s is dropped; its objects would be orphaned", name))
			continue
		}
		served := map[string]bool{}
		for _, v := range n.Spec.Versions {
			served[v.Name] = v.Served
		}
		for _, v := range o.Spec.Versions {
			if v.Storage && !served[v.Name] {
				msgs = append(msgs, fmt.Sprintf("CRD %s: version %s stored objects before and is not served any more", name, v.Name))
			}
		}
	}
	for _, ex := range old.examples {
		if err := validateExample(ex, cur); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	return msgs
}

// validateExample checks an old example CR against the new CRD's schema.
func validateExample(ex *unstructured.Unstructured, cur *contents) error {
	gvk := ex.GroupVersionKind()
	for _, crd := range cur.crds {
		if crd.Spec.Group != gvk.Group || crd.Spec.Names.Kind != gvk.Kind {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name != gvk.Version {
				continue
			}
			if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
				return nil
			}
			internal := &apiextensions.JSONSchemaProps{}
			if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
				return fmt.Errorf("CRD %s %s: schema: %w", crd.Name, v.Name, err)
			}
			validator, _, err := validation.NewSchemaValidator(internal)
			if err != nil {
				return fmt.Errorf("CRD %s %s: schema: %w", crd.Name, v.Name, err)
			}
			if errs := validation.ValidateCustomResource(nil, ex.Object, validator); len(errs) > 0 {
				return fmt.Errorf("example %s %s no longer validates against CRD %s %s: %v", gvk.Kind, ex.GetName(), crd.Name, v.Name, errs.ToAggregate())
			}
			return nil
		}
		return fmt.Errorf("example %s %s uses %s, which CRD %s no longer has", gvk.Kind, ex.GetName(), gvk.Version, crd.Name)
	}
	return fmt.Errorf("example %s %s: no CRD defines %s any more", gvk.Kind, ex.GetName(), gvk.GroupKind())
}

// bundleContents decodes the CRDs and alm-examples of a bundle's inline
// olm.bundle.object properties.
func bundleContents(b declcfg.Bundle) (*contents, error) {
	c := &contents{crds: map[string]*apiextensionsv1.CustomResourceDefinition{}}
	for _, p := range b.Properties {
		if p.Type != property.TypeBundleObject {
			continue
		}
		var obj struct {
			Data string `json:"data"`
		}
		if err := json.Unmarshal(p.Value, &obj); err != nil {
			return nil, fmt.Errorf("bundle %s: olm.bundle.object: %w", b.Name, err)
		}
		raw, err := base64.StdEncoding.DecodeString(obj.Data)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: olm.bundle.object: %w", b.Name, err)
		}
		var meta struct{ Kind string }
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("bundle %s: olm.bundle.object: %w", b.Name, err)
		}
		switch meta.Kind {
		case "CustomResourceDefinition":
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := json.Unmarshal(raw, crd); err != nil {
				return nil, fmt.Errorf("bundle %s: CRD: %w", b.Name, err)
			}
			c.crds[crd.Name] = crd
		case v1alpha1.ClusterServiceVersionKind:
			csvObj := &v1alpha1.ClusterServiceVersion{}
			if err := json.Unmarshal(raw, csvObj); err != nil {
				return nil, fmt.Errorf("bundle %s: CSV: %w", b.Name, err)
			}
			if ex := csvObj.Annotations[csv.AnnotationAlmExamples]; ex != "" {
				var items []map[string]any
				if err := json.Unmarshal([]byte(ex), &items); err != nil {
					return nil, fmt.Errorf("bundle %s: alm-examples: %w", b.Name, err)
				}
				for _, it := range items {
					c.examples = append(c.examples, &unstructured.Unstructured{Object: it})
				}
			}
		}
	}
	return c, nil
}

// AnalyzeUpgrade lists what breaks existing objects when the bundle from
// is upgraded to the bundle to (see AnalyzeCRDs).
func AnalyzeUpgrade(from, to declcfg.Bundle) ([]string, error) {
	old, err := bundleContents(from)
	if err != nil {
		return nil, err
	}
	cur, err := bundleContents(to)
	if err != nil {
		return nil, err
	}
	return crdUpgradeProblems(old, cur), nil
}
