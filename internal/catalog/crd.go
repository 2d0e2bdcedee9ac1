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
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/example-inc/memcached-operator/internal/csv"
	"github.com/example-inc/memcached-operator/internal/graph"
)

// contents are the CRDs and example CRs a bundle ships.
type contents struct {
	// examplesErr says why alm-examples could not be read.
	examplesErr error
	crds        map[string]*apiextensionsv1.CustomResourceDefinition
	examples    []*unstructured.Unstructured
	// valid are the examples that validate against the bundle's own CRDs
	// (ownExampleProblems fills it): only those are checked on its edges.
	valid []*unstructured.Unstructured
	cache *crdCache
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
	cache := newCRDCache()
	for _, b := range cfg.Bundles {
		if !slices.ContainsFunc(b.Properties, func(p property.Property) bool { return p.Type == property.TypeBundleObject }) {
			unchecked++
			continue
		}
		c, err := bundleContents(b, cache)
		if err != nil {
			return nil, err
		}
		byName[b.Name] = c
		out = append(out, c.ownExampleProblems(b.Name)...)
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
	// Only examples valid in their own bundle: an invalid one is reported
	// once, on that bundle (ownExampleProblems), not on every edge.
	for _, ex := range old.valid {
		if err := validateExample(ex, cur, false); err != nil {
			msgs = append(msgs, err.Error())
		}
	}
	return msgs
}

// ownExampleProblems: alm-examples that do not parse, and examples that do
// not validate against the bundle's own CRDs. OLM installs such a bundle,
// but a console shows a broken example and the upgrade check cannot use it:
// warnings, one per bundle.
func (c *contents) ownExampleProblems(bundle string) []graph.Problem {
	warn := func(format string, args ...any) graph.Problem {
		return graph.Problem{Severity: graph.Warning, Entry: bundle, Message: fmt.Sprintf(format, args...)}
	}
	if c.examplesErr != nil {
		return []graph.Problem{warn("alm-examples: %v; the CSV's metadata.annotations.alm-examples must be a JSON list of objects with apiVersion, kind and metadata.name", c.examplesErr)}
	}
	var out []graph.Problem
	c.valid = nil
	for _, ex := range c.examples {
		if err := validateExample(ex, c, true); err != nil {
			out = append(out, warn("%v", err))
			continue
		}
		c.valid = append(c.valid, ex)
	}
	return out
}

// validateExample checks an example CR against a bundle's CRD schema: an
// old release's example against the new bundle, or a bundle's own (own).
func validateExample(ex *unstructured.Unstructured, cur *contents, own bool) error {
	verb, more := "no longer validates against", " any more"
	if own {
		verb, more = "does not validate against its own", ""
	}
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
			validator, err := cur.cache.validator(crd, v)
			if err != nil {
				return err
			}
			if errs := validation.ValidateCustomResource(nil, ex.Object, validator); len(errs) > 0 {
				return fmt.Errorf("example %s %s %s CRD %s %s: %v", gvk.Kind, ex.GetName(), verb, crd.Name, v.Name, errs.ToAggregate())
			}
			return nil
		}
		return fmt.Errorf("example %s %s uses %s, which CRD %s does not have%s", gvk.Kind, ex.GetName(), gvk.Version, crd.Name, more)
	}
	return fmt.Errorf("example %s %s: no CRD defines %s%s", gvk.Kind, ex.GetName(), gvk.GroupKind(), more)
}

// bundleContents decodes the CRDs and alm-examples of a bundle's inline
// olm.bundle.object properties: from the objects opm's loader already
// decoded when it did, once per distinct object (cache).
func bundleContents(b declcfg.Bundle, cache *crdCache) (*contents, error) {
	c := &contents{crds: map[string]*apiextensionsv1.CustomResourceDefinition{}, cache: cache}
	raws, err := bundleObjects(b)
	if err != nil {
		return nil, err
	}
	for _, raw := range raws {
		obj, err := cache.object(raw)
		if err != nil {
			return nil, fmt.Errorf("bundle %s: olm.bundle.object: %w", b.Name, err)
		}
		switch {
		case obj.crd != nil:
			c.crds[obj.crd.Name] = obj.crd
		case obj.kind == v1alpha1.ClusterServiceVersionKind:
			var csvObj struct {
				Metadata struct {
					Annotations map[string]string `json:"annotations"`
				} `json:"metadata"`
			}
			if err := json.Unmarshal(raw, &csvObj); err != nil {
				return nil, fmt.Errorf("bundle %s: CSV: %w", b.Name, err)
			}
			c.examples, c.examplesErr = parseExamples(csvObj.Metadata.Annotations[csv.AnnotationAlmExamples])
		}
	}
	return c, nil
}

// bundleObjects are the JSON of a bundle's olm.bundle.object properties:
// what opm's loader decoded into Objects, or decoded here when the bundle
// was not loaded by it (a rendering).
func bundleObjects(b declcfg.Bundle) ([][]byte, error) {
	var out [][]byte
	n := 0
	for _, p := range b.Properties {
		if p.Type == property.TypeBundleObject {
			n++
		}
	}
	if len(b.Objects) == n {
		for _, o := range b.Objects {
			out = append(out, []byte(o))
		}
		return out, nil
	}
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
		out = append(out, raw)
	}
	return out, nil
}

// parseExamples reads alm-examples: a JSON list of objects, each with
// apiVersion, kind and a name.
func parseExamples(raw string) ([]*unstructured.Unstructured, error) {
	if raw == "" {
		return nil, nil
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		return nil, fmt.Errorf("does not parse as a JSON list of objects: %w", err)
	}
	var out []*unstructured.Unstructured
	for i, it := range items {
		u := &unstructured.Unstructured{Object: it}
		if u.GetAPIVersion() == "" || u.GetKind() == "" || u.GetName() == "" {
			return nil, fmt.Errorf("item %d has no apiVersion, kind or metadata.name", i)
		}
		out = append(out, u)
	}
	return out, nil
}

// AnalyzeUpgrade lists what breaks existing objects when the bundle from
// is upgraded to the bundle to (see AnalyzeCRDs).
func AnalyzeUpgrade(from, to declcfg.Bundle) ([]string, error) {
	cache := newCRDCache()
	old, err := bundleContents(from, cache)
	if err != nil {
		return nil, err
	}
	cur, err := bundleContents(to, cache)
	if err != nil {
		return nil, err
	}
	old.ownExampleProblems(from.Name)
	return crdUpgradeProblems(old, cur), nil
}
