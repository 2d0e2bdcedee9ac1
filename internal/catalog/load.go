package catalog

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/joelanford/ignore"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/template"
)

// indexIgnore is the file whose patterns opm skips (as declcfg.LoadFS does).
const indexIgnore = ".indexignore"

// Load reads a file-based catalog directory with opm's own loader. When
// that fails, it finds the document at fault itself, so that the error
// names the file and the line where the document starts (counted from the
// start of the file, YAML and JSON alike), the object's schema and name
// when known, in a few hundred bytes: opm's message names no file and may
// carry the whole object. A directory with no catalog object is refused
// (ErrNoObjects), naming the template when it holds one.
func Load(ctx context.Context, dir string) (*declcfg.DeclarativeConfig, error) {
	root := os.DirFS(dir)
	cfg, err := declcfg.LoadFS(ctx, root)
	if err != nil {
		if located := locate(dir, root); located != nil {
			return nil, located
		}
		return nil, fmt.Errorf("%s: %s", dir, clip(err.Error()))
	}
	if err := requireObjects(ctx, dir, root, cfg); err != nil {
		return nil, err
	}
	return cfg, nil
}

// locate finds the file opm's loader refuses and, in it, the document at
// fault (the first one, in the file's order) with its line; the file with
// opm's own words, clipped, when no document is to blame. nil when every
// file loads on its own.
func locate(dir string, root fs.FS) error {
	matcher, err := ignore.NewMatcher(root, indexIgnore)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	return fs.WalkDir(root, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() || d.Name() == indexIgnore || matcher.Match(path, false) {
			return nil
		}
		_, loadErr := declcfg.LoadFile(root, path)
		if loadErr == nil {
			return nil
		}
		b, err := fs.ReadFile(root, path)
		if err != nil {
			return err
		}
		file := filepath.Join(dir, path)
		docs, bad := documents(b)
		for _, doc := range docs {
			if p := doc.problem(); p != nil {
				return fmt.Errorf("%s:%d: %s", file, p.line, p.msg)
			}
		}
		if bad != nil {
			return fmt.Errorf("%s:%d: %s", file, bad.line, bad.msg)
		}
		return fmt.Errorf("%s: %s", file, clip(loadErr.Error()))
	})
}

// ErrNoObjects means a directory holds no catalog object to analyse.
var ErrNoObjects = errors.New("no catalog objects (olm.package, olm.channel, olm.bundle, olm.deprecations)")

// requireObjects refuses a catalog with nothing in it, naming the template
// (and how to render it) when that is what the directory holds: an empty
// analysis would otherwise pass. Files are read one at a time, so the first
// template in the walk's order is named.
func requireObjects(ctx context.Context, dir string, root fs.FS, cfg *declcfg.DeclarativeConfig) error {
	if len(cfg.Packages)+len(cfg.Channels)+len(cfg.Bundles)+len(cfg.Deprecations) > 0 {
		return nil
	}
	templates := template.NewRegistry()
	var found error
	_ = declcfg.WalkMetasFS(ctx, root, func(path string, meta *declcfg.Meta, err error) error {
		if err != nil || meta == nil || found != nil || !templates.HasSchema(meta.Schema) {
			return nil
		}
		file := filepath.Join(dir, path)
		found = fmt.Errorf("%s: %w: %s is a catalog template (schema %s), not a catalog; render it first: opm alpha render-template %s -o yaml > CATALOG_DIR/catalog.yaml",
			dir, ErrNoObjects, file, meta.Schema, file)
		return nil
	}, declcfg.WithConcurrency(1))
	if found != nil {
		return found
	}
	return fmt.Errorf("%s: %w: nothing to analyse; name a file-based catalog's directory", dir, ErrNoObjects)
}

// clip keeps a message to a few hundred bytes.
func clip(msg string) string {
	const most = 300
	if len(msg) <= most {
		return msg
	}
	return fmt.Sprintf("%s... (%d bytes more)", msg[:most], len(msg)-most)
}
