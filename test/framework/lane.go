package framework

import (
	"context"
	"testing"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/olm"
)

// Lane is what differs between the two lanes the OLM scenarios run in: how
// the catalog is served, where OLM and the operator run, and what a test can
// reach of the memcached pods. The steps (Subscribe, ApproveNextHop,
// HopLanded, Cleanup) and the scenarios built on them (UpgradeAlongChannel)
// take a Lane and are the same in both: SimulatedLane (test/olm: kwok, the
// catalog served by opm on this host, the operator a local process) and
// NodeLane (test/olm-node: a real node, OLM in the cluster serving the
// catalog image and running each release's operator image).
type Lane interface {
	// String names the lane in logs.
	String() string
	// OLM is the client of the lane's cluster.
	OLM() *olm.Client
	// Package is the OLM package under test.
	Package() string
	// Namespace makes a fresh namespace for one scenario; when t ends, what
	// OLM installed there and the namespace are removed (Cleanup).
	Namespace(t *testing.T, prefix string) string
	// ServeCatalog serves the catalog under test to ns and returns the name
	// of its CatalogSource, once OLM is connected to it.
	ServeCatalog(ctx context.Context, t *testing.T, ns string) string
	// RunOperator makes sure the operator runs for the CSV csv, which
	// succeeded: the simulated lane (re)starts its stand-in process, as OLM
	// would roll the operator; the real node waits until OLM rolled it.
	RunOperator(ctx context.Context, t *testing.T, ns, csv string)
	// Operand is the memcached image the operator of csv gives its pods;
	// empty when the lane's operator does not take it from the CSV.
	Operand(ctx context.Context, t *testing.T, ns, csv string) string
	// WaitForMemcached waits until mc is ready under csv (its pods running
	// operand when set) by what the lane can see.
	WaitForMemcached(ctx context.Context, t *testing.T, mc *cachev1.Memcached, csv, operand string)
	// ReachesPods says whether the memcached pods answer a client from this
	// host (only on the real node: kwok's pods run nothing).
	ReachesPods() bool
}
