//go:build olmnode

package olmnode

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// packageManifests is OLM's package server API, served through the API
// server's aggregation layer.
var packageManifests = schema.GroupVersionKind{Group: "packages.operators.coreos.com", Version: "v1", Kind: "PackageManifestList"}

// TestPackageServerListsTheCatalog: OLM's package server runs in the cluster
// (make olm-up OLM_LANE=in-cluster), registered as an APIService, and lists
// the package of our catalog image's CatalogSource as OperatorHub shows it:
// the default channel and every channel with the head the catalog analysis
// predicts, and, field by field, what `sdk catalog show` prints offline
// from catalog/ (the README's listing).
func TestPackageServerListsTheCatalog(t *testing.T) {
	ctx, e := setup(t)
	cs := e.lane.ServeCatalog(ctx, t, e.ns)
	dir := framework.Env(t, "CATALOG_DIR", "test-olm-node")
	pm := e.packageManifest(ctx, t, cs)

	report := framework.AnalyzeCatalog(t, dir)
	want := map[string]string{}
	for _, ch := range report.Channels {
		want[ch.Name] = ch.Head
	}
	defaultChannel, _, _ := unstructured.NestedString(pm.Object, "status", "defaultChannel")
	if defaultChannel != report.DefaultChannel {
		t.Errorf("PackageManifest default channel %q, the catalog's %q", defaultChannel, report.DefaultChannel)
	}
	channels, _, _ := unstructured.NestedSlice(pm.Object, "status", "channels")
	got := map[string]string{}
	for _, c := range channels {
		ch, _ := c.(map[string]any)
		name, _ := ch["name"].(string)
		head, _ := ch["currentCSV"].(string)
		got[name] = head
	}
	for name, head := range want {
		if got[name] != head {
			t.Errorf("channel %s: PackageManifest's head %q, the analysis' %q", name, got[name], head)
		}
	}
	if len(got) != len(want) {
		t.Errorf("PackageManifest lists channels %v, the catalog %v", slices.Sorted(maps.Keys(got)), slices.Sorted(maps.Keys(want)))
	}

	source := map[string]string{"catalogSource": cs, "catalogSourceNamespace": e.ns, "catalogSourceDisplayName": e.pkg + " (catalog image)", "catalogSourcePublisher": "example-inc"}
	status, _, _ := unstructured.NestedMap(pm.Object, "status")
	for field, want := range source {
		if status[field] != want {
			t.Errorf("PackageManifest status.%s %v, want %q", field, status[field], want)
		}
		delete(status, field)
	}
	listing := e.offlineListing(t, dir)
	e.checkIcon(ctx, t, listing)
	offline := withoutIcons(t, listing)
	for _, d := range jsonDiff("status", offline, normalizeImages(status)) {
		t.Errorf("PackageManifest %s differs from `sdk catalog show %s`: %s", e.pkg, dir, d)
	}
	t.Logf("PackageManifest %s/%s: default channel %s, channels %v; equal to the offline listing in %d fields", e.ns, pm.GetName(), defaultChannel, got, countLeaves(offline))
}

// listTimeout bounds how long the package server takes to list, or drop,
// a CatalogSource's package after its connection changes.
const listTimeout = 3 * time.Minute

// packageManifest waits until the package server lists the package from
// the CatalogSource source in the test's namespace, and returns it.
func (e *env) packageManifest(ctx context.Context, t *testing.T, source string) *unstructured.Unstructured {
	t.Helper()
	return e.waitListed(ctx, t, source, true)
}

