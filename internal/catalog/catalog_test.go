package catalog

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"
	"github.com/sirupsen/logrus"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/graph"
)

var repo = Source{
	Template: filepath.Join("..", "..", "config", "catalog", "template.yaml"),
	Releases: filepath.Join("..", "..", "config", "catalog", "releases"),
}

func TestOurCatalog(t *testing.T) {
	ctx := context.Background()
	for _, mode := range []Mode{Publish, Local} {
		cfg, err := Render(ctx, repo, mode)
		if err != nil {
			t.Fatal(err)
		}
		if len(cfg.Bundles) < 3 || len(cfg.Channels) < 2 {
			t.Fatalf("%d bundles in %d channels: the history needs at least 3 in 2", len(cfg.Bundles), len(cfg.Channels))
		}
		for _, b := range cfg.Bundles {
			objects := 0
			for _, p := range b.Properties {
				if p.Type == property.TypeBundleObject {
					objects++
				}
			}
			if objects < 2 {
				t.Errorf("%s carries %d inline objects, want its CSV and CRD at least", b.Name, objects)
			}
			if want := mode == Publish; (b.Image != "") != want {
				t.Errorf("mode %d: %s image = %q", mode, b.Name, b.Image)
			}
		}
		report, err := Analyze(ctx, cfg)
		if err != nil {
			t.Fatal(err)
		}
		if report.Errors() != 0 {
			t.Fatalf("problems in our catalog: %v", report.Problems)
		}
		mechanisms := map[string]bool{}
		for _, e := range report.Edges {
			mechanisms[e.By] = true
		}
		if !mechanisms["replaces"] || !mechanisms["skips"] || !mechanisms["skipRange"] {
			t.Errorf("edges use %v; the history must exercise replaces, skips and skipRange", mechanisms)
		}
	}
}

// The published catalog (make catalog's catalog/) is what public catalogs
// carry: every bundle names its image and has olm.csv.metadata, no inline
// manifests; it passes opm's validation, and the CSV metadata is the
// released CSV's. The local rendering keeps the manifests and no images.
func TestPublishedCatalogCarriesCSVMetadataOnly(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	for _, local := range []bool{false, true} {
		out := filepath.Join(dir, fmt.Sprint(local))
		if _, err := Generate(ctx, repo, GenerateOptions{Output: out, Local: local}); err != nil {
			t.Fatal(err)
		}
		cfg, err := declcfg.LoadFS(ctx, os.DirFS(out))
		if err != nil {
			t.Fatal(err)
		}
		if err := Validate(ctx, cfg); err != nil {
			t.Errorf("opm's validation of %s: %v", out, err)
		}
		for _, b := range cfg.Bundles {
			counts := map[string]int{}
			for _, p := range b.Properties {
				counts[p.Type]++
			}
			published := counts[property.TypeCSVMetadata] == 1 && counts[property.TypeBundleObject] == 0 && b.Image != ""
			inline := counts[property.TypeCSVMetadata] == 0 && counts[property.TypeBundleObject] >= 2 && b.Image == ""
			if (!local && !published) || (local && !inline) {
				t.Errorf("local=%t: %s has image %q and properties %v", local, b.Name, b.Image, counts)
			}
			if !local {
				var meta property.CSVMetadata
				for _, p := range b.Properties {
					if p.Type == property.TypeCSVMetadata {
						if err := json.Unmarshal(p.Value, &meta); err != nil {
							t.Fatal(err)
						}
					}
				}
				if meta.Annotations["containerImage"] == "" || len(meta.CustomResourceDefinitions.Owned) == 0 || len(meta.InstallModes) == 0 {
					t.Errorf("%s: CSV metadata lacks containerImage, owned CRDs or install modes: %+v", b.Name, meta)
				}
			}
		}
	}
}

