package catalog

import (
	"context"
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
		if _, err := Show(cfg); err != nil {
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
