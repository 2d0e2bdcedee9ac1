package main

import (
	"io"
	"strings"
	"testing"
)

// The pod runner's flags parse in any order, -s is --service-account, and
// they are refused without --pods, where they would do nothing.
func TestScorecardPodFlags(t *testing.T) {
	o, err := parseScorecardFlags([]string{"bundle", "--pods", "-s", "memcached-scorecard", "--untar-image", "util:v1", "--pod-security", "legacy", "--namespace", "ns"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	want := podFlags{enabled: true, untarImage: "util:v1", serviceAccount: "memcached-scorecard", security: "legacy"}
	if o.pods != want || o.namespace != "ns" || o.bundleDir != "bundle" {
		t.Errorf("parsed %+v, namespace %q, bundle %q; want %+v, ns, bundle", o.pods, o.namespace, o.bundleDir, want)
	}
	defaults, err := parseScorecardFlags([]string{"bundle", "--pods"}, io.Discard)
	if err != nil || defaults.pods.security != "restricted" || defaults.pods.untarImage != defaultUntarImage || defaults.pods.serviceAccount != "" {
		t.Errorf("defaults %+v (%v): want restricted, %s, the account left to the config", defaults.pods, err, defaultUntarImage)
	}
	_, err = parseScorecardFlags([]string{"bundle", "-s", "x", "--untar-image", "y"}, io.Discard)
	if err == nil || !strings.Contains(err.Error(), "-s, --untar-image only apply with --pods") {
		t.Errorf("pod flags without --pods: %v", err)
	}
	if _, err := parseScorecardFlags([]string{"bundle", "--pods", "--pod-security", "baseline"}, io.Discard); err == nil ||
		!strings.Contains(err.Error(), `pod security "baseline": want restricted or legacy`) {
		t.Errorf("--pod-security baseline: %v", err)
	}
}
