package catalog

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
)

// fbc loads a catalog of the given bundle versions and
// channel documents, and loads it.
func fbc(t *testing.T, pkgs string, versions []string, channels string) *declcfg.DeclarativeConfig {
	t.Helper()
	var b strings.Builder
	for _, pkg := range strings.Split(pkgs, ",") {
		b.WriteString("---\nschema: olm.package\nname: " + pkg + "\ndefaultChannel: stable\n")
		for _, v := range versions {
			b.WriteString("---\nschema: olm.bundle\npackage: " + pkg + "\nname: " + pkg + ".v" + v + "\nimage: example.com/" + pkg + ":v" + v +
				"\nproperties:\n- {type: olm.package, value: {packageName: " + pkg + ", version: " + v + "}}\n")
		}
	}
	b.WriteString(channels)
	return loadYAML(t, b.String())
}

// catalog diff names what users meet: a release added (new head, new
// edges, the paths that change), a removed channel, a bundle removed with
// nothing upgrading from it, a path that got longer, a removed package;
// and says "no regressions" for a plain release.
func TestDiffCatalogs(t *testing.T) {
	versions := []string{"1.0.0", "1.1.0", "1.2.0"}
	before := fbc(t, "p,q", versions, `---
schema: olm.channel
package: p
name: stable
entries:
- {name: p.v1.0.0}
- {name: p.v1.1.0, replaces: p.v1.0.0}
---
schema: olm.channel
package: p
name: beta
entries:
- {name: p.v1.0.0}
---
schema: olm.channel
package: q
name: stable
entries:
- {name: q.v1.0.0}
`)
	release := fbc(t, "p,q", versions, `---
schema: olm.channel
package: p
name: stable
entries:
- {name: p.v1.0.0}
- {name: p.v1.1.0, replaces: p.v1.0.0}
- {name: p.v1.2.0, replaces: p.v1.1.0, skipRange: '<1.1.0'}
---
schema: olm.channel
package: p
name: beta
entries:
- {name: p.v1.0.0}
---
schema: olm.channel
package: q
name: stable
entries:
- {name: q.v1.0.0}
`)
	d, err := DiffCatalogs(context.Background(), before, release)
	if err != nil {
		t.Fatal(err)
	}
	want := `package p
  channel beta: head p.v1.0.0
    1 installed versions keep their path
  channel stable: head p.v1.1.0 -> p.v1.2.0
    entries added: p.v1.2.0
    edges added: p.v1.0.0 -> p.v1.2.0 (skipRange), p.v1.1.0 -> p.v1.2.0 (replaces)
    1 paths go on to the new head p.v1.2.0, one more upgrade (from [p.v1.1.0])
    path from p.v1.0.0: p.v1.1.0 -> now p.v1.2.0
    0 installed versions keep their path
package q
  channel stable: head q.v1.0.0
    1 installed versions keep their path

no regressions
`
	if got := d.Text(); got != want {
		t.Errorf("a release:\n%s\nwant:\n%s", got, want)
	}

	// Against the release: beta removed, 1.1.0 dropped with nothing
	// replacing it, a 1.0.5 put between 1.0.0 and 1.2.0, q removed.
	broken := fbc(t, "p", []string{"1.0.0", "1.0.5", "1.2.0"}, `---
schema: olm.channel
package: p
name: stable
entries:
- {name: p.v1.0.0}
- {name: p.v1.0.5, replaces: p.v1.0.0}
- {name: p.v1.2.0, replaces: p.v1.0.5}
`)
	d, err = DiffCatalogs(context.Background(), release, broken)
	if err != nil {
		t.Fatal(err)
	}
	// The path from 1.0.0 grew only by the added 1.0.5: allowed.
	wantRegs := []string{
		"p: channel beta was removed: its subscribers find no upgrade",
		"p: channel stable: p.v1.1.0 was removed and OLM finds no upgrade from it in the channel (no entry it considers replaces, skips or skipRange-covers it): its users are stranded",
		"q: the package was removed: its subscribers find no upgrade and new installs fail",
	}
	if got := d.Regressions(); !slices.Equal(got, wantRegs) {
		t.Errorf("regressions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRegs, "\n"))
	}
	if !strings.HasSuffix(d.Text(), "\n3 regressions\n") {
		t.Errorf("text:\n%s", d.Text())
	}
}

// The release gate's rules, each on the pattern that broke it: a removed
// bundle whose only successor is now skipped (OLM prunes it) strands its
// users; a path that grew only by bundles the change added (catalogs
// several releases apart) is no regression, one that grew through bundles
// it did not pass before is; a channel with two heads names both.
func TestDiffRules(t *testing.T) {
	channel := func(entries string) string {
		return "---\nschema: olm.channel\npackage: p\nname: stable\nentries:\n" + entries
	}
	for _, tc := range []struct {
		name            string
		vBefore, vAfter []string
		before, after   string
		want            []string
	}{
		{"the successor of a removed bundle is skipped", []string{"1.0.0", "1.1.0", "1.2.0"}, []string{"1.1.0", "1.2.0"},
			channel("- {name: p.v1.0.0}\n- {name: p.v1.1.0, replaces: p.v1.0.0}\n- {name: p.v1.2.0, replaces: p.v1.1.0}\n"),
			channel("- {name: p.v1.1.0, replaces: p.v1.0.0}\n- {name: p.v1.2.0, replaces: p.v1.1.0, skips: [p.v1.1.0]}\n"),
			[]string{"p: channel stable: p.v1.0.0 was removed and OLM finds no upgrade from it in the channel (no entry it considers replaces, skips or skipRange-covers it): its users are stranded"}},
		{"releases apart", []string{"1.0.0", "1.1.0"}, []string{"1.0.0", "1.1.0", "1.2.0", "1.3.0"},
			channel("- {name: p.v1.0.0}\n- {name: p.v1.1.0, replaces: p.v1.0.0}\n"),
			channel("- {name: p.v1.0.0}\n- {name: p.v1.1.0, replaces: p.v1.0.0}\n- {name: p.v1.2.0, replaces: p.v1.1.0}\n- {name: p.v1.3.0, replaces: p.v1.2.0}\n"),
			nil},
		{"a skipRange dropped", []string{"1.0.0", "1.1.0", "1.2.0"}, []string{"1.0.0", "1.1.0", "1.2.0"},
			channel("- {name: p.v1.0.0}\n- {name: p.v1.1.0, replaces: p.v1.0.0}\n- {name: p.v1.2.0, replaces: p.v1.1.0, skipRange: '<1.1.0'}\n"),
			channel("- {name: p.v1.0.0}\n- {name: p.v1.1.0, replaces: p.v1.0.0}\n- {name: p.v1.2.0, replaces: p.v1.1.0}\n"),
			[]string{"p: channel stable: the path from p.v1.0.0 grew from 1 to 2 upgrades (p.v1.1.0 -> p.v1.2.0), 1 more than the bundles this change added account for; add a skip or skipRange"}},
		{"two heads", []string{"1.0.0", "1.1.0"}, []string{"1.0.0", "1.1.0", "1.2.0"},
			channel("- {name: p.v1.0.0}\n- {name: p.v1.1.0, replaces: p.v1.0.0}\n"),
			channel("- {name: p.v1.0.0}\n- {name: p.v1.1.0, replaces: p.v1.0.0}\n- {name: p.v1.2.0}\n"),
			[]string{"p: channel stable: the channel now has 2 heads (p.v1.1.0, p.v1.2.0); OLM needs exactly one, so none of the 2 bundles that reached p.v1.1.0 reaches a head"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d, err := DiffCatalogs(context.Background(), fbc(t, "p", tc.vBefore, tc.before), fbc(t, "p", tc.vAfter, tc.after))
			if err != nil {
				t.Fatal(err)
			}
			if got := d.Regressions(); !slices.Equal(got, tc.want) {
				t.Errorf("regressions:\n%s\nwant:\n%s\n\n%s", strings.Join(got, "\n"), strings.Join(tc.want, "\n"), d.Text())
			}
		})
	}
}

// A release on a long channel changes every path: the text groups the
// paths that only go on to the new head on one line and lists at most a
// few others, so it grows with the channel, not with its square.
func TestDiffGroupsChangedPaths(t *testing.T) {
	const n = 60
	var versions []string
	var entries, skipped strings.Builder
	for i := range n + 1 {
		versions = append(versions, fmt.Sprintf("1.%d.0", i))
	}
	for i := range n {
		fmt.Fprintf(&entries, "- {name: p.v1.%d.0%s}\n", i, map[bool]string{true: "", false: fmt.Sprintf(", replaces: p.v1.%d.0", i-1)}[i == 0])
	}
	before := "---\nschema: olm.channel\npackage: p\nname: stable\nentries:\n" + entries.String()
	release := before + fmt.Sprintf("- {name: p.v1.%d.0, replaces: p.v1.%d.0}\n", n, n-1)
	// The same release with a skipRange: every path now jumps to the head.
	fmt.Fprintf(&skipped, "%s- {name: p.v1.%d.0, replaces: p.v1.%d.0, skipRange: '<1.%d.0'}\n", before, n, n-1, n)
	d, err := DiffCatalogs(context.Background(), fbc(t, "p", versions[:n], before), fbc(t, "p", versions, release))
	if err != nil {
		t.Fatal(err)
	}
	text := d.Text()
	if want := fmt.Sprintf("    %d paths go on to the new head p.v1.%d.0, one more upgrade (from %d versions [p.v1.0.0 p.v1.1.0 ... p.v1.9.0])\n", n, n, n); !strings.Contains(text, want) || strings.Contains(text, "path from") {
		t.Errorf("a release on a chain of %d:\n%s\nwant\n%s", n, text, want)
	}
	d, err = DiffCatalogs(context.Background(), fbc(t, "p", versions[:n], before), fbc(t, "p", versions, skipped.String()))
	if err != nil {
		t.Fatal(err)
	}
	text = d.Text()
	if got := strings.Count(text, "path from"); got != shownPaths || !strings.Contains(text, fmt.Sprintf("    ... and %d more changed paths (-o json lists every one)\n", n-1-shownPaths)) {
		t.Errorf("%d paths listed, want %d and a count of the rest:\n%s", got, shownPaths, text)
	}
	if len(d.Packages[0].Channels[0].Paths) != n {
		t.Errorf("%d changed paths in the diff, want all %d", len(d.Packages[0].Channels[0].Paths), n)
	}
}

// A channel only in an old catalog without its olm.package (invalid, but
// what a broken copy holds) is compared without a crash.
func TestDiffOfAPackageWithoutItsPackageObject(t *testing.T) {
	before := &declcfg.DeclarativeConfig{Channels: []declcfg.Channel{{Schema: declcfg.SchemaChannel, Package: "p", Name: "old", Entries: []declcfg.ChannelEntry{{Name: "p.v1.0.0"}}}}}
	after := fbc(t, "p", []string{"1.0.0"}, "---\nschema: olm.channel\npackage: p\nname: stable\nentries:\n- {name: p.v1.0.0}\n")
	if _, err := DiffCatalogs(context.Background(), before, after); err != nil {
		t.Fatal(err)
	}
}
