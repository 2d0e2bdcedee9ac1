//go:build operatorsdk

package operatorsdk

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"

	"github.com/example-inc/memcached-operator/test/framework"
)

// The warning operator-framework's deprecated-API validator gives any bundle
// that grants events.k8s.io: it reads every events.k8s.io rule as the
// v1beta1 API removed in Kubernetes 1.25, though the manager's event
// recorder uses events.k8s.io/v1. It names each such rule of the CSV, and
// the suite reports it twice.
func eventsWarning(t *testing.T, dir string) finding {
	t.Helper()
	b, err := manifests.GetBundleFromDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var at []string
	spec := b.CSV.Spec.InstallStrategy.StrategySpec
	for kind, perms := range map[string][]v1alpha1.StrategyDeploymentPermissions{"ClusterPermissions": spec.ClusterPermissions, "Permissions": spec.Permissions} {
		for i, p := range perms {
			for j, r := range p.Rules {
				if slices.Contains(r.APIGroups, "events.k8s.io") && slices.Contains(r.Resources, "events") {
					at = append(at, fmt.Sprintf("ClusterServiceVersion.Spec.InstallStrategy.StrategySpec.%s[%d].Rules[%d]", kind, i, j))
				}
			}
		}
	}
	slices.Sort(at)
	return finding{"warning", "Warning: Value " + b.CSV.Name + ": this bundle is using APIs which were deprecated and removed in v1.25. " +
		"More info: https://kubernetes.io/docs/reference/using-api/deprecation-guide/#v1-25. " +
		fmt.Sprintf("Migrate the API(s) for events: (%q)", at)}
}

// 0.3.0's known finding (its catalog deprecation says so): the metrics
// Service carries metadata.namespace, which operator-registry's bundle
// content validation forbids.
const namespacedServiceError = "Error: Value memcached-operator-controller-manager-metrics-service: error validating object: metadata.namespace: Forbidden: not allowed on this type. " +
	"&{map[apiVersion:v1 kind:Service metadata:map[labels:map[app.kubernetes.io/managed-by:kustomize app.kubernetes.io/name:memcached-operator control-plane:controller-manager] " +
	"name:memcached-operator-controller-manager-metrics-service namespace:memcached-operator-system] spec:map[ports:[map[name:https port:8443 protocol:TCP targetPort:8443]] " +
	"selector:map[app.kubernetes.io/name:memcached-operator control-plane:controller-manager]]]}"

// TestBundleValidate: operator-sdk's `bundle validate`, with the default
// validators and with `--select-optional suite=operatorframework`, finds in
// bundle/ and in every released bundle exactly what is known, and passes
// every bundle but 0.3.0.
func TestBundleValidate(t *testing.T) {
	framework.RequireOperatorSDK(t, suite)
	dirs := []string{filepath.Join(root, "bundle")}
	released, err := filepath.Glob(filepath.Join(root, "config", "catalog", "releases", "*"))
	if err != nil || len(released) == 0 {
		t.Fatalf("no released bundles in config/catalog/releases (%v)", err)
	}
	dirs = append(dirs, released...)
	for _, dir := range dirs {
		csv, err := csvName(dir)
		if err != nil {
			t.Fatal(err)
		}
		for _, suite := range []string{"default", "operatorframework"} {
			t.Run(filepath.Base(dir)+"/"+suite, func(t *testing.T) {
				args := []string{"bundle", "validate", dir}
				var want []finding
				if suite == "operatorframework" {
					args = append(args, "--select-optional", "suite=operatorframework")
					w := eventsWarning(t, dir)
					want = append(want, w, w)
				}
				if csv == "memcached-operator.v0.3.0" {
					want = append([]finding{{"error", namespacedServiceError}}, want...)
				}
				code, out := sdk(t, root, args...)
				got := findings(t, out)
				if !slices.Equal(got, want) {
					t.Errorf("operator-sdk %s:\n%s\nwant:\n%s", strings.Join(args, " "), show(got), show(want))
				}
				if wantCode := map[bool]int{true: 1, false: 0}[csv == "memcached-operator.v0.3.0"]; code != wantCode {
					t.Errorf("operator-sdk %s exited %d, want %d:\n%s", strings.Join(args, " "), code, wantCode, out)
				}
			})
		}
	}
}

// csvName is the name of the bundle's CSV.
func csvName(dir string) (string, error) {
	b, err := manifests.GetBundleFromDir(dir)
	if err != nil {
		return "", err
	}
	return b.CSV.Name, nil
}

func show(fs []finding) string {
	if len(fs) == 0 {
		return "  (nothing)"
	}
	var b strings.Builder
	for _, f := range fs {
		fmt.Fprintf(&b, "  %s: %s\n", f.level, f.msg)
	}
	return b.String()
}
