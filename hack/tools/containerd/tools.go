//go:build tools

// Package tools pins the container runtime of the real node: containerd, its runc
// shim and ctr (runc itself is Debian's package: it needs cgo).
package tools

import (
	_ "github.com/containerd/containerd/v2/cmd/containerd"
	_ "github.com/containerd/containerd/v2/cmd/containerd-shim-runc-v2"
	_ "github.com/containerd/containerd/v2/cmd/ctr"
)
