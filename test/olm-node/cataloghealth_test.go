//go:build olmnode

package olmnode

import (
	"context"
	"fmt"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// registryPort is where opm serve answers in the catalog image.
const registryPort = 50051

// TestCatalogSourceHealth: what the admin sees when the catalog's registry
// goes down and comes back. The registry is our catalog image run as a
// Deployment behind a Service, the CatalogSource names its address (as a
// catalog served from another team's namespace is). Scaled to zero, the
// CatalogSource's connection state leaves READY and OperatorHub no longer
// lists the package (the package server drops a source it cannot reach);
// scaled back, the state returns to READY and the package is listed again.
func TestCatalogSourceHealth(t *testing.T) {
	ctx, e := setup(t)
	reg := e.registryDeployment(ctx, t)
	cs := &operatorsv1alpha1.CatalogSource{
		ObjectMeta: metav1.ObjectMeta{Name: "by-address", Namespace: e.ns},
		Spec: operatorsv1alpha1.CatalogSourceSpec{
			SourceType: operatorsv1alpha1.SourceTypeGrpc, DisplayName: "by address", Publisher: "example-inc",
			Address: fmt.Sprintf("%s.%s.svc:%d", reg.Name, e.ns, registryPort),
		},
	}
	if err := e.k8s.Create(ctx, cs); err != nil {
		t.Fatal(err)
	}
	if err := e.olm.WaitForCatalog(within(ctx, t, catalogTimeout), e.ns, cs.Name); err != nil {
		t.Fatal(err)
	}
	e.packageManifest(ctx, t, cs.Name)

	start := time.Now()
	e.scaleRegistry(ctx, t, reg, 0)
	state := e.waitConnection(ctx, t, cs.Name, func(s string) bool { return s != "READY" }, "to leave READY")
	t.Logf("registry down: CatalogSource %s connection %s after %s", cs.Name, state, since(start))
	e.waitListed(ctx, t, cs.Name, false)
	t.Logf("registry down: the package server no longer lists %s from %s after %s", e.pkg, cs.Name, since(start))

	start = time.Now()
	e.scaleRegistry(ctx, t, reg, 1)
	e.waitConnection(ctx, t, cs.Name, func(s string) bool { return s == "READY" }, "to be READY again")
	t.Logf("registry back: CatalogSource %s READY after %s", cs.Name, since(start))
	e.waitListed(ctx, t, cs.Name, true)
	t.Logf("registry back: %s listed from %s again after %s", e.pkg, cs.Name, since(start))
}

// registryDeployment runs the catalog image (its entrypoint is opm serve)
// as a restricted Deployment with a Service, and waits until it is ready.
func (e *env) registryDeployment(ctx context.Context, t *testing.T) *appsv1.Deployment {
	t.Helper()
	labels := map[string]string{"app": "catalog-registry"}
	probe := &corev1.Probe{ProbeHandler: corev1.ProbeHandler{GRPC: &corev1.GRPCAction{Port: registryPort}}, PeriodSeconds: 2}
	d := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "catalog-registry", Namespace: e.ns},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To[int32](1),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{
					SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: ptr.To(true), RunAsUser: ptr.To(workloadUserID), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
					Containers: []corev1.Container{{
						Name: "registry", Image: e.catalogImage,
						Ports:          []corev1.ContainerPort{{Name: "grpc", ContainerPort: registryPort}},
						ReadinessProbe: probe,
						SecurityContext: &corev1.SecurityContext{
							AllowPrivilegeEscalation: ptr.To(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
						},
					}},
				},
			},
		},
	}
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: d.Name, Namespace: e.ns},
		Spec:       corev1.ServiceSpec{Selector: labels, Ports: []corev1.ServicePort{{Name: "grpc", Port: registryPort, TargetPort: intstr.FromInt32(registryPort)}}},
	}
	for _, obj := range []client.Object{d, svc} {
		if err := e.k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
	e.waitRegistryReplicas(ctx, t, d, 1)
	return d
}

// scaleRegistry sets the registry's replicas and waits until that many are ready.
func (e *env) scaleRegistry(ctx context.Context, t *testing.T, d *appsv1.Deployment, n int32) {
	t.Helper()
	patch := client.RawPatch("application/merge-patch+json", fmt.Appendf(nil, `{"spec":{"replicas":%d}}`, n))
	if err := e.k8s.Patch(ctx, d.DeepCopy(), patch); err != nil {
		t.Fatal(err)
	}
	e.waitRegistryReplicas(ctx, t, d, n)
}

func (e *env) waitRegistryReplicas(ctx context.Context, t *testing.T, d *appsv1.Deployment, n int32) {
	t.Helper()
	// Rolled out at spec.replicas = n: n available (ready: no
	// minReadySeconds) and exactly n pods; on timeout, every pod's state.
	o := wait.Options{What: fmt.Sprintf("registry Deployment %s at %d ready pods", d.Name, n), Timeout: catalogTimeout,
		Diagnose: func(ctx context.Context) string {
			return wait.DescribeDeployment(ctx, e.k8s, client.ObjectKeyFromObject(d)) + "\n" + e.describePods(ctx)
		}}
	if err := wait.DeploymentRolledOut(ctx, e.k8s, client.ObjectKeyFromObject(d), o); err != nil {
		t.Fatal(err)
	}
}

// waitConnection waits for the CatalogSource's connection state to pass ok
// and returns it.
func (e *env) waitConnection(ctx context.Context, t *testing.T, name string, ok func(string) bool, what string) string {
	t.Helper()
	var state string
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("CatalogSource %s/%s connection %s", e.ns, name, what), Timeout: 3 * time.Minute},
		func(ctx context.Context) (bool, string, error) {
			cs := &operatorsv1alpha1.CatalogSource{}
			if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: name}, cs); err != nil {
				return false, "", err
			}
			state = "(none)"
			if s := cs.Status.GRPCConnectionState; s != nil {
				state = s.LastObservedState
			}
			return ok(state), "connection " + state, nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return state
}
