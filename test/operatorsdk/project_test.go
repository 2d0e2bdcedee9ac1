//go:build operatorsdk

package operatorsdk

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/example-inc/memcached-operator/test/framework"
)

// TestGenerateKustomizeManifests: operator-sdk resolves PROJECT's layout
// (go.kubebuilder.io/v4: cmd/main.go, internal/controller, api/v1) and
// regenerates the CSV base from it: every field of ours stays as it is, and
// the owned CRD it reads from the API's types is ours. (It rewrites
// spec.customresourcedefinitions from the API's +operator-sdk:csv markers,
// so it drops the hand-written descriptors the base carries.)
func TestGenerateKustomizeManifests(t *testing.T) {
	framework.RequireOperatorSDK(t, suite)
	dir := t.TempDir()
	if err := framework.CopyCheckout(root, dir, "bin"); err != nil {
		t.Fatal(err)
	}
	args := []string{"generate", "kustomize", "manifests", "-q", "--interactive=false"}
	if code, out := sdk(t, dir, args...); code != 0 {
		t.Fatalf("operator-sdk %s: exit %d\n%s", strings.Join(args, " "), code, out)
	}
	base := filepath.Join("config", "manifests", "bases", "memcached-operator.clusterserviceversion.yaml")
	ours, theirs := load(t, filepath.Join(root, base)), load(t, filepath.Join(dir, base))
	owned := func(obj map[string]any) map[string]any {
		crds, _ := obj["spec"].(map[string]any)["customresourcedefinitions"].(map[string]any)
		list, _ := crds["owned"].([]any)
		if len(list) != 1 {
			t.Fatalf("%s: want one owned CRD, have %v", base, list)
		}
		return list[0].(map[string]any)
	}
	for _, k := range []string{"name", "version", "kind", "displayName"} {
		if a, b := owned(ours)[k], owned(theirs)[k]; a != b {
			t.Errorf("owned CRD %s: ours %v, operator-sdk's %v", k, a, b)
		}
	}
	take(ours, []string{"spec", "customresourcedefinitions"})
	take(theirs, []string{"spec", "customresourcedefinitions"})
	take(theirs, []string{"spec", "apiservicedefinitions"}) // it writes {} for none
	if diffs := compare("", ours, theirs); len(diffs) > 0 {
		t.Errorf("%s: operator-sdk's regeneration changes the base (-ours +operator-sdk):\n%s", base, strings.Join(diffs, "\n"))
	}
}
