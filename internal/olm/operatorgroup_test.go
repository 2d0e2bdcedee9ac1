package olm

import (
	"slices"
	"strings"
	"testing"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
)

func TestChooseInstallMode(t *testing.T) {
	const (
		all    = operatorsv1alpha1.InstallModeTypeAllNamespaces
		own    = operatorsv1alpha1.InstallModeTypeOwnNamespace
		single = operatorsv1alpha1.InstallModeTypeSingleNamespace
		multi  = operatorsv1alpha1.InstallModeTypeMultiNamespace
	)
	every := map[operatorsv1alpha1.InstallModeType]bool{all: true, own: true, single: true, multi: true}
	tests := []struct {
		name      string
		flag      string
		supported map[operatorsv1alpha1.InstallModeType]bool
		mode      operatorsv1alpha1.InstallModeType
		targets   []string
		err       string
	}{
		{name: "default prefers AllNamespaces", supported: every, mode: all},
		{name: "default falls back to OwnNamespace", supported: map[operatorsv1alpha1.InstallModeType]bool{own: true, all: false}, mode: own, targets: []string{"ns"}},
		{name: "default with neither", supported: map[operatorsv1alpha1.InstallModeType]bool{single: true, multi: true},
			err: "supports neither AllNamespaces nor OwnNamespace: pass --install-mode SingleNamespace=NS or MultiNamespace=NS1,NS2"},
		{name: "AllNamespaces", flag: "AllNamespaces", supported: every, mode: all},
		{name: "OwnNamespace targets the install namespace", flag: "OwnNamespace", supported: every, mode: own, targets: []string{"ns"}},
		{name: "SingleNamespace", flag: "SingleNamespace=team-a", supported: every, mode: single, targets: []string{"team-a"}},
		{name: "MultiNamespace", flag: "MultiNamespace=team-a,team-b", supported: every, mode: multi, targets: []string{"team-a", "team-b"}},
		{name: "SingleNamespace without namespaces", flag: "SingleNamespace", supported: every,
			err: "--install-mode SingleNamespace needs namespaces: SingleNamespace=NS[,NS]"},
		{name: "MultiNamespace with an empty list", flag: "MultiNamespace=", supported: every,
			err: "--install-mode MultiNamespace needs namespaces: MultiNamespace=NS[,NS]"},
		{name: "unknown mode", flag: "EveryNamespace", supported: every,
			err: `--install-mode "EveryNamespace": want AllNamespaces, OwnNamespace, SingleNamespace=NS or MultiNamespace=NS1,NS2`},
		{name: "mode names are case sensitive", flag: "allnamespaces", supported: every, err: `--install-mode "allnamespaces"`},
		{name: "unsupported AllNamespaces", flag: "AllNamespaces", supported: map[operatorsv1alpha1.InstallModeType]bool{own: true},
			err: "does not support install mode AllNamespaces"},
		{name: "supported false counts as unsupported", flag: "MultiNamespace=a,b", supported: map[operatorsv1alpha1.InstallModeType]bool{multi: false},
			err: "does not support install mode MultiNamespace"},
		{name: "unsupported OwnNamespace", flag: "OwnNamespace", supported: map[operatorsv1alpha1.InstallModeType]bool{all: true},
			err: "does not support install mode OwnNamespace"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			mode, targets, err := chooseInstallMode(tc.flag, "ns", tc.supported)
			if tc.err != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tc.err) {
					t.Fatalf("err = %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if mode != tc.mode || !slices.Equal(targets, tc.targets) {
				t.Errorf("got %s %v, want %s %v", mode, targets, tc.mode, tc.targets)
			}
		})
	}
}

func TestTargetsOrAll(t *testing.T) {
	if got := targetsOrAll(nil); got != "all namespaces" {
		t.Errorf("targetsOrAll(nil) = %q", got)
	}
	if got := targetsOrAll([]string{"a", "b"}); got != "a,b" {
		t.Errorf("targetsOrAll(a, b) = %q", got)
	}
}
