package catalog

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
)

// crdCache reads each distinct bundle object once and builds each CRD
// version's schema validator once: the releases of a package mostly ship
// the same CRD, and a catalog that carries manifests carries a copy of it
// per bundle.
type crdCache struct {
	objects    map[[sha256.Size]byte]cachedObject
	validators map[validatorKey]validatorResult
}

// cachedObject is a bundle object's kind, and the CRD when it is one.
type cachedObject struct {
	kind string
	crd  *apiextensionsv1.CustomResourceDefinition
}

type validatorKey struct {
	crd     *apiextensionsv1.CustomResourceDefinition
	version string
}

type validatorResult struct {
	v   validation.SchemaValidator
	err error
}

func newCRDCache() *crdCache {
	return &crdCache{objects: map[[sha256.Size]byte]cachedObject{}, validators: map[validatorKey]validatorResult{}}
}

// object reads a bundle object's JSON, once per distinct content. Callers
// do not change the CRD it returns.
func (c *crdCache) object(raw []byte) (cachedObject, error) {
	key := sha256.Sum256(raw)
	if o, ok := c.objects[key]; ok {
		return o, nil
	}
	var meta struct{ Kind string }
	if err := json.Unmarshal(raw, &meta); err != nil {
		return cachedObject{}, err
	}
	o := cachedObject{kind: meta.Kind}
	if meta.Kind == "CustomResourceDefinition" {
		o.crd = &apiextensionsv1.CustomResourceDefinition{}
		if err := json.Unmarshal(raw, o.crd); err != nil {
			return cachedObject{}, fmt.Errorf("CRD: %w", err)
		}
	}
	c.objects[key] = o
	return o, nil
}

// validator is the API server's validator for a version's schema.
func (c *crdCache) validator(crd *apiextensionsv1.CustomResourceDefinition, v apiextensionsv1.CustomResourceDefinitionVersion) (validation.SchemaValidator, error) {
	key := validatorKey{crd, v.Name}
	if r, ok := c.validators[key]; ok {
		return r.v, r.err
	}
	var r validatorResult
	internal := &apiextensions.JSONSchemaProps{}
	if err := apiextensionsv1.Convert_v1_JSONSchemaProps_To_apiextensions_JSONSchemaProps(v.Schema.OpenAPIV3Schema, internal, nil); err != nil {
		r.err = fmt.Errorf("CRD %s %s: schema: %w", crd.Name, v.Name, err)
	} else if r.v, _, err = validation.NewSchemaValidator(internal); err != nil {
		r.err = fmt.Errorf("CRD %s %s: schema: %w", crd.Name, v.Name, err)
	}
	c.validators[key] = r
	return r.v, r.err
}