// generate runs `make catalog` on a template given as text, with the real
// releases, into dir/catalog, which holds a good catalog beforehand.
func generate(t *testing.T, template string, releases string) (string, []string, error) {
	t.Helper()
	dir := t.TempDir()
	out := filepath.Join(dir, "catalog")
	if _, err := Generate(context.Background(), repo, GenerateOptions{Output: out}); err != nil {
		t.Fatal(err)
	}
	before, _ := atomicdir.Read(out)

	src := Source{Template: filepath.Join(dir, "template.yaml"), Releases: releases}
	if err := os.WriteFile(src.Template, []byte(template), 0o644); err != nil {
		t.Fatal(err)
	}
	report, err := Generate(context.Background(), src, GenerateOptions{Output: out})
	var lines []string
	if report != nil {
		for _, p := range report.Problems {
			if p.Severity == graph.Error {
				lines = append(lines, p.String())
			}
		}
	}
	after, _ := atomicdir.Read(out)
	if err != nil {
		for name, b := range before {
			if string(after[name]) != string(b) {
				t.Errorf("%s changed although generation failed", name)
			}
		}
	}
	return src.Template, lines, err
}

func ourTemplate(t *testing.T) string {
	b, err := os.ReadFile(repo.Template)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// copyReleases copies the released bundles so a test can break one.
func copyReleases(t *testing.T) string {
	dir := t.TempDir()
	entries, err := os.ReadDir(repo.Releases)
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		files, err := atomicdir.Read(filepath.Join(repo.Releases, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		if err := atomicdir.Replace(filepath.Join(dir, e.Name()), files, nil); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func editYAMLFile(t *testing.T, path, old, new string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), old) {
		t.Fatalf("%s does not contain %q", path, old)
	}
	if err := os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestCRDSafety(t *testing.T) {
	t.Run("old examples must validate against the new schema", func(t *testing.T) {
		rel := copyReleases(t)
		crd := filepath.Join(rel, "memcached-operator.v0.3.0", "manifests", "cache.example.com_memcacheds.yaml")
		editYAMLFile(t, crd, "maximum: 100", "maximum: 2")
		_, lines, err := generate(t, ourTemplate(t), rel)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		want := "error: channel candidate entry memcached-operator.v0.3.0: upgrade from memcached-operator.v0.2.1: example Memcached memcached-sample no longer validates against CRD memcacheds.cache.example.com v1: spec.size: Invalid value: 3: spec.size in body should be less than or equal to 2"
		if !slices.Contains(lines, want) {
			t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(lines, "\n  "), want)
		}
	})
	// Findings about a bundle's own examples: one warning on the bundle, the
	// rest of the report intact, no finding repeated on its edges.
	own := func(t *testing.T, edit func(csvPath string)) []string {
		t.Helper()
		rel := copyReleases(t)
		edit(filepath.Join(rel, "memcached-operator.v0.3.0", "manifests", "memcached-operator.clusterserviceversion.yaml"))
		cfg, err := Render(context.Background(), Source{Template: repo.Template, Releases: rel}, Local)
		if err != nil {
			t.Fatal(err)
		}
		report, err := Analyze(context.Background(), cfg)
		if err != nil {
			t.Fatalf("the analysis stopped: %v", err)
		}
		if len(report.Channels) != 3 || report.Errors() != 0 {
			t.Errorf("%d channels, %d errors: %v", len(report.Channels), report.Errors(), report.Problems)
		}
		var lines []string
		for _, p := range report.Problems {
			if strings.Contains(p.Message, "example") {
				lines = append(lines, p.String())
			}
		}
		return lines
	}
	t.Run("malformed alm-examples is one finding", func(t *testing.T) {
		lines := own(t, func(path string) { editYAMLFile(t, path, `"kind": "Memcached",`, `"kind": "Memcached",,`) })
		want := "warning: bundle memcached-operator.v0.3.0: alm-examples: does not parse as a JSON list of objects: invalid character ',' looking for beginning of object key string; the CSV's metadata.annotations.alm-examples must be a JSON list of objects with apiVersion, kind and metadata.name"
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("findings:\n  %s\nwant exactly:\n  %s", strings.Join(lines, "\n  "), want)
		}
	})
	t.Run("an example without kind is one finding", func(t *testing.T) {
		lines := own(t, func(path string) { editYAMLFile(t, path, `"kind": "Memcached",`, ``) })
		want := "warning: bundle memcached-operator.v0.3.0: alm-examples: item 0 has no apiVersion, kind or metadata.name; the CSV's metadata.annotations.alm-examples must be a JSON list of objects with apiVersion, kind and metadata.name"
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("findings:\n  %s\nwant exactly:\n  %s", strings.Join(lines, "\n  "), want)
		}
	})
	t.Run("an example invalid against its own CRD is reported once, on its bundle", func(t *testing.T) {
		lines := own(t, func(path string) { editYAMLFile(t, path, `"size": 3`, `"size": 500`) })
		want := "warning: bundle memcached-operator.v0.3.0: example Memcached memcached-sample does not validate against its own CRD memcacheds.cache.example.com v1: spec.size: Invalid value: 500: spec.size in body should be less than or equal to 100"
		if len(lines) != 1 || lines[0] != want {
			t.Errorf("findings:\n  %s\nwant exactly:\n  %s", strings.Join(lines, "\n  "), want)
		}
	})
	t.Run("a stored version must stay served", func(t *testing.T) {
		rel := copyReleases(t)
		crd := filepath.Join(rel, "memcached-operator.v0.3.0", "manifests", "cache.example.com_memcacheds.yaml")
		editYAMLFile(t, crd, "served: true", "served: false")
		_, lines, err := generate(t, ourTemplate(t), rel)
		if !errors.Is(err, ErrInvalid) {
			t.Fatalf("err = %v, want ErrInvalid", err)
		}
		want := "error: channel stable entry memcached-operator.v0.3.0: upgrade from memcached-operator.v0.1.0: CRD memcacheds.cache.example.com: version v1 stored objects before and is not served any more"
		if !slices.Contains(lines, want) {
			t.Errorf("problems:\n  %s\nwant:\n  %s", strings.Join(lines, "\n  "), want)
		}
	})
}

