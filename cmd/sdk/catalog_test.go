package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/property"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/catalog"
)

var (
	repoTemplate = filepath.Join("..", "..", "config", "catalog", "template.yaml")
	repoReleases = filepath.Join("..", "..", "config", "catalog", "releases")
	repoCatalog  = filepath.Join("..", "..", "catalog")
)

// renderCatalog runs `sdk catalog render` with template into out.
func renderCatalog(template, out string) (stdout, stderr string, err error) {
	var o, e bytes.Buffer
	err = run([]string{"catalog", "render", "--template", template, "--releases", repoReleases, "--bundle=", "--output", out}, nil, &o, &e)
	return o.String(), e.String(), err
}

// Each broken template fails with one line per problem that names the
// template or the bundle and says what is wrong, and leaves the catalog
// already written exactly as it was.
func TestCatalogRenderBrokenTemplates(t *testing.T) {
	good, err := os.ReadFile(repoTemplate)
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		template func(string) string
		want     string // in one line of stderr
	}{
		{"malformed YAML", func(s string) string { return s + "\n  - : [\n" }, "template.yaml: decoding template input: error converting YAML to JSON: yaml: line"},
		{"unknown schema", func(s string) string {
			return strings.Replace(s, "schema: olm.template.basic", "schema: olm.template.fancy", 1)
		}, `template.yaml: schema "olm.template.fancy" is no catalog template opm renders; want one of olm.semver, olm.template.basic, olm.template.substitutes`},
		{"template names a missing bundle", func(s string) string {
			return s + "- schema: olm.bundle\n  image: example.com/memcached-operator-bundle:v9.9.9\n"
		},
			"bundle example.com/memcached-operator-bundle:v9.9.9: no released bundle at"},
		{"duplicate bundle", func(s string) string {
			return s + "- schema: olm.bundle\n  image: example.com/memcached-operator-bundle:v0.2.0\n"
		},
			`opm validate: package "memcached-operator" has duplicate bundle "memcached-operator.v0.2.0"`},
		{"cycle", func(s string) string {
			return strings.Replace(s, "  - name: memcached-operator.v0.1.0\n  - name: memcached-operator.v0.2.0\n    replaces: memcached-operator.v0.1.0\n  - name: memcached-operator.v0.2.1\n    replaces: memcached-operator.v0.2.0",
				"  - name: memcached-operator.v0.1.0\n    replaces: memcached-operator.v0.2.1\n  - name: memcached-operator.v0.2.0\n    replaces: memcached-operator.v0.1.0\n  - name: memcached-operator.v0.2.1\n    replaces: memcached-operator.v0.2.0", 1)
		}, `invalid package "memcached-operator": invalid channel "candidate": detected cycle in replaces chain of upgrade graph`},
		{"several heads", func(s string) string {
			return strings.Replace(s, "  - name: memcached-operator.v0.3.2\n    replaces: memcached-operator.v0.3.1\n- schema: olm.channel\n  package: memcached-operator\n  name: fast",
				"  - name: memcached-operator.v0.3.2\n- schema: olm.channel\n  package: memcached-operator\n  name: fast", 1)
		}, "multiple channel heads found in graph"},
		{"stranded bundle", func(s string) string {
			return strings.Replace(s, "  - name: memcached-operator.v0.2.1\n    replaces: memcached-operator.v0.1.0\n  - name: memcached-operator.v0.3.0\n    replaces: memcached-operator.v0.2.1\n    skipRange",
				"  - name: memcached-operator.v0.2.1\n    replaces: memcached-operator.v0.1.0\n  - name: memcached-operator.v0.3.0\n    skips: [memcached-operator.v0.2.1]\n    skipRange", 1)
		}, "stranded"},
		{"garbage skipRange", func(s string) string { return strings.Replace(s, "'>=0.1.0 <0.3.0'", "'banana'", 1) },
			`invalid package "memcached-operator": invalid channel "stable": invalid bundle "memcached-operator.v0.3.0": invalid skipRange "banana": Could not get version from string: "banana"`},
		{"skipRange covering its own version", func(s string) string { return strings.Replace(s, "'>=0.1.0 <0.3.0'", "'>=0.1.0 <=0.3.0'", 1) },
			`error: channel stable entry memcached-operator.v0.3.0: skipRange ">=0.1.0 <=0.3.0" covers [memcached-operator.v0.3.0 (0.3.0)]`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			out := filepath.Join(dir, "catalog")
			if _, stderr, err := renderCatalog(repoTemplate, out); err != nil {
				t.Fatalf("the repository's template: %v\n%s", err, stderr)
			}
			before, _ := atomicdir.Read(out)

			template := filepath.Join(dir, "template.yaml")
			if err := os.WriteFile(template, []byte(tc.template(string(good))), 0o644); err != nil {
				t.Fatal(err)
			}
			stdout, stderr, err := renderCatalog(template, out)
			if !errors.Is(err, errReported) || stdout != "" {
				t.Fatalf("err = %v, stdout %q: want the problems reported on stderr only", err, stdout)
			}
			lines := strings.Split(strings.TrimSuffix(stderr, "\n"), "\n")
			if last := lines[len(lines)-1]; last != "error: "+out+" was left as it was" {
				t.Errorf("last line %q does not say the catalog was left as it was", last)
			}
			found := false
			for _, l := range lines[:len(lines)-1] {
				found = found || strings.Contains(l, tc.want)
				if !strings.Contains(l, filepath.Base(template)) && !strings.Contains(l, "bundle ") {
					t.Errorf("line %q names neither the template nor the bundle", l)
				}
			}
			if !found {
				t.Errorf("got:\n  %s\nwant one containing: %s", strings.Join(lines, "\n  "), tc.want)
			}
			after, _ := atomicdir.Read(out)
			for name, b := range before {
				if !bytes.Equal(after[name], b) {
					t.Errorf("%s changed although rendering failed", name)
				}
			}
		})
	}
}

