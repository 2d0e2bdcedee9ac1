package bundle

import (
	"encoding/json"
	"fmt"
	"slices"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"
	"github.com/operator-framework/operator-registry/pkg/image"
	"github.com/operator-framework/operator-registry/pkg/registry"
)

// Render turns the bundle directory dir into an FBC olm.bundle, as `opm
// render DIR` does: the properties operator-registry derives from the
// bundle, every manifest inline as olm.bundle.object, the related images
// and the CSV as JSON. imageRef is the bundle's image reference: empty, as
// opm leaves it, for a directory that was never an image.
//
// operator-registry's alpha/action.Render does the same, but importing it
// links containers/image's signature code, which needs cgo and gpgme unless
// built with the containers_image_openpgp tag; this builds on the same
// cgo-free library calls, so plain `go build ./...` works. The tagged test
// render_parity_test.go proves the output equal to action.Render's.
func Render(dir, imageRef string) (*declcfg.Bundle, error) {
	in, err := registry.NewImageInput(image.SimpleReference(imageRef), dir)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", dir, err)
	}
	b := in.Bundle
	objects, props, err := registry.ObjectsAndPropertiesFromBundle(b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: properties: %w", dir, err)
	}
	related, err := relatedImages(b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: related images: %w", dir, err)
	}
	csvJSON, err := csvJSON(b)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", dir, err)
	}
	return &declcfg.Bundle{
		Schema:        declcfg.SchemaBundle,
		Name:          b.Name,
		Package:       b.Package,
		Image:         b.BundleImage,
		Properties:    objectsLast(props),
		RelatedImages: related,
		Objects:       objects,
		CsvJSON:       csvJSON,
	}, nil
}

// relatedImages are the CSV's spec.relatedImages, then the bundle image and
// every image the install strategy's deployments run that is not listed
// yet, sorted by image: what opm render writes.
func relatedImages(b *registry.Bundle) ([]declcfg.RelatedImage, error) {
	csv, err := b.ClusterServiceVersion()
	if err != nil {
		return nil, err
	}
	var spec struct {
		RelatedImages []declcfg.RelatedImage `json:"relatedImages"`
	}
	if err := json.Unmarshal(csv.Spec, &spec); err != nil {
		return nil, fmt.Errorf("CSV spec: %w", err)
	}
	out := spec.RelatedImages
	listed := map[string]bool{}
	for _, ri := range out {
		listed[ri.Image] = true
	}
	add := func(img string) {
		if img != "" && !listed[img] {
			listed[img] = true
			out = append(out, declcfg.RelatedImage{Image: img})
		}
	}
	add(b.BundleImage)
	operatorImages, err := csv.GetOperatorImages()
	if err != nil {
		return nil, fmt.Errorf("install strategy: %w", err)
	}
	for img := range operatorImages {
		add(img)
	}
	slices.SortStableFunc(out, func(a, b declcfg.RelatedImage) int { return strings.Compare(a.Image, b.Image) })
	return out, nil
}

// csvJSON is the bundle's CSV as JSON, which FBC consumers read the CSV from.
func csvJSON(b *registry.Bundle) (string, error) {
	for _, obj := range b.Objects {
		if obj.GetKind() != "ClusterServiceVersion" {
			continue
		}
		raw, err := json.Marshal(obj)
		if err != nil {
			return "", fmt.Errorf("CSV %s: %w", obj.GetName(), err)
		}
		return string(raw), nil
	}
	return "", nil
}

// objectsLast moves the bulky olm.bundle.object and olm.csv.metadata
// properties behind the others, keeping each group's order, as opm does.
func objectsLast(props []property.Property) []property.Property {
	var others, objects []property.Property
	for _, p := range props {
		switch p.Type {
		case property.TypeBundleObject, property.TypeCSVMetadata:
			objects = append(objects, p)
		default:
			others = append(others, p)
		}
	}
	return append(others, objects...)
}
