package scorecard

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/example-inc/memcached-operator/internal/bundle"
	"github.com/example-inc/memcached-operator/internal/csv"
)

// examples are the CSV's alm-examples.
func examples(t *T) []*unstructured.Unstructured {
	raw := t.Env.Bundle.CSV.Annotations[csv.AnnotationAlmExamples]
	if raw == "" {
		t.Failf("the CSV has no alm-examples: add a sample to config/samples")
		return nil
	}
	var items []map[string]any
	if err := json.Unmarshal([]byte(raw), &items); err != nil {
		t.Failf("alm-examples is not a JSON array of objects: %v", err)
		return nil
	}
	var out []*unstructured.Unstructured
	for _, it := range items {
		out = append(out, &unstructured.Unstructured{Object: it})
	}
	return out
}

// checkSpec: every example CR has a non-empty spec. operator-sdk's version
// only suggests; an example without spec teaches users nothing.
func checkSpec(_ context.Context, t *T) {
	for _, ex := range examples(t) {
		spec, ok := ex.Object["spec"].(map[string]any)
		if !ok || len(spec) == 0 {
			t.Failf("example %s %s has no spec: give it the fields a user sets", ex.GetKind(), ex.GetName())
		}
	}
}

// bundleValidation runs the validators `make bundle` runs.
func bundleValidation(_ context.Context, t *T) {
	problems, err := bundle.Validate(t.Env.BundleDir, bundle.Options{K8sVersion: bundle.K8sTargetVersion})
	if err != nil {
		t.Failf("%v", err)
		return
	}
	for _, p := range problems {
		if p.Error {
			t.Failf("%s", p)
		} else {
			t.Suggest("%s", p)
		}
	}
}

// crdFor finds the owned CRD version that defines an example's kind.
func crdFor(t *T, apiVersion, kind string) *apiextensionsv1.CustomResourceValidation {
	group, version, _ := strings.Cut(apiVersion, "/")
	for _, crd := range t.Env.Bundle.V1CRDs {
		if crd.Spec.Group != group || crd.Spec.Names.Kind != kind {
			continue
		}
		for _, v := range crd.Spec.Versions {
			if v.Name == version {
				return v.Schema
			}
		}
	}
	return nil
}

// crdsHaveValidation: every key an example uses is declared in the CRD's
// schema, so the API server validates it instead of dropping it.
func crdsHaveValidation(_ context.Context, t *T) {
	for _, ex := range examples(t) {
		schema := crdFor(t, ex.GetAPIVersion(), ex.GetKind())
		if schema == nil || schema.OpenAPIV3Schema == nil {
			t.Failf("example %s %s: no CRD in the bundle gives %s a schema", ex.GetKind(), ex.GetName(), ex.GetAPIVersion())
			continue
		}
		props := schema.OpenAPIV3Schema.Properties
		for _, field := range []string{"spec", "status"} {
			v, ok := ex.Object[field]
			if !ok {
				continue
			}
			s, declared := props[field]
			if !declared {
				t.Failf("example %s %s: %s is not in the CRD's schema", ex.GetKind(), ex.GetName(), field)
				continue
			}
			for _, missing := range undeclared(field, v, s) {
				t.Failf("example %s %s uses %s, which the CRD's schema does not declare", ex.GetKind(), ex.GetName(), missing)
			}
		}
	}
}

// undeclared lists the paths under v that schema s does not declare.
func undeclared(path string, v any, s apiextensionsv1.JSONSchemaProps) []string {
	var out []string
	switch x := v.(type) {
	case map[string]any:
		if s.XPreserveUnknownFields != nil && *s.XPreserveUnknownFields {
			return nil
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			child, ok := s.Properties[k]
			if !ok {
				if s.AdditionalProperties != nil && s.AdditionalProperties.Schema != nil {
					child = *s.AdditionalProperties.Schema
				} else {
					out = append(out, path+"."+k)
					continue
				}
			}
			out = append(out, undeclared(path+"."+k, x[k], child)...)
		}
	case []any:
		if s.Items != nil && s.Items.Schema != nil {
			for i, it := range x {
				out = append(out, undeclared(fmt.Sprintf("%s[%d]", path, i), it, *s.Items.Schema)...)
			}
		}
	}
	return out
}

func ownedCRDs(t *T) []v1alpha1.CRDDescription {
	owned := t.Env.Bundle.CSV.Spec.CustomResourceDefinitions.Owned
	if len(owned) == 0 {
		t.Failf("the CSV owns no CRDs")
	}
	return owned
}

// crdsHaveResources: each owned CRD lists the kinds the operator creates
// for it, which OLM's UI shows as the resource tree.
func crdsHaveResources(_ context.Context, t *T) {
	for _, o := range ownedCRDs(t) {
		if len(o.Resources) == 0 {
			t.Failf("owned CRD %s %s lists no resources: name the kinds its operator creates (Deployment, Pod)", o.Name, o.Version)
		}
		for _, r := range o.Resources {
			if r.Kind == "" || r.Version == "" {
				t.Failf("owned CRD %s %s: resource %+v needs a kind and a version", o.Name, o.Version, r)
			}
		}
	}
}

// schemaFields lists every property path under a schema, stopping below a
// path that covered decides is described.
func schemaFields(prefix string, s apiextensionsv1.JSONSchemaProps, covered func(string) bool) []string {
	var out []string
	for _, k := range slices.Sorted(maps.Keys(s.Properties)) {
		p := k
		if prefix != "" {
			p = prefix + "." + k
		}
		if covered(p) {
			continue
		}
		child := s.Properties[k]
		if child.Type == "object" && len(child.Properties) > 0 {
			out = append(out, schemaFields(p, child, covered)...)
			continue
		}
		out = append(out, p)
	}
	return out
}

// describeFields fails for every field of spec or status in the CRD that
// no descriptor of the CSV covers (not only those the examples use).
func describeFields(t *T, field string, paths func(v1alpha1.CRDDescription) []string) {
	for _, o := range ownedCRDs(t) {
		var schema *apiextensionsv1.JSONSchemaProps
		for _, crd := range t.Env.Bundle.V1CRDs {
			if crd.Name != o.Name {
				continue
			}
			for _, v := range crd.Spec.Versions {
				if v.Name == o.Version && v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
					s := v.Schema.OpenAPIV3Schema.Properties[field]
					schema = &s
				}
			}
		}
		if schema == nil {
			t.Failf("owned CRD %s %s: no schema for %s in the bundle", o.Name, o.Version, field)
			continue
		}
		described := map[string]bool{}
		for _, p := range paths(o) {
			described[p] = true
		}
		for _, f := range schemaFields("", *schema, func(p string) bool { return described[p] }) {
			t.Failf("owned CRD %s %s: %s.%s has no %s descriptor in the CSV", o.Name, o.Version, field, f, field)
		}
	}
}

func specDescriptors(_ context.Context, t *T) {
	describeFields(t, "spec", func(o v1alpha1.CRDDescription) []string {
		var p []string
		for _, d := range o.SpecDescriptors {
			p = append(p, d.Path)
		}
		return p
	})
}

func statusDescriptors(_ context.Context, t *T) {
	describeFields(t, "status", func(o v1alpha1.CRDDescription) []string {
		var p []string
		for _, d := range o.StatusDescriptors {
			p = append(p, d.Path)
		}
		return p
	})
}
