package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// A catalog split over many files, with findings in several packages and
// channels (opm's validation errors among them), analyses, lists and
// diffs to the same text on every load: the loader reads files
// concurrently and opm's model is maps, so nothing may follow their order.
func TestOutputDoesNotFollowReadOrder(t *testing.T) {
	dir := t.TempDir()
	files := map[string]string{}
	for _, p := range []string{"a", "b", "c"} {
		files[p+"/package.yaml"] = fmt.Sprintf("schema: olm.package\nname: %s\ndefaultChannel: c0\n", p)
		for i := range 3 {
			// Channel c1 of every package has two heads; c2 a cycle.
			entries := fmt.Sprintf("- name: %[1]s.v1.0.0\n- name: %[1]s.v1.1.0\n  replaces: %[1]s.v1.0.0\n", p)
			switch i {
			case 1:
				entries = fmt.Sprintf("- name: %[1]s.v1.0.0\n- name: %[1]s.v1.1.0\n", p)
			case 2:
				entries = fmt.Sprintf("- name: %[1]s.v1.0.0\n  replaces: %[1]s.v1.1.0\n- name: %[1]s.v1.1.0\n  replaces: %[1]s.v1.0.0\n", p)
			}
			files[fmt.Sprintf("%s/channel-%d.yaml", p, i)] = fmt.Sprintf("schema: olm.channel\npackage: %s\nname: c%d\nentries:\n%s", p, i, entries)
		}
		for _, v := range []string{"1.0.0", "1.1.0"} {
			files[fmt.Sprintf("%s/bundle-%s.yaml", p, v)] = fmt.Sprintf("schema: olm.bundle\npackage: %[1]s\nname: %[1]s.v%[2]s\nimage: example.com/%[1]s:v%[2]s\nproperties:\n- {type: olm.package, value: {packageName: %[1]s, version: %[2]s}}\n", p, v)
		}
	}
	for name, content := range files {
		path := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx := context.Background()
	var first string
	for run := range 12 {
		cfg, err := Load(ctx, dir)
		if err != nil {
			t.Fatal(err)
		}
		report, err := AnalyzeCatalog(ctx, cfg, AnalyzeOptions{})
		if err != nil {
			t.Fatal(err)
		}
		d, err := DiffCatalogs(ctx, cfg, cfg)
		if err != nil {
			t.Fatal(err)
		}
		text := report.Text() + d.Text()
		if run == 0 {
			first = text
			if !strings.Contains(text, "has 2 heads") || !strings.Contains(text, "replaces cycle") {
				t.Fatalf("the catalog lacks the findings it was written for:\n%s", text)
			}
			continue
		}
		if text != first {
			t.Fatalf("load %d gave another text:\n%s\nthan the first:\n%s", run, text, first)
		}
	}
}
