package catalog

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A malformed document in a catalog of several files is named by file and
// line counted from the start of that file, for YAML (also in a later
// document of a stream) and JSON; files .indexignore lists are not read.
func TestLoadNamesFileAndLine(t *testing.T) {
	good := "---\nschema: olm.package\nname: p\ndefaultChannel: c\n"
	for _, tc := range []struct {
		name, file, content, want string
	}{
		{"YAML in the third document", "p/bundles.yaml",
			"---\nschema: olm.channel\nname: c\npackage: p\n---\nschema: olm.bundle\nname: p.v1\n---\nschema: olm.bundle\nname: p.v2\n  image: [unclosed\n",
			"p/bundles.yaml:11: mapping values are not allowed in this context; fix the file's YAML or JSON there (each document one catalog object with a schema)"},
		{"JSON", "p/catalog.json",
			"{\n  \"schema\": \"olm.channel\",\n  \"name\": \"c\"\n}\n{\n  \"schema\": \"olm.bundle\",\n  \"name\": \"p.v1\",,\n}\n",
			"p/catalog.json:7: invalid character ',' looking for beginning of object key string; fix the file's YAML or JSON there (each document one catalog object with a schema)"},
		{"a document that is not a mapping", "p/list.yaml",
			"---\nschema: olm.channel\nname: c\n---\n- a\n- b\n",
			"p/list.yaml:5: a document is not a mapping (want schema: olm.package, olm.channel, olm.bundle, ...); fix the file's YAML or JSON there (each document one catalog object with a schema)"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			for name, content := range map[string]string{"p/package.yaml": good, tc.file: tc.content, "README.md": "# not a catalog: {{{\n", ".indexignore": "README.md\n"} {
				path := filepath.Join(dir, name)
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			_, err := Load(context.Background(), dir)
			if err == nil || strings.TrimPrefix(err.Error(), dir+"/") != tc.want {
				t.Errorf("err = %v\nwant %s/%s", err, dir, tc.want)
			}
		})
	}
}

// A document that parses but that opm's loader refuses is named by file,
// the line where the document starts, its schema and name, in a few
// hundred bytes however large the object (opm's own message names no file
// and carries the whole object).
func TestLoadPlacesRefusedDocuments(t *testing.T) {
	big := strings.Repeat("x", 200000)
	for _, tc := range []struct {
		name, content, want string
	}{
		{"entries not a list", "schema: olm.package\nname: p\ndefaultChannel: c\n---\nschema: olm.channel\npackage: p\nname: c\nentries: not-a-list\n",
			`p/catalog.yaml:5: olm.channel "c": entries: a string where a list belongs; fix the document there`},
		{"a wrong document before a syntax error", "schema: olm.package\nname: p\ndefaultChannel: c\n---\nschema: olm.channel\npackage: p\nname: c\nentries: not-a-list\n---\nschema: olm.bundle\nname: [unclosed\n",
			`p/catalog.yaml:5: olm.channel "c": entries: a string where a list belongs; fix the document there`},
		{"a cut-off document lost its schema", "schema: olm.package\nname: p\ndefaultChannel: c\n---\nimage: example.com/p-bundle:v1\nname: p.v1\npackage: p\nproperties:\n- type: olm.bundle.object\n  value: {data: " + big + "}\n",
			`p/catalog.yaml:5: a document with no schema (name "p.v1"): every catalog object has one (olm.package, olm.channel, olm.bundle, olm.deprecations); a write cut short loses it, as opm writes schema last: restore the document or render the catalog again`},
		{"JSON of the wrong type", "{\"schema\": \"olm.package\", \"name\": \"p\"}\n\n{\n  \"schema\": \"olm.channel\",\n  \"package\": \"p\",\n  \"name\": \"c\",\n  \"entries\": [{\"name\": 7}]\n}\n",
			`p/catalog.yaml:3: olm.channel "c": entries.name: a number where a string belongs; fix the document there`},
		{"a bundle object that is not base64", "schema: olm.bundle\nname: p.v1\npackage: p\nimage: x\nproperties:\n- type: olm.bundle.object\n  value: {data: '%%%'}\n",
			`p/catalog.yaml:1: olm.bundle "p.v1": properties[0] (olm.bundle.object): illegal base64 data at input byte 0; fix the document there`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if err := os.MkdirAll(filepath.Join(dir, "p"), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(dir, "p", "catalog.yaml"), []byte(tc.content), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(context.Background(), dir)
			if err == nil || strings.TrimPrefix(err.Error(), dir+"/") != tc.want {
				t.Fatalf("err = %.600v\nwant %s/%s", err, dir, tc.want)
			}
			if len(err.Error()) > 500 {
				t.Errorf("the error is %d bytes", len(err.Error()))
			}
		})
	}
}

