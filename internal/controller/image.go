package controller

import (
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// DefaultMemcachedImage is the operand image when none is configured (the
// manager's flag and managerenv.RelatedImage).
const DefaultMemcachedImage = "docker.io/library/memcached:1.6.38-alpine"

// ValidateImage rejects image references the kubelet could never pull. It
// does not split on ':' blindly: "registry:5000/memcached", "memcached" and
// "memcached@sha256:..." are all valid.
func ValidateImage(ref string) error {
	switch {
	case ref == "":
		return fmt.Errorf("image reference is empty")
	case strings.ContainsAny(ref, " \t\n"):
		return fmt.Errorf("image reference %q contains white space", ref)
	case strings.HasSuffix(ref, ":") || strings.HasSuffix(ref, "@") || strings.HasSuffix(ref, "/"):
		return fmt.Errorf("image reference %q ends in a separator", ref)
	}
	return nil
}

// pullPolicy follows the kubelet's convention: a digest or a fixed tag is
// pulled once, an untagged or ":latest" reference on every start.
func pullPolicy(ref string) corev1.PullPolicy {
	if strings.Contains(ref, "@") {
		return corev1.PullIfNotPresent
	}
	tag, ok := imageTag(ref)
	if !ok || tag == "latest" {
		return corev1.PullAlways
	}
	return corev1.PullIfNotPresent
}

// imageTag returns the tag of a reference without a digest. The tag is what
// follows the last ':' of the last path component, so a registry port
// ("localhost:5000/memcached") is not mistaken for one.
func imageTag(ref string) (string, bool) {
	last := ref[strings.LastIndex(ref, "/")+1:]
	i := strings.LastIndex(last, ":")
	if i < 0 {
		return "", false
	}
	return last[i+1:], true
}
