package framework

import (
	"context"
	"fmt"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/csv"
	"github.com/example-inc/memcached-operator/internal/managerenv"
	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

const (
	// CatalogTimeout bounds pulling the catalog image and starting its
	// registry pod; InstallTimeout resolving, unpacking and installing.
	CatalogTimeout = 3 * time.Minute
	InstallTimeout = 5 * time.Minute
)

// NodeLane is the lane of make test-olm-node: OLM runs in the cluster on the
// real node (make olm-up OLM_LANE=in-cluster), serves the catalog image from
// a registry pod it runs, unpacks bundle images with Jobs and runs each
// release's operator image; every pod runs on the real node.
type NodeLane struct {
	Client *olm.Client
	// Clientset reads the Memcached as kubectl get prints it.
	Clientset kubernetes.Interface
	Pkg       string
	// CatalogImage is the catalog image under test.
	CatalogImage string
	// Node is the real node's name.
	Node string
	// Level is the Pod Security Standard the lane's namespaces enforce:
	// restricted, or baseline where a released bundle predates restricted.
	Level string
}

var _ Lane = (*NodeLane)(nil)

func (l *NodeLane) String() string    { return "real node" }
func (l *NodeLane) OLM() *olm.Client  { return l.Client }
func (l *NodeLane) Package() string   { return l.Pkg }
func (l *NodeLane) ReachesPods() bool { return true }

// Namespace makes olm-node-<n> (prefix is only for the simulated lane's
// logs), enforcing Level on everything OLM runs there and warning of what
// restricted refuses. When t ends, Cleanup removes the package but not the
// CRD: other installs of the operator on this cluster use it.
func (l *NodeLane) Namespace(t *testing.T, _ string) string {
	t.Helper()
	ns := fmt.Sprintf("olm-node-%d", time.Now().UnixNano()%100000)
	err := l.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": l.Level, "pod-security.kubernetes.io/enforce-version": "latest",
		"pod-security.kubernetes.io/warn": "restricted", "pod-security.kubernetes.io/warn-version": "latest",
	}}})
	if err != nil {
		t.Fatal(err)
	}
	stateDir := t.TempDir()
	t.Cleanup(func() { Cleanup(t, CleanupInput{Lane: l, Namespace: ns, StateDir: stateDir, Timeout: 2 * time.Minute}) })
	return ns
}

// ServeCatalog makes the CatalogSource <package>-catalog of the catalog
// image and waits until OLM is connected to the registry pod it runs.
func (l *NodeLane) ServeCatalog(ctx context.Context, t *testing.T, ns string) string {
	t.Helper()
	name := l.Pkg + "-catalog"
	l.CreateCatalogSource(ctx, t, ns, name)
	wctx, cancel := context.WithTimeout(ctx, CatalogTimeout)
	defer cancel()
	if err := l.Client.WaitForCatalog(wctx, ns, name); err != nil {
		t.Fatal(err)
	}
	return name
}

// CreateCatalogSource serves the catalog image through OLM: sourceType grpc
// with an image and no address, so OLM runs the registry pod and its Service.
func (l *NodeLane) CreateCatalogSource(ctx context.Context, t *testing.T, ns, name string) {
	t.Helper()
	cs := &operatorsv1alpha1.CatalogSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: operatorsv1alpha1.CatalogSourceSpec{
			SourceType:  operatorsv1alpha1.SourceTypeGrpc,
			Image:       l.CatalogImage,
			DisplayName: l.Pkg + " (catalog image)",
			Publisher:   "example-inc",
		},
	}
	if err := l.Client.Create(ctx, cs); err != nil {
		t.Fatal(err)
	}
}

// RunOperator waits until the CSV's Deployments run only pods of its own
// operator image, ready, on the real node: OLM rolled the operator; nothing
// on this machine stands in for it.
func (l *NodeLane) RunOperator(ctx context.Context, t *testing.T, ns, csvName string) {
	t.Helper()
	wctx, cancel := context.WithTimeout(ctx, InstallTimeout)
	defer cancel()
	pods, err := l.Client.WaitForOperator(wctx, ns, csvName)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range pods {
		p := &corev1.Pod{}
		if err := l.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, p); err != nil {
			t.Fatal(err)
		}
		l.CheckOnRealNode(t, p, corev1.PodRunning)
	}
}

// CheckOnRealNode: the pod ran on the real node and reached phase.
func (l *NodeLane) CheckOnRealNode(t testing.TB, p *corev1.Pod, phase corev1.PodPhase) {
	t.Helper()
	if p.Spec.NodeName != l.Node {
		t.Errorf("pod %s is on node %q, want the real node %s", p.Name, p.Spec.NodeName, l.Node)
	}
	if p.Status.Phase != phase {
		t.Errorf("pod %s: phase %s, want %s", p.Name, p.Status.Phase, phase)
	}
}

// Operand is the memcached image the CSV gives its operator.
func (l *NodeLane) Operand(ctx context.Context, t *testing.T, ns, csvName string) string {
	t.Helper()
	c := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := l.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: csvName}, c); err != nil {
		t.Fatal(err)
	}
	image, ok := csv.OperandImage(c)
	if !ok {
		t.Fatalf("CSV %s sets no %s", csvName, managerenv.RelatedImage)
	}
	return image
}

// WaitForMemcached waits until the Memcached is ready by the fields the
// served CRD has, with every pod running operand (after a release that
// changes it, the old pods keep it ready until the new operator replaced
// them), and then until `kubectl get memcached` shows a value in every
// printer column of that CRD: status written under an older CRD is
// complete under the new one.
func (l *NodeLane) WaitForMemcached(ctx context.Context, t *testing.T, mc *cachev1.Memcached, csvName, operand string) {
	t.Helper()
	fields := servedCRDFields(ctx, t, l.Client)
	key := client.ObjectKeyFromObject(mc)
	if err := readiness.WaitFor(ctx, l.Client, key, readiness.Options{Fields: &fields, Image: operand, Wait: wait.Options{Timeout: ReadyTimeout}}); err != nil {
		t.Fatal(err)
	}
	var cells map[string]string
	what := fmt.Sprintf("every printer column of Memcached %s under %s", key, csvName)
	err := wait.For(ctx, wait.Options{What: what, Timeout: time.Minute}, func(ctx context.Context) (bool, string, error) {
		var empty []string
		var err error
		cells, empty, err = PrinterColumns(ctx, l.Clientset, key)
		return err == nil && len(empty) == 0, fmt.Sprintf("empty columns %v of %v", empty, cells), err
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("under %s: kubectl get memcached shows %v", csvName, cells)
}