// A directory without catalog objects is refused rather than analysed as
// nothing; one that holds a template says so and how to render it.
func TestLoadRefusesEmptyCatalogs(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(context.Background(), dir)
	if want := dir + ": no catalog objects (olm.package, olm.channel, olm.bundle, olm.deprecations): nothing to analyse; name a file-based catalog's directory"; !errors.Is(err, ErrNoObjects) || err.Error() != want {
		t.Errorf("empty directory: %v\nwant %s", err, want)
	}
	template, err := os.ReadFile(filepath.Join("..", "..", "config", "catalog", "template.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(file, template, 0o644); err != nil {
		t.Fatal(err)
	}
	_, err = Load(context.Background(), dir)
	want := dir + ": no catalog objects (olm.package, olm.channel, olm.bundle, olm.deprecations): " + file + " is a catalog template (schema olm.template.basic), not a catalog; render it first: opm alpha render-template " + file + " -o yaml > CATALOG_DIR/catalog.yaml"
	if !errors.Is(err, ErrNoObjects) || err.Error() != want {
		t.Errorf("template directory: %v\nwant %s", err, want)
	}
}

// Our own catalog loads, and equals what opm's loader reads.
func TestLoadOurCatalog(t *testing.T) {
	cfg, err := Load(context.Background(), filepath.Join("..", "..", "catalog"))
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Packages) != 1 || len(cfg.Bundles) < 5 {
		t.Errorf("%d packages, %d bundles", len(cfg.Packages), len(cfg.Bundles))
	}
}

// FuzzAnalyzeCatalog: any catalog.yaml is refused by Load with an error
// naming the catalog, or loaded, analysed, listed and compared with
// itself without a panic; a catalog compared with itself has no regression.
func FuzzAnalyzeCatalog(f *testing.F) {
	ours, err := os.ReadFile(filepath.Join("..", "..", "catalog", "memcached-operator", "catalog.yaml"))
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(ours))
	f.Add("schema: olm.package\nname: p\ndefaultChannel: c\n---\nschema: olm.channel\npackage: p\nname: c\nentries:\n- name: p.v1.0.0\n  replaces: p.v1.0.0\n")
	f.Add("schema: olm.bundle\nname: p.v1\npackage: p\nimage: x\nproperties:\n- type: olm.package\n  value: {packageName: p, version: 1.0.0}\n")
	f.Add("{\"schema\":\"olm.deprecations\",\"package\":\"p\",\"entries\":[{\"reference\":{\"schema\":\"olm.channel\",\"name\":\"c\"},\"message\":\"m\"}]}")
	f.Fuzz(func(t *testing.T, doc string) {
		dir := t.TempDir()
		if err := os.MkdirAll(filepath.Join(dir, "p"), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "p", "catalog.yaml"), []byte(doc), 0o644); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		cfg, err := Load(ctx, dir)
		if err != nil {
			if !strings.Contains(err.Error(), dir) {
				t.Fatalf("the load error does not name the catalog %s: %v", dir, err)
			}
			return
		}
		if _, err := AnalyzeCatalog(ctx, cfg, AnalyzeOptions{}); err != nil {
			return
		}
		if _, _, err := Show(cfg); err != nil {
			return
		}
		d, err := DiffCatalogs(ctx, cfg, cfg)
		if err != nil {
			return
		}
		if regs := d.Regressions(); len(regs) > 0 {
			t.Fatalf("a catalog compared with itself regresses: %v", regs)
		}
	})
}
