//go:build tools

// Package tools pins crictl, which tears down the real node's pods when it stops
// (and helps debugging).
package tools

import _ "sigs.k8s.io/cri-tools/cmd/crictl"
