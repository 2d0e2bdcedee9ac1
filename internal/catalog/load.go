package catalog

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strconv"

	"github.com/joelanford/ignore"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	yamlv3 "go.yaml.in/yaml/v3"
)

// indexIgnore is the file whose patterns opm skips (as declcfg.LoadFS does).
const indexIgnore = ".indexignore"

// Load reads a file-based catalog directory as opm does, but first checks
// every file's syntax itself, so that a malformed document is reported as
// file:line (counted from the start of the file, for YAML and JSON alike)
// instead of operator-registry's position within one document and no file.
func Load(ctx context.Context, dir string) (*declcfg.DeclarativeConfig, error) {
	root := os.DirFS(dir)
	matcher, err := ignore.NewMatcher(root, indexIgnore)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	err = fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == indexIgnore || matcher.Match(path, false) {
			return nil
		}
		b, err := fs.ReadFile(root, path)
		if err != nil {
			return err
		}
		if line, msg := syntaxError(b); msg != "" {
			return fmt.Errorf("%s:%d: %s; fix the file's YAML or JSON there (each document one catalog object with a schema)", filepath.Join(dir, path), line, msg)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	cfg, err := declcfg.LoadFS(ctx, root)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	return cfg, nil
}

// syntaxError is the first syntax error in a stream of YAML documents or
// JSON values (as operator-registry tells them apart: JSON starts with '{'),
// with its line in the file; "" when there is none.
func syntaxError(b []byte) (int, string) {
	if trimmed := bytes.TrimLeft(b, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		return jsonSyntaxError(b)
	}
	dec := yamlv3.NewDecoder(bytes.NewReader(b))
	for {
		var n yamlv3.Node
		err := dec.Decode(&n)
		if errors.Is(err, io.EOF) {
			return 0, ""
		}
		if err != nil {
			return yamlErrorLine(err)
		}
		if n.Kind == yamlv3.DocumentNode && len(n.Content) == 1 && n.Content[0].Kind != yamlv3.MappingNode {
			return n.Content[0].Line, "a document is not a mapping (want schema: olm.package, olm.channel, olm.bundle, ...)"
		}
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

// jsonSyntaxError decodes a stream of JSON values and turns the offset of
// the first error into a line.
func jsonSyntaxError(b []byte) (int, string) {
	dec := json.NewDecoder(bytes.NewReader(b))
	for {
		var v map[string]json.RawMessage
		err := dec.Decode(&v)
		if errors.Is(err, io.EOF) {
			return 0, ""
		}
		if err == nil {
			continue
		}
		offset := dec.InputOffset()
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se):
			offset = se.Offset
		case errors.As(err, &te):
			offset = te.Offset
		}
		return 1 + bytes.Count(b[:min(int(offset), len(b))], []byte("\n")), err.Error()
	}
}
