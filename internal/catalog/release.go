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

// CheckReleased fails when bundleDir is a version already released with
// other content: released entries are immutable.
func CheckReleased(bundleDir, releases string) (released bool, err error) {
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

// Release copies bundleDir into releases (unless that exact release is
// there already) and adds it to the template: an olm.bundle entry for
// imageRef, and in each of its channels an entry replacing the channel's
// current head, with the CSV's olm.skipRange. It writes nothing on error.
func Release(bundleDir, releases, template, imageRef string, channels []string, skipRange string) (string, error) {
	already, err := CheckReleased(bundleDir, releases)
	if err != nil {
		return "", err
	}
	name, err := bundleName(bundleDir)
	if err != nil {
		return "", err
	}
	raw, err := os.ReadFile(template)
	if err != nil {
		return "", err
	}
	updated, changed, err := addToTemplate(raw, name, imageRef, channels, skipRange)
	if err != nil {
		return "", fmt.Errorf("%s: %w", template, err)
	}
	if !already {
		files, err := readParts(bundleDir)
		if err != nil {
			return "", err
		}
		if err := atomicdir.Replace(filepath.Join(releases, name), files, nil); err != nil {
			return "", err
		}
	}
	if changed {
		if err := atomicdir.ReplaceFile(template, updated); err != nil {
			return "", err
		}
	}
	return name, nil
}

// addToTemplate edits the basic template's entries; comments at the top of
// the file are kept.
func addToTemplate(raw []byte, name, imageRef string, channels []string, skipRange string) ([]byte, bool, error) {
	var header strings.Builder
	for _, line := range strings.SplitAfter(string(raw), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		header.WriteString(line)
	}
	var tmpl struct {
		Schema  string           `json:"schema"`
		Entries []map[string]any `json:"entries"`
	}
	if err := yaml.Unmarshal(raw, &tmpl); err != nil {
		return nil, false, err
	}
	changed := false
	hasBundle := false
	for _, e := range tmpl.Entries {
		if e["schema"] == "olm.bundle" && e["image"] == imageRef {
			hasBundle = true
		}
	}
	if !hasBundle {
		tmpl.Entries = append(tmpl.Entries, map[string]any{"schema": "olm.bundle", "image": imageRef})
		changed = true
	}
	for _, chName := range channels {
		var ch map[string]any
		for _, e := range tmpl.Entries {
			if e["schema"] == "olm.channel" && e["name"] == chName {
				ch = e
			}
		}
		if ch == nil {
			ch = map[string]any{"schema": "olm.channel", "package": strings.SplitN(name, ".v", 2)[0], "name": chName, "entries": []any{}}
			tmpl.Entries = append(tmpl.Entries, ch)
		}
		entries, _ := ch["entries"].([]any)
		if head, present := channelHead(entries, name); !present {
			entry := map[string]any{"name": name}
			if head != "" {
				entry["replaces"] = head
			}
			if skipRange != "" {
				entry["skipRange"] = skipRange
			}
			ch["entries"] = append(entries, entry)
			changed = true
		}
	}
	out, err := yaml.Marshal(tmpl)
	if err != nil {
		return nil, false, err
	}
	return append([]byte(header.String()), out...), changed, nil
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
