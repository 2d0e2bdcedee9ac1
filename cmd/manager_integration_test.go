package main

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/controller"
	"github.com/example-inc/memcached-operator/internal/freeport"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// The shipped install (kustomize build config/default) names these.
const (
	shippedNamespace = "memcached-operator-system"
	shippedAccount   = "memcached-operator-controller-manager"
	readerRole       = "memcached-operator-metrics-reader"
)

// TestIntegrationManagerMetrics starts the real manager binary (make build)
// with the shipped Deployment's flags, as the shipped ServiceAccount with
// the shipped RBAC (config/default applied to a real kube-apiserver), and
// scrapes its metrics endpoint over https as Prometheus would: 401 without a
// token, 403 for a ServiceAccount without the metrics-reader binding, 200
// with it. Only the ports differ from the Deployment's (free ones on this
// machine), and the lease's namespace is given: a process outside a pod
// has no namespace of its own.
func TestIntegrationManagerMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs kube-apiserver, etcd and bin/manager (make test-integration)")
	}
	for _, env := range []string{"KUBEBUILDER_ASSETS", "MANAGER_BINARY", "KUSTOMIZE"} {
		if os.Getenv(env) == "" {
			t.Fatalf("%s is not set: run 'make test-integration', which builds the binaries and sets it", env)
		}
	}
	admin := framework.StartEnvtest(t)
	ctx := context.Background()
	k8s := kubernetes.NewForConfigOrDie(admin)
	if args := applyShipped(t, admin); !slices.Equal(args, localmanager.ShippedArgs) {
		t.Fatalf("kustomize build config/default ships the manager with %q; localmanager.ShippedArgs says %q", args, localmanager.ShippedArgs)
	}

	metricsAddr, probeAddr := localAddr(t), localAddr(t)
	p, err := localmanager.Start(localmanager.Options{
		Binary: os.Getenv("MANAGER_BINARY"), Kubeconfig: kubeconfigFor(t, admin, framework.ServiceAccountToken(ctx, t, k8s, shippedNamespace, shippedAccount)),
		MetricsAddr: metricsAddr, ProbeAddr: probeAddr, Args: []string{"--leader-elect", "--leader-election-namespace=" + shippedNamespace},
		Why: "free ports on this machine for the shipped :8443 and :8081; the lease's namespace, which a pod would have",
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		p.Stop()
		if t.Failed() {
			t.Logf("manager log:\n%s", p.Log())
		}
	})
	waitReady(t, p, "http://"+probeAddr+"/readyz")
	// Ready says nothing of the metrics server, which starts beside the probes.
	waitListening(t, metricsAddr)

	stranger := framework.ServiceAccountToken(ctx, t, k8s, shippedNamespace, "stranger")
	scraper := framework.ServiceAccountToken(ctx, t, k8s, shippedNamespace, "scraper")
	bindReader(t, k8s, "scraper")
	url := "https://" + metricsAddr + "/metrics"
	for _, tc := range []struct {
		what, token string
		code        int
		body        string
	}{
		{"no token", "", http.StatusUnauthorized, "Unauthorized"},
		{"a ServiceAccount without the metrics-reader binding", stranger, http.StatusForbidden, "Forbidden: user system:serviceaccount:" + shippedNamespace + ":stranger may not get /metrics"},
		{"a ServiceAccount bound to " + readerRole, scraper, http.StatusOK, "memcached_operator_api_requests_total"},
	} {
		code, body := scrape(t, url, tc.token)
		if code != tc.code || !strings.Contains(body, tc.body) {
			t.Errorf("%s: %d %.200q, want %d with %q", tc.what, code, body, tc.code, tc.body)
		}
	}
	if lease, err := k8s.CoordinationV1().Leases(shippedNamespace).Get(ctx, controller.LeaderElectionID, metav1.GetOptions{}); err != nil || lease.Spec.HolderIdentity == nil {
		t.Errorf("the manager holds no leader election lease in %s: %v", shippedNamespace, err)
	}
}

