package catalog

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/example-inc/memcached-operator/internal/bundle"
	"github.com/example-inc/memcached-operator/internal/bundle/image/imagetest"
)

// pushReleases pushes the released bundles of the given versions to a
// registry as bundle images and returns their tag and digest references.
func pushReleases(t *testing.T, versions ...string) (tags, digests []string) {
	t.Helper()
	srv := imagetest.StartRegistry(t, false)
	labels := (bundle.Metadata{Package: "memcached-operator", Channels: []string{"stable"}, DefaultChannel: "stable"}).Annotations()
	for _, v := range versions {
		dir := filepath.Join(repo.Releases, "memcached-operator.v"+v)
		tag, digest := imagetest.Push(t, srv, "memcached-operator-bundle:v"+v, dir, labels)
		tags, digests = append(tags, tag), append(digests, digest)
	}
	return tags, digests
}

// writeTemplate writes a template file and returns its path.
func writeTemplate(t *testing.T, content string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "template.yaml")
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

// A semver template, its bundles named by tag and by digest in a registry
// (none of them released here), renders with --pull as opm renders it:
// the channels the template generates, each bundle with the image it was
// named by, and in Local mode the same catalog without images. Without
// Pull, nothing is pulled and the error says how.
func TestRenderSemverTemplatePullingImages(t *testing.T) {
	tags, digests := pushReleases(t, "0.3.0", "0.3.1", "0.3.2")
	template := fmt.Sprintf("schema: olm.semver\ngenerateMajorChannels: false\ngenerateMinorChannels: true\ncandidate:\n  bundles:\n  - image: %s\n  - image: %s\nstable:\n  bundles:\n  - image: %s\n", tags[0], digests[1], digests[2])
	src := Source{Template: writeTemplate(t, template), Releases: t.TempDir(), Pull: true, Insecure: true}
	cfg, err := Render(context.Background(), src, Publish)
	if err != nil {
		t.Fatal(err)
	}
	var channels []string
	for _, c := range cfg.Channels {
		channels = append(channels, fmt.Sprintf("%s: %d entries", c.Name, len(c.Entries)))
	}
	slices.Sort(channels)
	if want := []string{"candidate-v0.3: 2 entries", "stable-v0.3: 1 entries"}; !slices.Equal(channels, want) {
		t.Errorf("channels %v, want %v", channels, want)
	}
	images := map[string]string{}
	for _, b := range cfg.Bundles {
		images[b.Name] = b.Image
	}
	if images["memcached-operator.v0.3.0"] != tags[0] || images["memcached-operator.v0.3.1"] != digests[1] || images["memcached-operator.v0.3.2"] != digests[2] {
		t.Errorf("bundle images %v, want each as the template names it", images)
	}
	if err := Validate(context.Background(), cfg); err != nil {
		t.Error(err)
	}
	local, err := Render(context.Background(), src, Local)
	if err != nil {
		t.Fatal(err)
	}
	for i := range local.Bundles {
		if local.Bundles[i].Image != "" {
			t.Errorf("Local: bundle %s has image %s", local.Bundles[i].Name, local.Bundles[i].Image)
		}
		local.Bundles[i].Image = cfg.Bundles[i].Image
	}
	if !reflect.DeepEqual(local, cfg) {
		t.Error("Local renders another catalog than Publish but for the images")
	}

	src.Pull = false
	_, err = Render(context.Background(), src, Publish)
	if err == nil || !strings.Contains(err.Error(), "(or render with --pull to pull every bundle from its registry)") {
		t.Errorf("without Pull: %v, want the reference refused with the hint", err)
	}
}

// A basic template may name a bundle by digest, pulled with Pull.
func TestRenderBasicTemplateByDigest(t *testing.T) {
	_, digests := pushReleases(t, "0.3.2")
	template := "schema: olm.template.basic\nentries:\n- {schema: olm.package, name: memcached-operator, defaultChannel: stable}\n" +
		"- {schema: olm.channel, package: memcached-operator, name: stable, entries: [{name: memcached-operator.v0.3.2}]}\n" +
		"- {schema: olm.bundle, image: '" + digests[0] + "'}\n"
	cfg, err := Render(context.Background(), Source{Template: writeTemplate(t, template), Pull: true, Insecure: true}, Publish)
	if err != nil {
		t.Fatal(err)
	}
	if len(cfg.Bundles) != 1 || cfg.Bundles[0].Image != digests[0] || cfg.Bundles[0].Name != "memcached-operator.v0.3.2" {
		t.Errorf("bundles %+v", cfg.Bundles)
	}
}
