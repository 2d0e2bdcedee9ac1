//go:build olmnode

package olmnode

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

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
// predicts.
func TestPackageServerListsTheCatalog(t *testing.T) {
	ctx, e := setup(t)
	cs := e.catalogFromImage(ctx, t)
	report := analyzeCatalog(t, framework.Env(t, "CATALOG_DIR", "test-olm-node"))
	want := map[string]string{}
	for _, ch := range report.Channels {
		want[ch.Name] = ch.Head
	}

	var pm *unstructured.Unstructured
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("PackageManifest %s/%s from CatalogSource %s", e.ns, e.pkg, cs), Timeout: time.Minute},
		func(ctx context.Context) (bool, string, error) {
			list := &unstructured.UnstructuredList{}
			list.SetGroupVersionKind(packageManifests)
			if err := e.k8s.List(ctx, list, client.InNamespace(e.ns)); err != nil {
				return false, err.Error(), nil
			}
			var names []string
			for i := range list.Items {
				item := &list.Items[i]
				source, _, _ := unstructured.NestedString(item.Object, "status", "catalogSource")
				names = append(names, item.GetName()+" from "+source)
				if item.GetName() == e.pkg && source == cs {
					pm = item
				}
			}
			return pm != nil, "listed: " + strings.Join(names, ", "), nil
		})
	if err != nil {
		t.Fatal(err)
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
	t.Logf("PackageManifest %s/%s: default channel %s, channels %v", e.ns, pm.GetName(), defaultChannel, got)
}
