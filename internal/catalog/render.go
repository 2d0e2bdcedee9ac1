// Package catalog renders, checks and writes the operator's file-based
// catalog (FBC) with operator-registry: a hand-edited basic template whose
// bundle references resolve to the released bundles kept in the repo, so
// the catalog carries its own history.
//
// Checking has two verbs: Validate is operator-registry's own validation,
// exactly what `opm validate` runs; Analyze (and its parts AnalyzeCRDs and
// AnalyzeUpgrade) is ours: what opm does not check, the upgrade graph
// under OLM's resolution rules and the CRDs on every upgrade edge.
package catalog

import (
	"bytes"
	"cmp"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/template"
	yamlv3 "go.yaml.in/yaml/v3"

	"github.com/example-inc/memcached-operator/internal/bundle"
	bundleimage "github.com/example-inc/memcached-operator/internal/bundle/image"
)

// Mode selects how bundles reference their content.
type Mode int

const (
	// Publish sets each bundle's image to its reference in the template,
	// keeping the manifests for the analysis (Generate writes the catalog
	// with olm.csv.metadata in their place: what goes into the catalog image).
	Publish Mode = iota
	// Local omits images so OLM installs from the inline olm.bundle.object
	// manifests, without an unpack Job (for the local cluster).
	Local
)

// Source is where a catalog comes from.
type Source struct {
	// Template is a catalog template opm renders: basic
	// (olm.template.basic) or semver (olm.semver).
	Template string
	// Releases holds one released bundle directory per version, named
	// <package>.v<version>.
	Releases string
	// Staged are released bundle directories by name that are not in
	// Releases yet (a release being made), looked up first.
	Staged map[string]string
	// Pull renders every bundle from its image (by tag or digest), pulled
	// from its registry as opm does, and Releases is not read; otherwise
	// each reference is a released directory or an error, and rendering
	// never leaves the machine.
	Pull bool
	// Insecure reaches registries over plain HTTP or unverified TLS.
	Insecure bool
}

// Render runs the template through operator-registry, resolving each
// bundle image reference to its released bundle directory, or with Pull to
// the image in its registry. Local mode clears the images once rendered:
// the semver template tells bundles apart by the image they came back with.
func Render(ctx context.Context, src Source, mode Mode) (*declcfg.DeclarativeConfig, error) {
	b, err := os.ReadFile(src.Template)
	if err != nil {
		return nil, err
	}
	renderBundle := func(ctx context.Context, ref string) (*declcfg.DeclarativeConfig, error) {
		b, err := resolveBundle(ctx, src, ref)
		if err != nil {
			return nil, err
		}
		b.Image = ref
		return &declcfg.DeclarativeConfig{Bundles: []declcfg.Bundle{*b}}, nil
	}
	if err := checkEntries(b); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Template, err)
	}
	cfg, err := renderTemplate(ctx, b, renderBundle)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", src.Template, err)
	}
	// The semver template returns bundles in no fixed order.
	slices.SortStableFunc(cfg.Bundles, func(a, b declcfg.Bundle) int {
		return cmp.Or(strings.Compare(a.Package, b.Package), strings.Compare(a.Name, b.Name))
	})
	if mode == Local {
		for i := range cfg.Bundles {
			cfg.Bundles[i].Image = ""
		}
	}
	if err := packageIcons(cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", src.Template, err)
	}
	return cfg, nil
}

// resolveBundle renders the bundle a template names: with Pull its image,
// pulled from its registry as opm does; otherwise its released directory.
func resolveBundle(ctx context.Context, src Source, ref string) (*declcfg.Bundle, error) {
	if src.Pull {
		b, err := bundleimage.Render(ctx, ref, bundleimage.Options{Insecure: src.Insecure})
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", ref, err)
		}
		return b, nil
	}
	dir, err := releaseDir(src, ref)
	if err != nil {
		return nil, fmt.Errorf("%w (or render with --pull to pull every bundle from its registry)", err)
	}
	b, err := bundle.Render(dir, "")
	if err != nil {
		return nil, fmt.Errorf("bundle %s (%s): %w", ref, dir, err)
	}
	return b, nil
}