// applyShipped applies what make deploy applies (kustomize build
// config/default): the namespace, CRD, ServiceAccount, RBAC, metrics Service
// and Deployment (no pod runs: envtest has no controllers). It returns the
// args the Deployment runs the manager with.
func applyShipped(t *testing.T, cfg *rest.Config) []string {
	t.Helper()
	out, err := exec.Command(os.Getenv("KUSTOMIZE"), "build", filepath.Join("..", "config", "default")).Output()
	if err != nil {
		t.Fatalf("kustomize build config/default: %v", err)
	}
	c, err := client.New(cfg, client.Options{})
	if err != nil {
		t.Fatal(err)
	}
	dec := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(out), 4096)
	var args []string
	for {
		obj := &unstructured.Unstructured{}
		if err := dec.Decode(&obj.Object); errors.Is(err, io.EOF) {
			return args
		} else if err != nil {
			t.Fatal(err)
		}
		if len(obj.Object) == 0 {
			continue
		}
		if obj.GetKind() == "Deployment" {
			containers, _, _ := unstructured.NestedSlice(obj.Object, "spec", "template", "spec", "containers")
			if len(containers) > 0 {
				args, _, _ = unstructured.NestedStringSlice(containers[0].(map[string]any), "args")
			}
		}
		if err := c.Patch(context.Background(), obj, client.Apply, client.FieldOwner("test"), client.ForceOwnership); err != nil {
			t.Fatalf("apply %s %s: %v", obj.GetKind(), obj.GetName(), err)
		}
	}
}

// bindReader binds the ServiceAccount sa to the shipped metrics-reader
// ClusterRole, as config/prometheus tells a Prometheus to.
func bindReader(t *testing.T, k8s kubernetes.Interface, sa string) {
	t.Helper()
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa + "-metrics-reader"},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: readerRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: shippedNamespace}},
	}
	if _, err := k8s.RbacV1().ClusterRoleBindings().Create(context.Background(), b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
}

// kubeconfigFor writes a kubeconfig that reaches cfg's API server with a
// bearer token, as the pod's ServiceAccount would.
func kubeconfigFor(t *testing.T, cfg *rest.Config, token string) string {
	t.Helper()
	kc := clientcmdapi.NewConfig()
	kc.Clusters["envtest"] = &clientcmdapi.Cluster{Server: cfg.Host, CertificateAuthorityData: cfg.CAData}
	kc.AuthInfos["manager"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["manager"] = &clientcmdapi.Context{Cluster: "envtest", AuthInfo: "manager"}
	kc.CurrentContext = "manager"
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*kc, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func localAddr(t *testing.T) string {
	t.Helper()
	addr, err := freeport.Local()
	if err != nil {
		t.Fatal(err)
	}
	return addr
}

// waitReady waits until the manager's readiness probe answers 200.
func waitReady(t *testing.T, p *localmanager.Process, url string) {
	t.Helper()
	err := wait.For(context.Background(), wait.Options{What: "the manager's readiness probe at " + url, Timeout: time.Minute}, func(context.Context) (bool, string, error) {
		select {
		case <-p.Exited():
			return false, "", wait.Failed("the manager exited")
		default:
		}
		resp, err := http.Get(url)
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK, resp.Status, nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitListening waits until addr accepts a connection.
func waitListening(t *testing.T, addr string) {
	t.Helper()
	err := wait.For(context.Background(), wait.Options{What: "the manager's metrics server at " + addr, Timeout: time.Minute}, func(context.Context) (bool, string, error) {
		conn, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			return false, err.Error(), nil
		}
		conn.Close()
		return true, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// scrape GETs url over https (the manager's certificate is self-signed, as
// a Prometheus with insecureSkipVerify scrapes it) with a bearer token.
func scrape(t *testing.T, url, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}} //nolint:gosec // self-signed, as shipped
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, fmt.Sprint(strings.TrimSpace(string(b)))
}
