package catalog

import (
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/lib/version"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/model"
	"github.com/operator-framework/operator-registry/alpha/property"
	"github.com/operator-framework/operator-registry/pkg/api"
	"github.com/operator-framework/operator-registry/pkg/registry"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Listing is one package of a catalog as OLM's package server lists it:
// the status of its PackageManifest without the CatalogSource's own fields
// (name, namespace, display name, publisher). It is what OperatorHub
// consoles show a cluster admin. The JSON field names are the package
// server's (packages.operators.coreos.com/v1), so the two compare as JSON.
type Listing struct {
	PackageName    string          `json:"packageName"`
	DefaultChannel string          `json:"defaultChannel"`
	Provider       AppLink         `json:"provider,omitempty"`
	Deprecation    *Deprecation    `json:"deprecation,omitempty"`
	Channels       []ListedChannel `json:"channels"`
}

// ListedChannel is a channel with its head's CSV description and every
// bundle in it, newest first.
type ListedChannel struct {
	Name           string         `json:"name"`
	CurrentCSV     string         `json:"currentCSV"`
	CurrentCSVDesc CSVDescription `json:"currentCSVDesc,omitempty"`
	Deprecation    *Deprecation   `json:"deprecation,omitempty"`
	Entries        []ListedEntry  `json:"entries"`
}

// ListedEntry is one bundle of a channel.
type ListedEntry struct {
	Name        string       `json:"name"`
	Version     string       `json:"version,omitempty"`
	Deprecation *Deprecation `json:"deprecation,omitempty"`
}

// CSVDescription is what the listing tells of a channel head's CSV.
type CSVDescription struct {
	DisplayName               string                             `json:"displayName,omitempty"`
	Icon                      []Icon                             `json:"icon,omitempty"`
	Version                   version.OperatorVersion            `json:"version,omitempty"`
	Provider                  AppLink                            `json:"provider,omitempty"`
	Annotations               map[string]string                  `json:"annotations,omitempty"`
	Keywords                  []string                           `json:"keywords,omitempty"`
	Links                     []AppLink                          `json:"links,omitempty"`
	Maintainers               []Maintainer                       `json:"maintainers,omitempty"`
	Maturity                  string                             `json:"maturity,omitempty"`
	Description               string                             `json:"description,omitempty"`
	InstallModes              []v1alpha1.InstallMode             `json:"installModes,omitempty"`
	CustomResourceDefinitions v1alpha1.CustomResourceDefinitions `json:"customresourcedefinitions,omitempty"`
	APIServiceDefinitions     v1alpha1.APIServiceDefinitions     `json:"apiservicedefinitions,omitempty"`
	NativeAPIs                []metav1.GroupVersionKind          `json:"nativeApis,omitempty"`
	MinKubeVersion            string                             `json:"minKubeVersion,omitempty"`
	// RelatedImages is a set: the package server lists it in no fixed
	// order; here it is sorted.
	RelatedImages []string `json:"relatedImages,omitempty"`
}

// AppLink is a named URL (a provider, a link).
type AppLink struct {
	Name string `json:"name,omitempty"`
	URL  string `json:"url,omitempty"`
}

// Maintainer is a maintainer's name and email.
type Maintainer struct {
	Name  string `json:"name,omitempty"`
	Email string `json:"email,omitempty"`
}

// Icon is a base64 image and its media type.
type Icon struct {
	Base64Data string `json:"base64data,omitempty"`
	Mediatype  string `json:"mediatype,omitempty"`
}

// Deprecation is the message OLM shows for a deprecated package, channel
// or bundle.
type Deprecation struct {
	Message string `json:"message"`
}

// Omission is a channel, or a whole package, the package server leaves out
// of its listing, and why.
type Omission struct {
	Package string `json:"package"`
	// Channel is empty when the whole package is left out.
	Channel string `json:"channel,omitempty"`
	Reason  string `json:"reason"`
}

func (o Omission) String() string {
	if o.Channel == "" {
		return fmt.Sprintf("package %s left out: %s", o.Package, o.Reason)
	}
	return fmt.Sprintf("package %s: channel %s left out: %s", o.Package, o.Channel, o.Reason)
}

// Show lists every package of the catalog as the package server would
// serve it from a CatalogSource of this catalog, sorted by name. The CSV a
// channel describes is the one the registry (opm serve) hands out for its
// head: the bundle's own CSV, or for a published catalog the CSV it makes
// from olm.csv.metadata and the package's icon and description. Like the
// package server, it leaves out a channel whose head's CSV it cannot read
// (a bundle with neither olm.csv.metadata nor olm.bundle.object) and a
// package with no channel left, lists everything else, and says what it
// left out.
func Show(cfg *declcfg.DeclarativeConfig) ([]Listing, []Omission, error) {
	m, err := declcfg.ConvertToModel(*cfg)
	if err != nil {
		return nil, nil, err
	}
	var out []Listing
	var omitted []Omission
	for _, name := range slices.Sorted(maps.Keys(m)) {
		l, left, err := listPackage(m[name])
		if err != nil {
			return nil, nil, fmt.Errorf("package %s: %w", name, err)
		}
		omitted = append(omitted, left...)
		if len(l.Channels) == 0 {
			omitted = append(omitted, Omission{Package: name, Reason: "no channel can be listed, and the package server lists no package without one"})
			continue
		}
		out = append(out, l)
	}
	return out, omitted, nil
}

// listPackage follows the package server: channels by name, the provider
// of the default channel's head (else the first channel's), and a default
// channel that is not listed replaced by the first channel.
func listPackage(p *model.Package) (Listing, []Omission, error) {
	l := Listing{PackageName: p.Name, DefaultChannel: p.DefaultChannel.Name, Deprecation: deprecation(p.Deprecation)}
	var omitted []Omission
	defaultListed := false
	for _, chName := range slices.Sorted(maps.Keys(p.Channels)) {
		ch := p.Channels[chName]
		head, err := ch.Head()
		if err != nil {
			omitted = append(omitted, Omission{Package: p.Name, Channel: chName, Reason: fmt.Sprintf("no head: %v", err)})
			continue
		}
		csv, csvJSON, err := headCSV(head)
		if err != nil {
			omitted = append(omitted, Omission{Package: p.Name, Channel: chName, Reason: fmt.Sprintf("its head %s: %v", head.Name, err)})
			continue
		}
		entries, err := channelEntries(ch)
		if err != nil {
			return Listing{}, nil, fmt.Errorf("channel %s: %w", chName, err)
		}
		l.Channels = append(l.Channels, ListedChannel{
			Name: chName, CurrentCSV: csv.Name, CurrentCSVDesc: describe(csv, csvJSON),
			Deprecation: deprecation(ch.Deprecation), Entries: entries,
		})
		if len(l.Channels) == 1 || chName == l.DefaultChannel {
			l.Provider = AppLink{Name: csv.Spec.Provider.Name, URL: csv.Spec.Provider.URL}
		}
		defaultListed = defaultListed || chName == l.DefaultChannel
	}
	if !defaultListed && len(l.Channels) > 0 {
		l.DefaultChannel = l.Channels[0].Name
	}
	return l, omitted, nil
}

// headCSV is the CSV the registry serves for a bundle (operator-registry's
// own conversion, which makes one from olm.csv.metadata when the catalog
// carries no manifests).
func headCSV(b *model.Bundle) (*v1alpha1.ClusterServiceVersion, string, error) {
	ab, err := api.ConvertModelBundleToAPIBundle(*b)
	if err != nil {
		return nil, "", err
	}
	if ab.GetCsvJson() == "" {
		return nil, "", errors.New("carries no CSV (neither olm.csv.metadata nor an olm.bundle.object CSV), so the registry serves none; add olm.csv.metadata (opm's bundle-object-to-csv-metadata migration) or the bundle's manifests")
	}
	csv := &v1alpha1.ClusterServiceVersion{}
	if err := json.Unmarshal([]byte(ab.GetCsvJson()), csv); err != nil {
		return nil, "", fmt.Errorf("its CSV does not parse: %w", err)
	}
	return csv, ab.GetCsvJson(), nil
}

// channelEntries are a channel's bundles newest first; bundles with the
// olm.deprecated property are not listed.
func channelEntries(ch *model.Channel) ([]ListedEntry, error) {
	type entry struct {
		ListedEntry
		v semver.Version
	}
	var es []entry
	for _, b := range ch.Bundles {
		if slices.ContainsFunc(b.Properties, func(p property.Property) bool { return p.Type == registry.DeprecatedType }) {
			continue
		}
		v, err := semver.Parse(b.Version.String())
		if err != nil {
			return nil, fmt.Errorf("bundle %s: %w", b.Name, err)
		}
		es = append(es, entry{ListedEntry{Name: b.Name, Version: b.Version.String(), Deprecation: deprecation(b.Deprecation)}, v})
	}
	slices.SortFunc(es, func(a, b entry) int {
		if c := b.v.Compare(a.v); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	out := make([]ListedEntry, len(es))
	for i, e := range es {
		out[i] = e.ListedEntry
	}
	return out, nil
}

// describe is the package server's CSV description: the CSV's own fields,
// its APIs by name only (no descriptors or resources: a console reads those
// from the CSV once installed), and the images of its Deployments and
// relatedImages. The icon the package server serves separately
// (packagemanifests/<name>/icon, the default channel's).
func describe(csv *v1alpha1.ClusterServiceVersion, csvJSON string) CSVDescription {
	d := CSVDescription{
		DisplayName: csv.Spec.DisplayName, Version: csv.Spec.Version,
		Provider:    AppLink{Name: csv.Spec.Provider.Name, URL: csv.Spec.Provider.URL},
		Annotations: csv.Annotations, Keywords: csv.Spec.Keywords, Maturity: csv.Spec.Maturity,
		Description: csv.Spec.Description, InstallModes: csv.Spec.InstallModes,
		CustomResourceDefinitions: v1alpha1.CustomResourceDefinitions{Owned: crdNames(csv.Spec.CustomResourceDefinitions.Owned), Required: crdNames(csv.Spec.CustomResourceDefinitions.Required)},
		APIServiceDefinitions:     v1alpha1.APIServiceDefinitions{Owned: apiServiceNames(csv.Spec.APIServiceDefinitions.Owned), Required: apiServiceNames(csv.Spec.APIServiceDefinitions.Required)},
		NativeAPIs:                csv.Spec.NativeAPIs, MinKubeVersion: csv.Spec.MinKubeVersion,
		RelatedImages: csvImages(csvJSON),
	}
	for _, i := range csv.Spec.Icon {
		d.Icon = append(d.Icon, Icon{Base64Data: i.Data, Mediatype: i.MediaType})
	}
	for _, l := range csv.Spec.Links {
		d.Links = append(d.Links, AppLink{Name: l.Name, URL: l.URL})
	}
	for _, m := range csv.Spec.Maintainers {
		d.Maintainers = append(d.Maintainers, Maintainer{Name: m.Name, Email: m.Email})
	}
	return d
}

// csvImages are the images of the CSV's Deployments and its relatedImages,
// sorted; none when the CSV does not parse, as the package server does.
func csvImages(csvJSON string) []string {
	csv := &registry.ClusterServiceVersion{}
	if err := json.Unmarshal([]byte(csvJSON), csv); err != nil {
		return nil
	}
	images, err := csv.GetOperatorImages()
	if err != nil {
		return nil
	}
	related, err := csv.GetRelatedImages()
	if err != nil {
		return nil
	}
	var out []string
	for i := range images {
		out = append(out, i)
	}
	for i := range related {
		if _, dup := images[i]; !dup {
			out = append(out, i)
		}
	}
	slices.Sort(out)
	return out
}

func crdNames(in []v1alpha1.CRDDescription) []v1alpha1.CRDDescription {
	var out []v1alpha1.CRDDescription
	for _, c := range in {
		out = append(out, v1alpha1.CRDDescription{Name: c.Name, Version: c.Version, Kind: c.Kind, DisplayName: c.DisplayName, Description: c.Description})
	}
	return out
}

func apiServiceNames(in []v1alpha1.APIServiceDescription) []v1alpha1.APIServiceDescription {
	var out []v1alpha1.APIServiceDescription
	for _, a := range in {
		out = append(out, v1alpha1.APIServiceDescription{Name: a.Name, Group: a.Group, Version: a.Version, Kind: a.Kind, DisplayName: a.DisplayName, Description: a.Description})
	}
	return out
}

func deprecation(d *model.Deprecation) *Deprecation {
	if d == nil {
		return nil
	}
	return &Deprecation{Message: d.Message}
}
