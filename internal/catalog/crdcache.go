package catalog

import (
	"crypto/sha256"
	"encoding/json"
	"fmt"

	"k8s.io/apiextensions-apiserver/pkg/apis/apiextensions"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apiextensions-apiserver/pkg/apiserver/validation"
)

// crdCache decodes each distinct CRD once and builds each version's schema
// validator once: the releases of a package mostly ship the same CRD, and a
// catalog that carries manifests carries a copy of it per bundle.
type crdCache struct {
	crds       map[[sha256.Size]byte]*apiextensionsv1.CustomResourceDefinition
	validators map[validatorKey]validatorResult
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
	return &crdCache{crds: map[[sha256.Size]byte]*apiextensionsv1.CustomResourceDefinition{}, validators: map[validatorKey]validatorResult{}}
}

// crd decodes a CRD's JSON, once per distinct content. Callers do not
// change what it returns.
func (c *crdCache) crd(raw []byte) (*apiextensionsv1.CustomResourceDefinition, error) {
	key := sha256.Sum256(raw)
	if crd, ok := c.crds[key]; ok {
		return crd, nil
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := json.Unmarshal(raw, crd); err != nil {
		return nil, err
	}
	c.crds[key] = crd
	return crd, nil
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