// `catalog analyze` of the rendering with manifests (make catalog's local
// one) prints the analysis the catalog's README embeds, and JSON that reads
// back into the same report. Of the published catalog/ (olm.csv.metadata
// only) it prints the same plus one line saying the CRDs were not checked.
func TestCatalogAnalyze(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoCatalog, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, embedded, ok := strings.Cut(string(readme), "## Upgrade analysis\n\n```\n")
	if !ok {
		t.Fatal("catalog/README.md has no upgrade analysis")
	}
	embedded, _, ok = strings.Cut(embedded, "```\n\n## What OperatorHub shows")
	if !ok {
		t.Fatal("catalog/README.md has no OperatorHub listing after the analysis")
	}
	local := filepath.Join(t.TempDir(), "catalog")
	var o, e bytes.Buffer
	if err := run([]string{"catalog", "render", "--template", repoTemplate, "--releases", repoReleases, "--bundle=", "--output", local, "--local"}, nil, &o, &e); err != nil {
		t.Fatalf("%v\n%s", err, e.String())
	}

	var text, published, js, stderr bytes.Buffer
	if err := run([]string{"catalog", "analyze", local}, nil, &text, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if text.String() != embedded {
		t.Errorf("catalog analyze prints\n%s\nthe README embeds\n%s", text.String(), embedded)
	}
	if err := run([]string{"catalog", "analyze", repoCatalog}, nil, &published, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	note := "  info: CRD safety: not checked for 6 of 6 bundles: no manifests in the catalog (olm.csv.metadata only); analyse a rendering with olm.bundle.object to check them\n"
	if got := published.String(); !strings.Contains(got, note) || strings.Replace(got, note, "", 1) != embedded {
		t.Errorf("catalog analyze %s prints\n%s\nwant the README's analysis plus\n%s", repoCatalog, got, note)
	}
	if err := run([]string{"catalog", "analyze", "-o", "json", local}, nil, &js, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var report catalog.CatalogReport
	if err := json.Unmarshal(js.Bytes(), &report); err != nil {
		t.Fatal(err)
	}
	if report.Text() != embedded {
		t.Errorf("the JSON report reads back as\n%s", report.Text())
	}
	err = run([]string{"catalog", "analyze", "-o", "yaml", repoCatalog}, nil, &js, &stderr)
	if err == nil || err.Error() != "-o yaml: want text or json" {
		t.Errorf("-o yaml: err = %v", err)
	}
}

// catalog show prints what catalog/README.md shows OperatorHub listing;
// -o json is the same listing; an unknown package names the ones there are.
func TestCatalogShow(t *testing.T) {
	readme, err := os.ReadFile(filepath.Join(repoCatalog, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, embedded, ok := strings.Cut(string(readme), "## What OperatorHub shows\n")
	if !ok {
		t.Fatal("catalog/README.md has no OperatorHub listing")
	}
	var text, js, stderr bytes.Buffer
	if err := run([]string{"catalog", "show", repoCatalog}, nil, &text, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	if !strings.Contains(embedded, "````\n"+text.String()+"````\n") {
		t.Errorf("catalog show prints\n%s\nthe README embeds\n%s", text.String(), embedded)
	}
	// The project README shows the listing up to the description.
	top, err := os.ReadFile(filepath.Join(repoCatalog, "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, block, _ := strings.Cut(string(top), "## OperatorHub\n")
	_, block, _ = strings.Cut(block, "```text\n")
	block, _, _ = strings.Cut(block, "```\n")
	if want, _, _ := strings.Cut(text.String(), "  description:\n"); block != want {
		t.Errorf("README.md's OperatorHub listing is stale: replace it with the top of `bin/sdk catalog show catalog` (up to the description)\n%s\ncatalog show prints\n%s", block, want)
	}
	if err := run([]string{"catalog", "show", "-o", "json", "--package", "memcached-operator", repoCatalog}, nil, &js, &stderr); err != nil {
		t.Fatalf("%v\n%s", err, stderr.String())
	}
	var listings []catalog.Listing
	if err := json.Unmarshal(js.Bytes(), &listings); err != nil {
		t.Fatal(err)
	}
	if len(listings) != 1 || listings[0].Text() != text.String() {
		t.Errorf("the JSON listing reads back as\n%+v", listings)
	}
	err = run([]string{"catalog", "show", "--package", "nope", repoCatalog}, nil, &js, &stderr)
	if want := repoCatalog + `: no package "nope"; the catalog has memcached-operator`; err == nil || err.Error() != want {
		t.Errorf("--package nope: err = %v, want %s", err, want)
	}
}

// A catalog of several packages: each is analysed on its own (one with a
// replaces cycle, which opm reports only as stranded bundles, says so with
// its entries, and opm's words), a summary names who has errors and
// policy findings; --package selects one; an unknown one names those there are.
func TestCatalogAnalyzeManyPackages(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "catalog")
	bundle := func(pkg, v string) declcfg.Bundle {
		return declcfg.Bundle{Schema: declcfg.SchemaBundle, Name: pkg + ".v" + v, Package: pkg, Image: "example.com/" + pkg + "-bundle:v" + v,
			Properties: []property.Property{property.MustBuildPackage(pkg, v)}}
	}
	fbc := declcfg.DeclarativeConfig{
		Packages: []declcfg.Package{
			{Schema: declcfg.SchemaPackage, Name: "good", DefaultChannel: "c"},
			{Schema: declcfg.SchemaPackage, Name: "cyclic", DefaultChannel: "c"},
			{Schema: declcfg.SchemaPackage, Name: "respin", DefaultChannel: "c"},
		},
		Channels: []declcfg.Channel{
			{Schema: declcfg.SchemaChannel, Name: "c", Package: "good", Entries: []declcfg.ChannelEntry{{Name: "good.v1.0.0"}, {Name: "good.v1.1.0", Replaces: "good.v1.0.0"}}},
			{Schema: declcfg.SchemaChannel, Name: "c", Package: "cyclic", Entries: []declcfg.ChannelEntry{
				{Name: "cyclic.v1.0.0"}, {Name: "cyclic.v1.1.0", Replaces: "cyclic.v1.2.0"}, {Name: "cyclic.v1.2.0", Replaces: "cyclic.v1.1.0"}}},
			{Schema: declcfg.SchemaChannel, Name: "c", Package: "respin", Entries: []declcfg.ChannelEntry{{Name: "respin.v1.0.0"}, {Name: "respin.v1.0.0-1", Replaces: "respin.v1.0.0"}}},
		},
		Bundles: []declcfg.Bundle{bundle("good", "1.0.0"), bundle("good", "1.1.0"), bundle("cyclic", "1.0.0"), bundle("cyclic", "1.1.0"), bundle("cyclic", "1.2.0"),
			bundle("respin", "1.0.0"), bundle("respin", "1.0.0-1")},
	}
	writeFBC(t, dir, fbc)
	var out, stderr bytes.Buffer
	err := run([]string{"catalog", "analyze", dir}, nil, &out, &stderr)
	if err == nil || err.Error() != dir+": 2 errors in the upgrade graph" {
		t.Errorf("err = %v, want 2 errors", err)
	}
	for _, want := range []string{
		"package cyclic (default channel c)\n",
		"package good (default channel c)\n",
		"package respin (default channel c)\n",
		"  error: channel c entry cyclic.v1.1.0: is on a replaces cycle cyclic.v1.1.0 -> cyclic.v1.2.0 -> cyclic.v1.1.0: OLM can never upgrade cyclic.v1.1.0, cyclic.v1.2.0 out of it; make each entry replace an older one\n",
		"  error: opm validate: invalid package \"cyclic\": invalid channel \"c\": channel contains one or more stranded bundles: cyclic.v1.1.0, cyclic.v1.2.0\n",
		"\nsummary: 3 packages, 1 with errors, 0 with warnings, 1 with policy findings only, 1 clean\n  errors: cyclic (2)\n  policy: respin (1)\n",
	} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("catalog analyze lacks\n%s\nin\n%s", want, out.String())
		}
	}
	if strings.Index(out.String(), "package cyclic") > strings.Index(out.String(), "package good") {
		t.Errorf("packages not in name order:\n%s", out.String())
	}

	out.Reset()
	if err := run([]string{"catalog", "analyze", "--package", "good", "-o", "json", dir}, nil, &out, &stderr); err != nil {
		t.Fatalf("--package good: %v", err)
	}
	var report catalog.CatalogReport
	if err := json.Unmarshal(out.Bytes(), &report); err != nil || len(report.Packages) != 1 || report.Packages[0].Package != "good" || report.Packages[0].Channels[0].Head != "good.v1.1.0" {
		t.Errorf("--package good -o json: %v\n%s", err, out.String())
	}
	err = run([]string{"catalog", "analyze", "--package", "nope", dir}, nil, &out, &stderr)
	if want := dir + `: no package "nope" in the catalog; it has cyclic, good, respin`; err == nil || err.Error() != want {
		t.Errorf("--package nope: %v, want %s", err, want)
	}
}

// catalog diff: our catalog against itself has no regressions; without its
// fast channel, the removal is a regression and the exit is an error that
// names it.
func TestCatalogDiff(t *testing.T) {
	var out, stderr bytes.Buffer
	if err := run([]string{"catalog", "diff", repoCatalog, repoCatalog}, nil, &out, &stderr); err != nil || !strings.HasSuffix(out.String(), "\nno regressions\n") {
		t.Fatalf("diff of a catalog with itself: %v\n%s", err, out.String())
	}
	cfg, err := catalog.Load(context.Background(), repoCatalog)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Channels = slices.DeleteFunc(cfg.Channels, func(c declcfg.Channel) bool { return c.Name == "fast" })
	dir := filepath.Join(t.TempDir(), "catalog")
	writeFBC(t, dir, *cfg)
	out.Reset()
	err = run([]string{"catalog", "diff", repoCatalog, dir}, nil, &out, &stderr)
	want := repoCatalog + " -> " + dir + ": 1 user-visible regressions:\n  memcached-operator: channel fast was removed: its subscribers find no upgrade"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	if !strings.Contains(out.String(), "  channel fast: removed (head was memcached-operator.v0.3.2)\n") {
		t.Errorf("printed:\n%s", out.String())
	}
}

// Severities decide the exit: a policy finding only (a respin 1.0.0-1 that
// replaces 1.0.0, which semver orders lower, as shipping catalogs do) is
// printed and exits 0 with a note; a warning (the channel's head deprecated)
// exits 2, not 1; --strict makes either an error. An unknown -o is refused
// before anything is loaded.
func TestCatalogAnalyzeSeverities(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "catalog")
	bundle := func(v string) declcfg.Bundle {
		return declcfg.Bundle{Schema: declcfg.SchemaBundle, Name: "p.v" + v, Package: "p", Image: "example.com/p-bundle:v" + v,
			Properties: []property.Property{property.MustBuildPackage("p", v)}}
	}
	fbc := declcfg.DeclarativeConfig{
		Packages: []declcfg.Package{{Schema: declcfg.SchemaPackage, Name: "p", DefaultChannel: "c"}},
		Channels: []declcfg.Channel{{Schema: declcfg.SchemaChannel, Name: "c", Package: "p",
			Entries: []declcfg.ChannelEntry{{Name: "p.v1.0.0"}, {Name: "p.v1.0.0-1", Replaces: "p.v1.0.0"}}}},
		Bundles: []declcfg.Bundle{bundle("1.0.0"), bundle("1.0.0-1")},
	}
	writeFBC(t, dir, fbc)
	var out, stderr bytes.Buffer
	if err := run([]string{"catalog", "analyze", dir}, nil, &out, &stderr); err != nil {
		t.Fatalf("catalog analyze with a policy finding only: %v, want exit 0", err)
	}
	want := "policy: channel c entry p.v1.0.0-1: replaces p.v1.0.0 (1.0.0), which is not older than 1.0.0-1: an upgrade edge should go to a higher version"
	if note := "note: " + dir + ": 1 policy findings, patterns OLM handles (--strict makes them errors)\n"; !strings.Contains(out.String(), want) || stderr.String() != note {
		t.Errorf("printed\n%s\nand on stderr\n%s\nwant the finding\n%s\nand\n%s", out.String(), stderr.String(), want, note)
	}
	out.Reset()
	err := run([]string{"catalog", "analyze", "--strict", dir}, nil, &out, &stderr)
	var ee *exitError
	if err == nil || errors.As(err, &ee) || !strings.Contains(out.String(), "error: channel c entry p.v1.0.0-1") {
		t.Errorf("--strict: %v; printed\n%s", err, out.String())
	}

	fbc.Deprecations = []declcfg.Deprecation{{Schema: declcfg.SchemaDeprecation, Package: "p",
		Entries: []declcfg.DeprecationEntry{{Reference: declcfg.PackageScopedReference{Schema: declcfg.SchemaBundle, Name: "p.v1.0.0-1"}, Message: "use 2.0"}}}}
	writeFBC(t, dir, fbc)
	out.Reset()
	err = run([]string{"catalog", "analyze", dir}, nil, &out, &stderr)
	if !errors.As(err, &ee) || ee.code != 2 || ee.prefix != "warning:" || err.Error() != dir+": 1 warnings in the upgrade graph (--strict makes them errors)" {
		t.Fatalf("catalog analyze with a deprecated head: %v (%T), want exit 2 with a warning", err, err)
	}
	if want := "warning: channel c entry p.v1.0.0-1: is the channel's head and deprecated"; !strings.Contains(out.String(), want) {
		t.Errorf("printed\n%s\nwant\n%s", out.String(), want)
	}
	err = run([]string{"catalog", "analyze", "-o", "yaml", filepath.Join(dir, "no-such-dir")}, nil, &out, &stderr)
	if err == nil || err.Error() != "-o yaml: want text or json" {
		t.Errorf("-o yaml on a missing directory: %v, want the flag refused first", err)
	}
}

// writeFBC writes cfg as dir/catalog.yaml.
func writeFBC(t *testing.T, dir string, cfg declcfg.DeclarativeConfig) {
	t.Helper()
	var b bytes.Buffer
	if err := declcfg.WriteYAML(cfg, &b); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "catalog.yaml"), b.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// Nothing to analyse is an error, not an empty report: catalog show -o json
// printed null and analyze exited 0 on an empty directory.
func TestCatalogCommandsRefuseEmptyDirectories(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{{"show", "-o", "json", dir}, {"analyze", dir}, {"diff", dir, dir}} {
		var out, stderr bytes.Buffer
		err := run(append([]string{"catalog"}, args...), nil, &out, &stderr)
		if !errors.Is(err, catalog.ErrNoObjects) || out.Len() > 0 {
			t.Errorf("catalog %v: %v, printed %q; want %v and nothing printed", args, err, out.String(), catalog.ErrNoObjects)
		}
	}
}

// catalog analyze summarises channel switches per pair of channels by
// default; --switches full lists every bundle, in text and JSON.
func TestCatalogAnalyzeSwitches(t *testing.T) {
	line := "  memcached-operator.v0.1.0: candidate -> fast lands on memcached-operator.v0.2.1\n"
	summary := "  candidate -> fast: 5 of 6 upgrade; already the head of fast: [memcached-operator.v0.3.2]\n"
	var out, stderr bytes.Buffer
	if err := run([]string{"catalog", "analyze", repoCatalog}, nil, &out, &stderr); err != nil || !strings.Contains(out.String(), summary) || strings.Contains(out.String(), line) {
		t.Errorf("default: %v; want the summary line\n%s\nand no matrix in\n%s", err, summary, out.String())
	}
	out.Reset()
	if err := run([]string{"catalog", "analyze", "--switches", "full", repoCatalog}, nil, &out, &stderr); err != nil || !strings.Contains(out.String(), line) {
		t.Errorf("--switches full: %v; want\n%s\nin\n%s", err, line, out.String())
	}
	out.Reset()
	if err := run([]string{"catalog", "analyze", "--switches", "full", "-o", "json", repoCatalog}, nil, &out, &stderr); err != nil {
		t.Fatal(err)
	}
	var report catalog.CatalogReport
	if err := json.Unmarshal(out.Bytes(), &report); err != nil || len(report.Packages[0].Switches) != 34 || report.Packages[0].SwitchSummary != nil {
		t.Errorf("--switches full -o json: %v; want 34 switches and no summary", err)
	}
	if err := run([]string{"catalog", "analyze", "--switches", "some", repoCatalog}, nil, &out, &stderr); err == nil || err.Error() != "--switches some: want summary or full" {
		t.Errorf("--switches some: %v", err)
	}
}
