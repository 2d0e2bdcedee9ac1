package framework

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/readiness"
)

// SimulatedTimeout bounds each wait of the simulated lane.
const SimulatedTimeout = 3 * time.Minute

// SimulatedLane is the lane of make test-olm: kwok's nodes (no container
// runs), OLM's operators as local processes, the catalog directory served by
// opm on this host, and one manager built from HEAD, a local process,
// standing in for every release's operator.
type SimulatedLane struct {
	Client *olm.Client
	// Pkg is the package under test.
	Pkg string
	// OPM and Manager are the opm and manager binaries.
	OPM, Manager string
	// CatalogDir is the file-based catalog ServeCatalog serves.
	CatalogDir string
	// StateDir holds the catalog servers' state.
	StateDir string

	mu       sync.Mutex
	managers map[string]*localmanager.Process
}

var _ Lane = (*SimulatedLane)(nil)

func (l *SimulatedLane) String() string    { return "simulated" }
func (l *SimulatedLane) OLM() *olm.Client  { return l.Client }
func (l *SimulatedLane) Package() string   { return l.Pkg }
func (l *SimulatedLane) ReachesPods() bool { return false }

// WithCatalog is the lane serving the catalog in dir instead.
func (l *SimulatedLane) WithCatalog(dir string) *SimulatedLane {
	return &SimulatedLane{Client: l.Client, Pkg: l.Pkg, OPM: l.OPM, Manager: l.Manager, CatalogDir: dir, StateDir: l.StateDir}
}

// Namespace makes prefix-<n>; when t ends, Cleanup removes the package with
// its CRD (each scenario starts from no CRD).
func (l *SimulatedLane) Namespace(t *testing.T, prefix string) string {
	t.Helper()
	ns := fmt.Sprintf("%s-%d", prefix, time.Now().UnixNano()%1000000)
	if err := l.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		Cleanup(t, CleanupInput{Lane: l, Namespace: ns, StateDir: l.StateDir, DeleteCRDs: true, Timeout: time.Minute})
	})
	return ns
}

// ServeCatalog serves CatalogDir with opm on this host (olm.StartServer) and
// points the CatalogSource memcached-catalog at its address.
func (l *SimulatedLane) ServeCatalog(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	srv, err := olm.StartServer(ctx, olm.ServerOptions{OPM: l.OPM, Dir: l.CatalogDir, StateDir: l.StateDir, Name: ns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = olm.StopServer(l.StateDir, ns) })
	cs := &operatorsv1alpha1.CatalogSource{
		ObjectMeta: metav1.ObjectMeta{Name: "memcached-catalog", Namespace: ns},
		Spec:       operatorsv1alpha1.CatalogSourceSpec{SourceType: operatorsv1alpha1.SourceTypeGrpc, Address: srv.Addr},
	}
	if err := l.Client.Create(ctx, cs); err != nil {
		t.Fatal(err)
	}
	wctx, cancel := context.WithTimeout(ctx, SimulatedTimeout)
	defer cancel()
	if err := l.Client.WaitForCatalog(wctx, ns, cs.Name); err != nil {
		t.Fatal(err)
	}
	return cs.Name
}

// RunOperator (re)starts the manager process for the namespace, watching
// what OLM's install mode gave csv (olm.targetNamespaces), while OLM owns
// the CSV and its Deployment: as OLM rolls the operator on a hop, the
// stand-in starts again and reconciles what is there.
func (l *SimulatedLane) RunOperator(ctx context.Context, t *testing.T, ns, csv string) {
	t.Helper()
	watch, err := l.Client.TargetNamespaces(ctx, ns, csv)
	if err != nil {
		t.Fatal(err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.managers == nil {
		l.managers = map[string]*localmanager.Process{}
	}
	if old := l.managers[ns]; old != nil {
		old.Kill()
	}
	p, err := localmanager.Start(localmanager.Options{Binary: l.Manager, WatchNamespace: watch, Why: localmanager.StandIn})
	if err != nil {
		t.Fatal(err)
	}
	l.managers[ns] = p
	t.Cleanup(func() {
		p.Kill()
		if t.Failed() {
			t.Logf("operator log (%s):\n%s", csv, p.Log())
		}
	})
}

// Operand is empty: the stand-in gives every release's pods its own image.
func (l *SimulatedLane) Operand(context.Context, *testing.T, string, string) string { return "" }

// WaitForMemcached waits until the Memcached is ready (internal/readiness:
// size Ready pods, named in status.nodes, and every other status field the
// served CRD has: 0.1.0's has only status.nodes).
func (l *SimulatedLane) WaitForMemcached(ctx context.Context, t *testing.T, mc *cachev1.Memcached, _, _ string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, SimulatedTimeout)
	defer cancel()
	fields := servedCRDFields(ctx, t, l.Client)
	if err := readiness.WaitFor(ctx, l.Client, client.ObjectKeyFromObject(mc), readiness.Options{Fields: &fields}); err != nil {
		t.Fatal(err)
	}
}