func TestReleasedBundlesAreImmutable(t *testing.T) {
	rel := copyReleases(t)
	work := filepath.Join(t.TempDir(), "bundle")
	files, _ := atomicdir.Read(filepath.Join(rel, "memcached-operator.v0.2.1"))
	if err := atomicdir.Replace(work, files, nil); err != nil {
		t.Fatal(err)
	}
	if released, err := alreadyReleased(work, rel); err != nil || !released {
		t.Fatalf("an unchanged released bundle: released=%v err=%v", released, err)
	}
	editYAMLFile(t, filepath.Join(work, "manifests", "memcached-operator.clusterserviceversion.yaml"), "memcached:1.6.29-alpine", "memcached:1.6.30-alpine")
	_, err := alreadyReleased(work, rel)
	want := "memcached-operator.v0.2.1 is released and immutable, but " + work + " differs from " + filepath.Join(rel, "memcached-operator.v0.2.1") + " in manifests/memcached-operator.clusterserviceversion.yaml: bump VERSION and run make bundle"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// bundle040 writes dir/bundle: the released 0.3.2 made into 0.4.0.
func bundle040(t *testing.T, rel, dir string) string {
	t.Helper()
	work := filepath.Join(dir, "bundle")
	files, _ := atomicdir.Read(filepath.Join(rel, "memcached-operator.v0.3.2"))
	csv := "manifests/memcached-operator.clusterserviceversion.yaml"
	files[csv] = []byte(strings.ReplaceAll(strings.ReplaceAll(string(files[csv]), "v0.3.2", "v0.4.0"), "version: 0.3.2", "version: 0.4.0"))
	if err := atomicdir.Replace(work, files, nil); err != nil {
		t.Fatal(err)
	}
	return work
}

// The release step adds a new version on top of each channel's head.
func TestRelease(t *testing.T) {
	rel := copyReleases(t)
	dir := t.TempDir()
	template := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(template, []byte(ourTemplate(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	work := bundle040(t, rel, dir)
	src := Source{Template: template, Releases: rel}
	image := "example.com/memcached-operator-bundle:v0.4.0"
	res, err := Release(context.Background(), ReleaseOptions{Source: src, Bundle: work, Image: image, Channels: []string{"stable", "candidate"}})
	if err != nil || res.Name != "memcached-operator.v0.4.0" {
		t.Fatalf("Release = %+v, %v", res, err)
	}
	report, err := Generate(context.Background(), src, GenerateOptions{Output: filepath.Join(dir, "catalog")})
	if err != nil {
		t.Fatalf("Generate after release: %v %v", err, report)
	}
	for _, c := range report.Channels {
		wantHead := "memcached-operator.v0.4.0"
		if c.Name == "fast" {
			wantHead = "memcached-operator.v0.3.2"
		}
		if c.Head != wantHead {
			t.Errorf("channel %s head = %s, want %s", c.Name, c.Head, wantHead)
		}
	}
	b, _ := os.ReadFile(template)
	if !strings.HasPrefix(string(b), "# The catalog's release history") {
		t.Errorf("the template's header comment was lost")
	}
	assertOnlyAdded(t, ourTemplate(t), string(b))
	// Releasing the same bundle again changes nothing.
	if _, err := Release(context.Background(), ReleaseOptions{Source: src, Bundle: work, Image: image, Channels: []string{"stable"}}); err != nil {
		t.Fatal(err)
	}
	if again, _ := os.ReadFile(template); string(again) != string(b) {
		t.Errorf("a second release of the same bundle changed the template")
	}
}

// assertOnlyAdded: the hand-edited template after a release is the one
// before with lines added: its order, layout and comments are kept.
func assertOnlyAdded(t *testing.T, before, after string) {
	t.Helper()
	old, now := strings.Split(before, "\n"), strings.Split(after, "\n")
	i := 0
	for _, line := range now {
		if i < len(old) && line == old[i] {
			i++
		}
	}
	if i != len(old) {
		t.Errorf("the release rewrote the template instead of adding to it: line %d %q is gone or moved\n%s", i+1, old[i], after)
	}
	if added := len(now) - len(old); added != 6 {
		t.Errorf("the release added %d lines, want 6 (a bundle entry and an entry in each of stable and candidate):\n%s", added, after)
	}
}

// FuzzRender feeds arbitrary templates: rendering and checking must fail
// cleanly or produce a catalog, never panic.
func FuzzRender(f *testing.F) {
	good, err := os.ReadFile(repo.Template)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(string(good))
	f.Add("schema: olm.template.basic\nentries: []\n")
	f.Add("schema: olm.template.basic\nentries:\n- schema: olm.bundle\n  image: x:v1\n")
	f.Add("{\"schema\":\"olm.template.basic\",\"entries\":[{\"schema\":\"olm.package\",\"name\":\"p\"}]}")
	f.Fuzz(func(t *testing.T, template string) {
		dir := t.TempDir()
		src := Source{Template: filepath.Join(dir, "t.yaml"), Releases: repo.Releases}
		if err := os.WriteFile(src.Template, []byte(template), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := Render(context.Background(), src, Local)
		if err != nil {
			return
		}
		if report, err := Analyze(context.Background(), cfg); err == nil {
			if _, err := json.Marshal(report); err != nil {
				t.Fatal(err)
			}
		}
	})
}

func TestMain(m *testing.M) {
	// operator-registry notes missing optional bundle files at info level.
	logrus.SetLevel(logrus.WarnLevel)
	os.Exit(m.Run())
}

// With an output catalog, a release is its own gate: the catalog is
// rendered with it and compared with the one before; a change that leaves
// users worse off releases nothing at all.
func TestReleaseGateReleasesNothingOnARegression(t *testing.T) {
	rel := copyReleases(t)
	dir := t.TempDir()
	template := filepath.Join(dir, "template.yaml")
	if err := os.WriteFile(template, []byte(ourTemplate(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	src := Source{Template: template, Releases: rel}
	out := filepath.Join(dir, "catalog")
	if _, err := Generate(context.Background(), src, GenerateOptions{Output: out, Strict: true}); err != nil {
		t.Fatal(err)
	}
	work := bundle040(t, rel, dir)
	// Someone drops fast's skip of 0.2.0: 0.1.0 now takes one hop more.
	editYAMLFile(t, template, "    replaces: memcached-operator.v0.1.0\n    skips:\n    - memcached-operator.v0.2.0\n", "    replaces: memcached-operator.v0.2.0\n")
	tplBefore, _ := os.ReadFile(template)
	catBefore, _ := atomicdir.Read(out)
	opts := ReleaseOptions{Source: src, Bundle: work, Image: "example.com/memcached-operator-bundle:v0.4.0", Channels: []string{"candidate"}, Output: out}

	res, err := Release(context.Background(), opts)
	if err == nil || !strings.Contains(err.Error(), "memcached-operator.v0.4.0 strands or slows down users, nothing was released (fix "+template+")") ||
		!strings.Contains(err.Error(), "memcached-operator.v0.1.0") {
		t.Fatalf("err = %v", err)
	}
	if res == nil || res.Diff == nil || len(res.Diff.Regressions()) == 0 {
		t.Errorf("the refused release did not say what regressed: %+v", res)
	}
	if tpl, _ := os.ReadFile(template); string(tpl) != string(tplBefore) {
		t.Error("the refused release changed the template")
	}
	if cat, _ := atomicdir.Read(out); !reflect.DeepEqual(cat, catBefore) {
		t.Error("the refused release changed the catalog")
	}
	if _, err := os.Stat(filepath.Join(rel, "memcached-operator.v0.4.0")); !os.IsNotExist(err) {
		t.Errorf("the refused release added its bundle to the releases: %v", err)
	}

	// Without the bad edit it is released, catalog included, in one change.
	if err := os.WriteFile(template, []byte(ourTemplate(t)), 0o644); err != nil {
		t.Fatal(err)
	}
	if res, err = Release(context.Background(), opts); err != nil {
		t.Fatal(err)
	}
	if len(res.Diff.Regressions()) != 0 || !strings.Contains(res.Diff.Text(), "memcached-operator.v0.4.0") {
		t.Errorf("diff of the release:\n%s", res.Diff.Text())
	}
	cfg, err := Load(context.Background(), out)
	if err != nil {
		t.Fatal(err)
	}
	found := false
	for _, b := range cfg.Bundles {
		found = found || b.Name == "memcached-operator.v0.4.0"
	}
	if !found {
		t.Error("the released catalog lacks memcached-operator.v0.4.0")
	}
}

// An entry that is not an object is refused naming the template, the line
// and the fix; operator-registry's basic template panicked on an empty one
// (the FuzzRender finding kept in testdata/fuzz).
func TestRenderRefusesEntriesThatAreNotObjects(t *testing.T) {
	for _, tc := range []struct{ template, want string }{
		{"schema: olm.template.basic\nentries:\n-\n", "line 3: entries[0] is empty: each entry is an object with a schema"},
		{"schema: olm.template.basic\nentries:\n- schema: olm.package\n  name: p\n- just text\n", "line 5: entries[1] is a str, not an object"},
		// The template's decoder matches keys as encoding/json does, case aside.
		{"schema: olm.template.basic\nEntries:\n-\n", "line 3: Entries[0] is empty"},
		{"{\"schema\": \"olm.template.basic\", \"ENTRIES\": [null]}", "line 1: ENTRIES[0] is empty"},
	} {
		src := Source{Template: filepath.Join(t.TempDir(), "template.yaml"), Releases: repo.Releases}
		if err := os.WriteFile(src.Template, []byte(tc.template), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := Render(context.Background(), src, Local)
		if err == nil || !strings.Contains(err.Error(), src.Template+": "+tc.want) {
			t.Errorf("Render(%q): err = %v, want %q after the template's path", tc.template, err, tc.want)
		}
	}
}

// A panic inside an operator-registry template comes back as an error that
// says what to check, not as a crash of the tool.
func TestRenderTemplateReturnsAPanicAsAnError(t *testing.T) {
	template := []byte("schema: olm.template.basic\nentries:\n- schema: olm.bundle\n  image: example.com/b:v1\n")
	panics := func(context.Context, string) (*declcfg.DeclarativeConfig, error) { panic("boom") }
	cfg, err := renderTemplate(context.Background(), template, panics)
	if cfg != nil || err == nil || !strings.Contains(err.Error(), "template failed on this template (boom)") {
		t.Fatalf("renderTemplate = %v, %v; want no catalog and an error quoting the panic", cfg, err)
	}
}
