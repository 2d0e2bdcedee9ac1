package bundle

import (
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"

	"github.com/example-inc/memcached-operator/internal/csv"
)

// HubMetadataValidator checks the CSV's OperatorHub listing as its
// reviewers do, beyond what OperatorHub v2's validator checks (provider,
// maintainer and link syntax, icon, versions): every field a console shows
// is set and is not what scaffolding left there. Missing or placeholder
// values are errors; the fix is in the CSV base.
var HubMetadataValidator interfaces.Validator = interfaces.ValidatorFunc(func(objs ...interface{}) []errors.ManifestResult {
	var results []errors.ManifestResult
	for _, o := range objs {
		if b, ok := o.(*manifests.Bundle); ok && b.CSV != nil {
			results = append(results, checkHubMetadata(b))
		}
	}
	return results
})

// placeholder matches what operator-sdk's scaffolding and templates leave
// in a CSV base ("memcached-operator description. TODO.", "Provider Name",
// "https://your.domain", "your@email.com").
var placeholder = regexp.MustCompile(`(?i)\b(todo|fixme|tbd|changeme|lorem ipsum|provider name|maintainer name)\b|your\.domain|your@email\.com|\.domain(/|$)`)

// Annotation keys of the listing (besides csv's containerImage and createdAt).
const (
	annotationCapabilities = "capabilities"
	annotationCategories   = "categories"
	annotationDescription  = "description"
	annotationRepository   = "repository"
	annotationSupport      = "support"
)

const fixInBase = "set it in the CSV base (config/manifests/bases)"

func checkHubMetadata(b *manifests.Bundle) errors.ManifestResult {
	h := &hubCheck{b: b, r: errors.ManifestResult{Name: b.CSV.Name}}
	h.texts()
	h.annotationValues()
	h.lists()
	return h.r
}

// hubCheck collects the findings on one bundle's listing.
type hubCheck struct {
	b *manifests.Bundle
	r errors.ManifestResult
}

func (h *hubCheck) fail(field, format string, args ...any) {
	h.r.Add(errors.Error{Type: errors.ErrorInvalidCSV, Level: errors.LevelError, Field: field, BadValue: h.b.CSV.Name, Detail: fmt.Sprintf(format, args...)})
}

// text: the value is set and not what scaffolding leaves; false when not.
func (h *hubCheck) text(field, what, value string) bool {
	switch {
	case strings.TrimSpace(value) == "":
		h.fail(field, "no %s: OperatorHub shows it; %s", what, fixInBase)
		return false
	case placeholder.MatchString(value):
		h.fail(field, "%s %q is a placeholder (%s): write the real one; %s", what, firstLine(value), placeholder.FindString(value), fixInBase)
		return false
	}
	return true
}

// texts are the listing's free texts.
func (h *hubCheck) texts() {
	c, a := h.b.CSV, h.b.CSV.Annotations
	h.text("spec.displayName", "display name", c.Spec.DisplayName)
	h.text("spec.description", "long description", c.Spec.Description)
	h.text("metadata.annotations.description", "short description", a[annotationDescription])
	h.text("spec.provider.name", "provider", c.Spec.Provider.Name)
	h.text("metadata.annotations.support", "support", a[annotationSupport])
}

// annotationValues are the annotations whose values OperatorHub or OLM reads.
func (h *hubCheck) annotationValues() {
	a := h.b.CSV.Annotations
	if h.text("metadata.annotations.capabilities", "capability level", a[annotationCapabilities]) {
		h.knownValues("metadata.annotations.capabilities", validation.StandardCapabilitiesValidator)
	}
	if h.text("metadata.annotations.categories", "categories", a[annotationCategories]) {
		h.knownValues("metadata.annotations.categories", validation.StandardCategoriesValidator)
	}
	if h.text("metadata.annotations.repository", "repository", a[annotationRepository]) {
		h.url("metadata.annotations.repository", a[annotationRepository])
	}
	if h.text("metadata.annotations.createdAt", "createdAt", a[csv.AnnotationCreatedAt]) {
		if _, err := time.Parse(time.RFC3339, a[csv.AnnotationCreatedAt]); err != nil {
			h.fail("metadata.annotations.createdAt", "createdAt %q is not an RFC 3339 time (make bundle sets it)", a[csv.AnnotationCreatedAt])
		}
	}
	if images := operatorImages(h.b); h.text("metadata.annotations.containerImage", "containerImage", a[csv.AnnotationContainerImage]) && !slices.Contains(images, a[csv.AnnotationContainerImage]) {
		h.fail("metadata.annotations.containerImage", "containerImage %s is not the image of any container the CSV deploys (%s): make bundle sets it from IMG",
			a[csv.AnnotationContainerImage], strings.Join(images, ", "))
	}
}

// lists are keywords, maintainers, links and the icon.
func (h *hubCheck) lists() {
	spec := h.b.CSV.Spec
	if len(spec.Keywords) == 0 {
		h.fail("spec.keywords", "no keywords: OperatorHub's search uses them; %s", fixInBase)
	}
	for i, k := range spec.Keywords {
		h.text(fmt.Sprintf("spec.keywords[%d]", i), "keyword", k)
	}
	if len(spec.Maintainers) == 0 {
		h.fail("spec.maintainers", "no maintainers: OperatorHub shows whom to contact; %s", fixInBase)
	}
	for i, m := range spec.Maintainers {
		h.text(fmt.Sprintf("spec.maintainers[%d].name", i), "maintainer name", m.Name)
		h.text(fmt.Sprintf("spec.maintainers[%d].email", i), "maintainer email", m.Email)
	}
	if len(spec.Links) == 0 {
		h.fail("spec.links", "no links: OperatorHub shows them (documentation, source); %s", fixInBase)
	}
	for i, l := range spec.Links {
		field := fmt.Sprintf("spec.links[%d]", i)
		h.text(field+".name", "link name", l.Name)
		if h.text(field+".url", "link", l.URL) {
			h.url(field+".url", l.URL)
		}
	}
	if len(spec.Icon) == 0 || spec.Icon[0].Data == "" {
		h.fail("spec.icon", "no icon: OperatorHub shows OLM's default picture; %s (base64data and mediatype)", fixInBase)
	}
}

// knownValues reports what one of operator-framework/api's OperatorHub
// value validators (StandardCapabilitiesValidator,
// StandardCategoriesValidator) finds, under field and with the fix: the
// values OperatorHub knows are that library's (categories can be replaced
// with OPERATOR_BUNDLE_CATEGORIES, as operator-sdk allows), not a list of ours.
func (h *hubCheck) knownValues(field string, v interfaces.Validator) {
	for _, r := range v.Validate(h.b) {
		for _, e := range append(r.Errors, r.Warnings...) {
			// The library prefixes its detail with the CSV's name, which the
			// file already says.
			h.fail(field, "%s (operator-framework/api); %s", strings.TrimPrefix(e.Detail, "("+h.b.CSV.Name+") "), fixInBase)
		}
	}
}

// url: an absolute http(s) URL a browser can open.
func (h *hubCheck) url(field, raw string) {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		h.fail(field, "%q is not an http(s) URL", raw)
	}
}

// operatorImages are the images of the containers the CSV deploys.
func operatorImages(b *manifests.Bundle) []string {
	var out []string
	for _, d := range b.CSV.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			out = append(out, ctr.Image)
		}
	}
	return out
}

func firstLine(s string) string {
	line, _, _ := strings.Cut(strings.TrimSpace(s), "\n")
	return line
}
