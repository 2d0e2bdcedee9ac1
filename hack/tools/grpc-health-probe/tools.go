//go:build tools

// Package tools pins grpc_health_probe for the opm image (hack/images/opm).
package tools

import _ "github.com/grpc-ecosystem/grpc-health-probe"
