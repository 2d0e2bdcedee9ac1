//go:build containers_image_openpgp

// This test needs operator-registry's alpha/action and containers/image,
// which build without cgo only with the containers_image_openpgp tag (the
// Makefile sets it).

package catalog

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/alpha/template"

	"github.com/example-inc/memcached-operator/internal/bundle/image/imagetest"
)

// Our rendering of a semver and a basic template whose bundles are images
// in a registry equals what `opm alpha render-template` renders (its
// template registry, each bundle rendered by action.Render from the
// registry), but for the package icon we add from the default head's CSV
// where opm's basic template leaves none.
func TestRenderTemplateMatchesOpm(t *testing.T) {
	tags, digests := pushReleases(t, "0.3.0", "0.3.1", "0.3.2")
	// Each bundle named once: opm renders a bundle named twice twice, in
	// no fixed order.
	templates := map[string]string{
		"semver": fmt.Sprintf("schema: olm.semver\ngenerateMajorChannels: true\ngenerateMinorChannels: true\ncandidate:\n  bundles:\n  - image: %s\nfast:\n  bundles:\n  - image: %s\nstable:\n  bundles:\n  - image: %s\n", tags[0], digests[1], digests[2]),
		"basic": "schema: olm.template.basic\nentries:\n- {schema: olm.package, name: memcached-operator, defaultChannel: stable}\n" +
			"- {schema: olm.channel, package: memcached-operator, name: stable, entries: [{name: memcached-operator.v0.3.1}, {name: memcached-operator.v0.3.2, replaces: memcached-operator.v0.3.1}]}\n" +
			"- {schema: olm.bundle, image: '" + tags[1] + "'}\n- {schema: olm.bundle, image: '" + digests[2] + "'}\n",
	}
	ctx := context.Background()
	opmBundle := imagetest.OpmBundleRenderer(t)
	for kind, content := range templates {
		t.Run(kind, func(t *testing.T) {
			tmpl, r, err := template.NewRegistry().CreateTemplateBySchema(bytes.NewReader([]byte(content)), opmBundle)
			if err != nil {
				t.Fatal(err)
			}
			want, err := tmpl.Render(ctx, r)
			if err != nil {
				t.Fatalf("opm's rendering: %v", err)
			}
			got, err := Render(ctx, Source{Template: writeTemplate(t, content), Pull: true, Insecure: true}, Publish)
			if err != nil {
				t.Fatal(err)
			}
			// The one difference: the icon we give a package opm leaves
			// without one (the semver template sets it itself).
			for i := range got.Packages {
				if i < len(want.Packages) && want.Packages[i].Icon == nil {
					got.Packages[i].Icon = nil
				}
			}
			var g, w bytes.Buffer
			if err := declcfg.WriteYAML(*got, &g); err != nil {
				t.Fatal(err)
			}
			if err := declcfg.WriteYAML(*want, &w); err != nil {
				t.Fatal(err)
			}
			if g.String() != w.String() {
				t.Errorf("%s template: ours differs from opm's (%d vs %d bytes)", kind, g.Len(), w.Len())
			}
		})
	}
}
