package catalog

import (
	"bytes"
	"fmt"
	"strings"

	yamlv3 "go.yaml.in/yaml/v3"
)

// addToTemplate adds the release name to the template raw and says
// whether that changed anything. It edits the YAML document in place, so the
// hand-edited file keeps its key order, comments and layout; only the new
// entries are added.
func addToTemplate(raw []byte, name string, o ReleaseOptions) ([]byte, bool, error) {
	var doc yamlv3.Node
	if err := yamlv3.Unmarshal(raw, &doc); err != nil {
		return nil, false, err
	}
	entries := mappingValue(documentRoot(&doc), "entries")
	if entries == nil || entries.Kind != yamlv3.SequenceNode {
		return nil, false, fmt.Errorf("no entries list: want a basic template (schema: olm.template.basic, entries: [...])")
	}
	changed, err := addBundle(entries, o.Image)
	if err != nil {
		return nil, false, err
	}
	for _, ch := range o.Channels {
		added, err := addToChannel(entries, ch, name, o.SkipRange)
		if err != nil {
			return nil, false, err
		}
		changed = changed || added
	}
	var out bytes.Buffer
	enc := yamlv3.NewEncoder(&out)
	enc.SetIndent(2)
	enc.CompactSeqIndent()
	if err := enc.Encode(&doc); err != nil {
		return nil, false, err
	}
	return out.Bytes(), changed, enc.Close()
}

func documentRoot(doc *yamlv3.Node) *yamlv3.Node {
	if doc.Kind == yamlv3.DocumentNode && len(doc.Content) == 1 {
		return doc.Content[0]
	}
	return doc
}

// mappingValue is the value of key in the mapping node m, or nil.
func mappingValue(m *yamlv3.Node, key string) *yamlv3.Node {
	if m == nil || m.Kind != yamlv3.MappingNode {
		return nil
	}
	for i := 0; i+1 < len(m.Content); i += 2 {
		if m.Content[i].Value == key {
			return m.Content[i+1]
		}
	}
	return nil
}

func scalar(m *yamlv3.Node, key string) string {
	if v := mappingValue(m, key); v != nil && v.Kind == yamlv3.ScalarNode {
		return v.Value
	}
	return ""
}

// newEntry is a mapping node of the key/value pairs, in that order.
func newEntry(kv ...string) *yamlv3.Node {
	m := &yamlv3.Node{Kind: yamlv3.MappingNode, Tag: "!!map"}
	for i := 0; i+1 < len(kv); i += 2 {
		m.Content = append(m.Content,
			&yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: kv[i]},
			&yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: kv[i+1]})
	}
	return m
}

// addBundle adds an olm.bundle entry for image after the last one, unless
// there is one for it.
func addBundle(entries *yamlv3.Node, image string) (bool, error) {
	last := -1
	for i, e := range entries.Content {
		if scalar(e, "schema") == "olm.bundle" {
			if scalar(e, "image") == image {
				return false, nil
			}
			last = i
		}
	}
	insert(entries, last, newEntry("schema", "olm.bundle", "image", image))
	return true, nil
}

// insert puts n after position i of the sequence (at the end when i < 0).
func insert(seq *yamlv3.Node, i int, n *yamlv3.Node) {
	if i < 0 || i == len(seq.Content)-1 {
		seq.Content = append(seq.Content, n)
		return
	}
	seq.Content = append(seq.Content[:i+1], append([]*yamlv3.Node{n}, seq.Content[i+1:]...)...)
}

// addToChannel puts name on top of the channel chName (created after the
// last channel if need be), replacing its head, unless name is in the
// channel already.
func addToChannel(entries *yamlv3.Node, chName, name, skipRange string) (bool, error) {
	var ch *yamlv3.Node
	lastChannel := -1
	for i, e := range entries.Content {
		if scalar(e, "schema") == "olm.channel" {
			lastChannel = i
			if scalar(e, "name") == chName {
				ch = e
			}
		}
	}
	if ch == nil {
		ch = newEntry("schema", "olm.channel", "package", strings.SplitN(name, ".v", 2)[0], "name", chName)
		ch.Content = append(ch.Content, &yamlv3.Node{Kind: yamlv3.ScalarNode, Tag: "!!str", Value: "entries"},
			&yamlv3.Node{Kind: yamlv3.SequenceNode, Tag: "!!seq"})
		insert(entries, lastChannel, ch)
	}
	list := mappingValue(ch, "entries")
	if list == nil || list.Kind != yamlv3.SequenceNode {
		return false, fmt.Errorf("channel %s: its entries are not a list", chName)
	}
	var current []any
	if err := list.Decode(&current); err != nil {
		return false, fmt.Errorf("channel %s: %w", chName, err)
	}
	head, present := channelHead(current, name)
	if present {
		return false, nil
	}
	kv := []string{"name", name}
	if head != "" {
		kv = append(kv, "replaces", head)
	}
	if skipRange != "" {
		kv = append(kv, "skipRange", skipRange)
	}
	list.Content = append(list.Content, newEntry(kv...))
	return true, nil
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
