package controller

import (
	"testing"

	corev1 "k8s.io/api/core/v1"
)

func TestPullPolicy(t *testing.T) {
	for ref, want := range map[string]corev1.PullPolicy{
		"memcached":                        corev1.PullAlways,
		"memcached:latest":                 corev1.PullAlways,
		"memcached:1.6.38-alpine":          corev1.PullIfNotPresent,
		"localhost:5000/memcached":         corev1.PullAlways,
		"localhost:5000/memcached:1.6":     corev1.PullIfNotPresent,
		"quay.io/org/memcached@sha256:abc": corev1.PullIfNotPresent,
		"memcached:1.6@sha256:abc":         corev1.PullIfNotPresent,
	} {
		if got := pullPolicy(ref); got != want {
			t.Errorf("pullPolicy(%q) = %s, want %s", ref, got, want)
		}
	}
}

func TestValidateImage(t *testing.T) {
	for _, ok := range []string{"memcached", "registry:5000/a/b:1", "m@sha256:0123"} {
		if err := ValidateImage(ok); err != nil {
			t.Errorf("ValidateImage(%q) = %v, want nil", ok, err)
		}
	}
	for _, bad := range []string{"", "memcached:", "memcached@", "a b", "registry/"} {
		if err := ValidateImage(bad); err == nil {
			t.Errorf("ValidateImage(%q) = nil, want an error", bad)
		}
	}
}
