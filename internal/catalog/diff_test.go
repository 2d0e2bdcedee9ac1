package catalog

import (
	"context"
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
    path from p.v1.0.0: p.v1.1.0 -> now p.v1.2.0
    path from p.v1.1.0: (the head) -> now p.v1.2.0
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
	wantRegs := []string{
		"p: channel beta was removed: its subscribers find no upgrade",
		"p: channel stable: the path from p.v1.0.0 grew from 1 to 2 upgrades (p.v1.0.5 -> p.v1.2.0); add a skip or skipRange",
		"p: channel stable: p.v1.1.0 was removed and nothing in the channel replaces, skips or skipRange-covers it: its users are stranded",
		"q: the package was removed: its subscribers find no upgrade and new installs fail",
	}
	if got := d.Regressions(); !slices.Equal(got, wantRegs) {
		t.Errorf("regressions:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(wantRegs, "\n"))
	}
	if !strings.HasSuffix(d.Text(), "\n4 regressions\n") {
		t.Errorf("text:\n%s", d.Text())
	}
}