// renderTemplate runs the operator-registry template b's schema names on
// b, from the template registry opm alpha render-template uses (basic,
// semver, substitutes). A panic in it (input it does not check, as
// checkEntries's case was) is returned as an error: a template we did not
// write must not crash the tool.
func renderTemplate(ctx context.Context, b []byte, renderBundle template.BundleRenderer) (cfg *declcfg.DeclarativeConfig, err error) {
	defer func() {
		if p := recover(); p != nil {
			cfg, err = nil, fmt.Errorf("operator-registry's template failed on this template (%v): check that it is a basic or semver template (schema olm.template.basic with entries a list of objects, or olm.semver)", p)
		}
	}()
	templates := template.NewRegistry()
	tmpl, r, err := templates.CreateTemplateBySchema(bytes.NewReader(b), renderBundle)
	var unknown *template.UnknownSchemaError
	if errors.As(err, &unknown) {
		return nil, fmt.Errorf("schema %q is no catalog template opm renders; want one of %s", unknown.Schema, strings.Join(templates.GetSupportedSchemas(), ", "))
	}
	if err != nil {
		return nil, err
	}
	return tmpl.Render(ctx, r)
}

// checkEntries refuses a template entry that is not an object, which
// operator-registry's basic template does not check: an empty item (a lone
// "-") made it panic (found by FuzzRender). Anything else it reports itself.
// Its decoder matches keys as encoding/json does, whatever their case, so
// "Entries" is the list as much as "entries" is.
func checkEntries(b []byte) error {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(b, &doc); err != nil || len(doc.Content) == 0 {
		return nil // not YAML, or empty: the template's own parser says so
	}
	root := doc.Content[0]
	if root.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(root.Content); i += 2 {
		key := root.Content[i].Value
		if !strings.EqualFold(key, "entries") || root.Content[i+1].Kind != yamlv3.SequenceNode {
			continue
		}
		for n, e := range root.Content[i+1].Content {
			if e.Kind != yamlv3.MappingNode {
				what := "empty"
				if e.Tag != "!!null" {
					what = fmt.Sprintf("a %s, not an object", strings.TrimPrefix(e.ShortTag(), "!!"))
				}
				return fmt.Errorf("line %d: %s[%d] is %s: each entry is an object with a schema (olm.package, olm.channel, olm.bundle, olm.deprecations); complete it or remove it", e.Line, key, n, what)
			}
		}
	}
	return nil
}

// packageIcons gives a package the template leaves without an icon the icon
// of its default channel's head. A published catalog's bundles carry no CSV,
// so the package's icon is the only one OLM's package server (OperatorHub's
// tile) can show; opm init asks for it as --icon.
func packageIcons(cfg *declcfg.DeclarativeConfig) error {
	if !slices.ContainsFunc(cfg.Packages, func(p declcfg.Package) bool { return p.Icon == nil }) {
		return nil // every package names its icon: no model to build
	}
	m, err := declcfg.ConvertToModel(*cfg)
	if err != nil {
		return nil // Validate reports it with opm's words
	}
	for i := range cfg.Packages {
		p := &cfg.Packages[i]
		mp := m[p.Name]
		if p.Icon != nil || mp == nil || mp.DefaultChannel == nil {
			continue
		}
		head, err := mp.DefaultChannel.Head()
		if err != nil || head.CsvJSON == "" {
			continue
		}
		csv := &v1alpha1.ClusterServiceVersion{}
		if err := json.Unmarshal([]byte(head.CsvJSON), csv); err != nil {
			return fmt.Errorf("package %s: the CSV of %s: %w", p.Name, head.Name, err)
		}
		if len(csv.Spec.Icon) == 0 {
			continue
		}
		data, err := base64.StdEncoding.DecodeString(csv.Spec.Icon[0].Data)
		if err != nil {
			return fmt.Errorf("package %s: the icon of %s is not base64: %w", p.Name, head.Name, err)
		}
		p.Icon = &declcfg.Icon{Data: data, MediaType: csv.Spec.Icon[0].MediaType}
	}
	return nil
}

// releaseDir maps a bundle image reference (…:v<version>) to its released
// directory.
func releaseDir(src Source, ref string) (string, error) {
	i := strings.LastIndex(ref, ":")
	if i < 0 || strings.Contains(ref[i:], "/") {
		return "", fmt.Errorf("bundle %s: the reference has no tag; tag bundle images v<version>", ref)
	}
	tag := ref[i+1:]
	v, err := semver.Parse(strings.TrimPrefix(tag, "v"))
	if err != nil {
		return "", fmt.Errorf("bundle %s: tag %q is not v<semver>", ref, tag)
	}
	name := filepath.Base(ref[:i])
	pkg := strings.TrimSuffix(name, "-bundle")
	name = fmt.Sprintf("%s.v%s", pkg, v)
	if dir, ok := src.Staged[name]; ok {
		return dir, nil
	}
	dir := filepath.Join(src.Releases, name)
	if st, err := os.Stat(dir); err != nil || !st.IsDir() {
		return "", fmt.Errorf("bundle %s: no released bundle at %s: release it first (make catalog-release VERSION=%s)", ref, dir, v)
	}
	return dir, nil
}