// waitListed waits until the package server lists the package from the
// CatalogSource source (listed) or no longer does; listed, it returns the
// PackageManifest.
func (e *env) waitListed(ctx context.Context, t *testing.T, source string, listed bool) *unstructured.Unstructured {
	t.Helper()
	var pm *unstructured.Unstructured
	what := fmt.Sprintf("PackageManifest %s/%s from CatalogSource %s listed=%t", e.ns, e.pkg, source, listed)
	err := wait.For(ctx, wait.Options{What: what, Timeout: listTimeout}, func(ctx context.Context) (bool, string, error) {
		list := &unstructured.UnstructuredList{}
		list.SetGroupVersionKind(packageManifests)
		if err := e.k8s.List(ctx, list, client.InNamespace(e.ns)); err != nil {
			return false, err.Error(), nil
		}
		pm = nil
		var names []string
		for i := range list.Items {
			item := &list.Items[i]
			s, _, _ := unstructured.NestedString(item.Object, "status", "catalogSource")
			names = append(names, item.GetName()+" from "+s)
			if item.GetName() == e.pkg && s == source {
				pm = item
			}
		}
		return (pm != nil) == listed, "listed: " + strings.Join(names, ", "), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return pm
}

// offlineListing is `sdk catalog show`'s listing of the package.
func (e *env) offlineListing(t *testing.T, dir string) catalog.Listing {
	t.Helper()
	cfg, err := catalog.Load(context.Background(), dir)
	if err != nil {
		t.Fatal(err)
	}
	listings, omitted, err := catalog.Show(cfg)
	if err != nil || len(omitted) > 0 {
		t.Fatalf("%v %v", err, omitted)
	}
	i := slices.IndexFunc(listings, func(l catalog.Listing) bool { return l.PackageName == e.pkg })
	if i < 0 {
		t.Fatalf("%s: no package %s", dir, e.pkg)
	}
	return listings[i]
}

// withoutIcons is the listing as a generic JSON value without its icons:
// the package server leaves them out of the PackageManifest and serves the
// default channel's at packagemanifests/<name>/icon.
func withoutIcons(t *testing.T, l catalog.Listing) any {
	t.Helper()
	for i := range l.Channels {
		l.Channels[i].CurrentCSVDesc.Icon = nil
	}
	b, err := json.Marshal(l)
	if err != nil {
		t.Fatal(err)
	}
	var v any
	if err := json.Unmarshal(b, &v); err != nil {
		t.Fatal(err)
	}
	return v
}

// checkIcon: the icon an OperatorHub tile shows (the package server's icon
// subresource) is the listing's, not OLM's default picture.
func (e *env) checkIcon(ctx context.Context, t *testing.T, l catalog.Listing) {
	t.Helper()
	i := slices.IndexFunc(l.Channels, func(c catalog.ListedChannel) bool { return c.Name == l.DefaultChannel })
	if i < 0 || len(l.Channels[i].CurrentCSVDesc.Icon) == 0 {
		t.Fatalf("the offline listing has no icon for the default channel %s: OperatorHub would show OLM's default picture", l.DefaultChannel)
	}
	want := l.Channels[i].CurrentCSVDesc.Icon[0]
	data, err := base64.StdEncoding.DecodeString(want.Base64Data)
	if err != nil {
		t.Fatal(err)
	}
	cs, err := kubeclient.NewClientset()
	if err != nil {
		t.Fatal(err)
	}
	path := fmt.Sprintf("/apis/%s/%s/namespaces/%s/packagemanifests/%s/icon", packageManifests.Group, packageManifests.Version, e.ns, e.pkg)
	var contentType string
	got, err := cs.CoreV1().RESTClient().Get().AbsPath(path).Do(ctx).ContentType(&contentType).Raw()
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	if !bytes.Equal(got, data) || contentType != want.Mediatype {
		t.Errorf("GET %s: %d bytes of %s, want the catalog's icon: %d bytes of %s", path, len(got), contentType, len(data), want.Mediatype)
	}
}

// normalizeImages sorts each channel's relatedImages: the package server
// lists that set in map order.
func normalizeImages(status map[string]any) map[string]any {
	channels, _ := status["channels"].([]any)
	for _, c := range channels {
		desc, _ := c.(map[string]any)["currentCSVDesc"].(map[string]any)
		if images, ok := desc["relatedImages"].([]any); ok {
			slices.SortFunc(images, func(a, b any) int { return strings.Compare(fmt.Sprint(a), fmt.Sprint(b)) })
		}
	}
	return status
}

// jsonDiff lists, by path, where two JSON values differ.
func jsonDiff(path string, want, got any) []string {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %v", path, short(got))}
		}
		var out []string
		for _, k := range slices.Sorted(maps.Keys(w)) {
			out = append(out, jsonDiff(path+"."+k, w[k], g[k])...)
		}
		for _, k := range slices.Sorted(maps.Keys(g)) {
			if _, ok := w[k]; !ok {
				out = append(out, fmt.Sprintf("%s.%s: not in the offline listing, served %v", path, k, short(g[k])))
			}
		}
		return out
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return []string{fmt.Sprintf("%s: want %d items %v, got %v", path, len(w), short(w), short(got))}
		}
		var out []string
		for i := range w {
			out = append(out, jsonDiff(fmt.Sprintf("%s[%d]", path, i), w[i], g[i])...)
		}
		return out
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) || (want == nil) != (got == nil) {
			return []string{fmt.Sprintf("%s: offline %v, served %v", path, short(want), short(got))}
		}
		return nil
	}
}

// countLeaves counts the scalar fields of a JSON value.
func countLeaves(v any) int {
	switch v := v.(type) {
	case map[string]any:
		n := 0
		for _, x := range v {
			n += countLeaves(x)
		}
		return n
	case []any:
		n := 0
		for _, x := range v {
			n += countLeaves(x)
		}
		return n
	default:
		return 1
	}
}

func short(v any) string {
	b, _ := json.Marshal(v)
	if len(b) > 120 {
		return string(b[:120]) + "..."
	}
	return string(b)
}
