package catalog

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"
	yamlv3 "go.yaml.in/yaml/v3"
)

// document is one object of a catalog file: the line where it starts and
// its JSON.
type document struct {
	line int
	raw  []byte
}

// placed is a problem at a line of a file.
type placed struct {
	line int
	msg  string
}

const fixSyntax = "; fix the file's YAML or JSON there (each document one catalog object with a schema)"

// documents splits a file into its documents, as operator-registry tells
// YAML from JSON (JSON starts with '{'); the first syntax error stops it.
func documents(b []byte) ([]document, *placed) {
	if trimmed := bytes.TrimLeft(b, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		return jsonDocuments(b)
	}
	var out []document
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	for {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			line, msg := yamlErrorLine(err)
			return out, &placed{line, msg + fixSyntax}
		}
		if len(n.Content) != 1 {
			continue
		}
		body := n.Content[0]
		if body.Kind != yamlv3.MappingNode {
			return out, &placed{body.Line, "a document is not a mapping (want schema: olm.package, olm.channel, olm.bundle, ...)" + fixSyntax}
		}
		var v map[string]any
		if err := body.Decode(&v); err != nil {
			return out, &placed{body.Line, clip(err.Error()) + fixSyntax}
		}
		raw, err := json.Marshal(v)
		if err != nil {
			return out, &placed{body.Line, clip(err.Error()) + fixSyntax}
		}
		out = append(out, document{line: body.Line, raw: raw})
	}
}

// yamlLine finds the line in go-yaml's messages ("yaml: line 12: ...").
var yamlLine = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

func yamlErrorLine(err error) (int, string) {
	var te *yamlv3.TypeError
	if errors.As(err, &te) && len(te.Errors) > 0 {
		err = errors.New(te.Errors[0])
	}
	if m := yamlLine.FindStringSubmatch(err.Error()); m != nil {
		line, _ := strconv.Atoi(m[1])
		return line, m[2]
	}
	return 1, err.Error()
}

// jsonDocuments decodes a stream of JSON objects, each with the line of
// its first byte; an error is placed at the line of its offset.
func jsonDocuments(b []byte) ([]document, *placed) {
	lineAt := func(offset int64) int { return 1 + bytes.Count(b[:min(int(offset), len(b))], []byte("\n")) }
	var out []document
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		start := dec.InputOffset()
		var v map[string]json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return out, nil
		}
		if err != nil {
			offset := dec.InputOffset()
			var se *json.SyntaxError
			var te *json.UnmarshalTypeError
			switch {
			case errors.As(err, &se):
				offset = se.Offset
			case errors.As(err, &te):
				offset = te.Offset
			}
			return out, &placed{lineAt(offset), err.Error() + fixSyntax}
		}
		skipped := len(b[start:]) - len(bytes.TrimLeft(b[start:], " \t\r\n"))
		raw, _ := json.Marshal(v)
		out = append(out, document{line: lineAt(start + int64(skipped)), raw: raw})
	}
}

// problem is what operator-registry's loader refuses in the document: no
// schema, or a field of the wrong shape for its schema; nil when none.
func (d document) problem() *placed {
	var meta declcfg.Meta
	if err := json.Unmarshal(d.raw, &meta); err != nil {
		return &placed{d.line, clip(err.Error())}
	}
	what := fmt.Sprintf("%s %q", meta.Schema, meta.Name)
	var target any
	switch meta.Schema {
	case "":
		name := ""
		if meta.Name != "" {
			name = fmt.Sprintf(" (name %q)", meta.Name)
		}
		return &placed{d.line, "a document with no schema" + name + ": every catalog object has one (olm.package, olm.channel, olm.bundle, olm.deprecations); " +
			"a write cut short loses it, as opm writes schema last: restore the document or render the catalog again"}
	case declcfg.SchemaPackage:
		target = &declcfg.Package{}
	case declcfg.SchemaChannel:
		target = &declcfg.Channel{}
	case declcfg.SchemaBundle:
		target = &declcfg.Bundle{}
	case declcfg.SchemaDeprecation:
		target, what = &declcfg.Deprecation{}, fmt.Sprintf("%s of package %q", meta.Schema, meta.Package)
	default:
		return nil // opm keeps other schemas as they are
	}
	if err := json.Unmarshal(d.raw, target); err != nil {
		return &placed{d.line, fmt.Sprintf("%s: %s; fix the document there", what, shapeError(err))}
	}
	if b, ok := target.(*declcfg.Bundle); ok {
		if msg := bundleObjectProblem(b); msg != "" {
			return &placed{d.line, fmt.Sprintf("%s: %s; fix the document there", what, msg)}
		}
	}
	return nil
}

// bundleObjectProblem is an olm.bundle.object property that does not
// decode, as opm's loader reads them.
func bundleObjectProblem(b *declcfg.Bundle) string {
	for i, p := range b.Properties {
		if p.Type != property.TypeBundleObject {
			continue
		}
		var obj property.BundleObject
		if err := json.Unmarshal(p.Value, &obj); err != nil {
			return fmt.Sprintf("properties[%d] (%s): %s", i, p.Type, clip(err.Error()))
		}
	}
	return ""
}

// shapeError says which field has the wrong shape, in the catalog's terms.
func shapeError(err error) string {
	var te *json.UnmarshalTypeError
	if !errors.As(err, &te) {
		return clip(err.Error())
	}
	got := map[string]string{"string": "a string", "number": "a number", "bool": "a boolean", "array": "a list", "object": "an object"}[te.Value]
	if got == "" {
		got = te.Value
	}
	return fmt.Sprintf("%s: %s where %s belongs", te.Field, got, shape(te.Type))
}

func shape(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	default:
		if strings.Contains(t.Kind().String(), "int") || strings.Contains(t.Kind().String(), "float") {
			return "a number"
		}
		return t.String()
	}
}
