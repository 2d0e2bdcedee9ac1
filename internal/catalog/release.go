package catalog

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
)

// releasedParts are the parts of a bundle directory the catalog carries.
var releasedParts = []string{"manifests", "metadata"}

// bundleName reads the CSV name (<package>.v<version>) of a bundle dir.
func bundleName(bundleDir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(bundleDir, "manifests", "*.clusterserviceversion.yaml"))
	if err != nil || len(matches) != 1 {
		return "", fmt.Errorf("%s: want exactly one manifests/*.clusterserviceversion.yaml, found %d", bundleDir, len(matches))
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		return "", err
	}
	var csv struct {
		Metadata struct{ Name string }
	}
	if err := yaml.Unmarshal(b, &csv); err != nil || csv.Metadata.Name == "" {
		return "", fmt.Errorf("%s: no metadata.name: %v", matches[0], err)
	}
	return csv.Metadata.Name, nil
}

func readParts(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, part := range releasedParts {
		files, err := atomicdir.Read(filepath.Join(dir, part))
		if err != nil {
			return nil, err
		}
		for name, b := range files {
			out[part+"/"+name] = b
		}
	}
	return out, nil
}

// alreadyReleased reports whether bundleDir's version is released, and
// fails when it is released with other content: released entries are
// immutable.
func alreadyReleased(bundleDir, releases string) (bool, error) {
	name, err := bundleName(bundleDir)
	if err != nil {
		return false, err
	}
	dir := filepath.Join(releases, name)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return false, nil
	}
	have, err := readParts(dir)
	if err != nil {
		return true, err
	}
	want, err := readParts(bundleDir)
	if err != nil {
		return true, err
	}
	var diff []string
	for n := range union(have, want) {
		if !bytes.Equal(have[n], want[n]) {
			diff = append(diff, n)
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		return true, fmt.Errorf("%s is released and immutable, but %s differs from %s in %s: bump VERSION and run make bundle",
			name, bundleDir, dir, strings.Join(diff, ", "))
	}
	return true, nil
}

func union(a, b map[string][]byte) map[string]bool {
	u := map[string]bool{}
	for k := range a {
		u[k] = true
	}
	for k := range b {
		u[k] = true
	}
	return u
}

// ReleaseOptions say which bundle Release adds to which history.
type ReleaseOptions struct {
	// Source holds the template to edit and the released bundles.
	Source
	// Bundle is the bundle directory to release (bundle/).
	Bundle string
	// Image is the bundle's image reference (BUNDLE_IMG), tagged v<version>.
	Image string
	// Channels get an entry for the release on top of their heads.
	Channels []string
	// SkipRange is the new entries' skipRange; empty for none.
	SkipRange string
}

// Release copies the bundle into the releases (unless that exact release is
// there already) and adds it to the template: an olm.bundle entry for its
// image, and in each of its channels an entry replacing the channel's
// current head, with the skipRange. It returns the bundle's name and
// writes nothing on error.
func Release(o ReleaseOptions) (string, error) {
	already, err := alreadyReleased(o.Bundle, o.Releases)
	if err != nil {
		return "", err
	}
	name, err := bundleName(o.Bundle)
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(o.Template)
	if err != nil {
		return "", err
	}
	updated, changed, err := addToTemplate(raw, name, o)
	if err != nil {
		return "", fmt.Errorf("%s: %w", o.Template, err)
	}
	if !already {
		files, err := readParts(o.Bundle)
		if err != nil {
			return "", err
		}
		if err := atomicdir.Replace(filepath.Join(o.Releases, name), files, nil); err != nil {
			return "", err
		}
	}
	if changed {
		if err := atomicdir.ReplaceFile(o.Template, updated); err != nil {
			return "", err
		}
	}
	return name, nil
}

// basicTemplate is the basic template as generic entries, so that fields
// this tool does not know survive an edit.
type basicTemplate struct {
	Schema  string           `json:"schema"`
	Entries []map[string]any `json:"entries"`
}

// addToTemplate adds the release name to the template raw and says
// whether that changed anything; comments at the top of the file are kept.
func addToTemplate(raw []byte, name string, o ReleaseOptions) ([]byte, bool, error) {
	var tmpl basicTemplate
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		return nil, false, err
	}
	changed := tmpl.addBundle(o.Image)
	for _, ch := range o.Channels {
		changed = tmpl.addToChannel(ch, name, o.SkipRange) || changed
	}
	out, err := yaml.Marshal(tmpl)
	if err != nil {
		return nil, false, err
	}
	return append(headerComments(raw), out...), changed, nil
}

// headerComments are the comment lines the file starts with, which a YAML
// round trip would drop.
func headerComments(raw []byte) []byte {
	var header strings.Builder
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		header.WriteString(line)
	}
	return []byte(header.String())
}

// addBundle adds an olm.bundle entry for image unless there is one.
func (t *basicTemplate) addBundle(image string) bool {
	for _, e := range t.Entries {
		if e["schema"] == "olm.bundle" && e["image"] == image {
			return false
		}
	}
	t.Entries = append(t.Entries, map[string]any{"schema": "olm.bundle", "image": image})
	return true
}

// addToChannel puts name on top of the channel chName (created if need
// be), replacing its head, unless name is in the channel already.
func (t *basicTemplate) addToChannel(chName, name, skipRange string) bool {
	var ch map[string]any
	for _, e := range t.Entries {
		if e["schema"] == "olm.channel" && e["name"] == chName {
			ch = e
		}
	}
	if ch == nil {
		ch = map[string]any{"schema": "olm.channel", "package": strings.SplitN(name, ".v", 2)[0], "name": chName, "entries": []any{}}
		t.Entries = append(t.Entries, ch)
	}
	entries, _ := ch["entries"].([]any)
	head, present := channelHead(entries, name)
	if present {
		return false
	}
	entry := map[string]any{"name": name}
	if head != "" {
		entry["replaces"] = head
	}
	if skipRange != "" {
		entry["skipRange"] = skipRange
	}
	ch["entries"] = append(entries, entry)
	return true
}

// channelHead is the entry nothing replaces or skips, and whether name is
// in the channel already.
func channelHead(entries []any, name string) (string, bool) {
	replaced := map[string]bool{}
	var names []string
	present := false
	for _, it := range entries {
		e, _ := it.(map[string]any)
		n, _ := e["name"].(string)
		names = append(names, n)
		present = present || n == name
		if r, _ := e["replaces"].(string); r != "" {
			replaced[r] = true
		}
		if skips, ok := e["skips"].([]any); ok {
			for _, s := range skips {
				if s, ok := s.(string); ok {
					replaced[s] = true
				}
			}
		}
	}
	for _, n := range names {
		if !replaced[n] {
			return n, present
		}
	}
	return "", present
}
