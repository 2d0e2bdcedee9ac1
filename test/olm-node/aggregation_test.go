//go:build olmnode

package olmnode

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

const (
	// packageServerService is the Service OLM makes for the package server's
	// APIService, and the name its serving certificate is for.
	packageServerService = "packageserver-service"
	packagesAPIService   = "v1.packages.operators.coreos.com"
)

// TestPackageManifestsNeedRBAC: PackageManifests are served through the
// aggregation layer with the requesting user's identity. A user without
// RBAC on packagemanifests is refused; granted list in one namespace, they
// see the package there and are refused elsewhere. And the package server
// itself decides as that user: a request carrying the user in the headers
// kube-apiserver forwards, from its front-proxy certificate, is authorized
// by the package server for that user (before the cluster's aggregation
// layer was configured, it saw every forwarded request as the admin).
func TestPackageManifestsNeedRBAC(t *testing.T) {
	ctx, e := setup(t)
	cs := e.lane.ServeCatalog(ctx, t, e.ns)
	e.packageManifest(ctx, t, cs)
	user := "viewer-" + e.ns
	asUser := impersonating(t, user)

	list := func(c client.Client, ns string) error {
		l := &unstructured.UnstructuredList{}
		l.SetGroupVersionKind(packageManifests)
		return c.List(ctx, l, client.InNamespace(ns))
	}
	refused := func(err error, ns string) {
		t.Helper()
		want := fmt.Sprintf(`User %q cannot list resource "packagemanifests" in API group "packages.operators.coreos.com" in the namespace %q`, user, ns)
		if !apierrors.IsForbidden(err) || !strings.Contains(err.Error(), want) {
			t.Errorf("user %s listing packagemanifests in %s: err = %v, want Forbidden: %s", user, ns, err, want)
		}
	}
	refused(list(asUser, e.ns), e.ns)

	e.grantPackageManifests(ctx, t, user)
	err := wait.For(ctx, wait.Options{What: "the RoleBinding to take effect", Timeout: 30 * time.Second}, func(ctx context.Context) (bool, string, error) {
		err := list(asUser, e.ns)
		return err == nil, fmt.Sprint(err), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	refused(list(asUser, metav1.NamespaceDefault), metav1.NamespaceDefault)

	forwarded := e.forwardedClient(ctx, t)
	status, body := forwarded.list(ctx, t, e.ns, user)
	if status != http.StatusOK || !slices.Contains(itemNames(body), e.pkg) {
		t.Errorf("the package server, asked for %s in %s: %d %s; want 200 listing %s", user, e.ns, status, short(body), e.pkg)
	}
	status, body = forwarded.list(ctx, t, metav1.NamespaceDefault, user)
	if want := fmt.Sprintf(`User \"%s\" cannot list resource \"packagemanifests\"`, user); status != http.StatusForbidden || !strings.Contains(body, want) {
		t.Errorf("the package server, asked for %s in %s: %d %s; want 403 naming the user", user, metav1.NamespaceDefault, status, short(body))
	}
	t.Logf("user %s: refused without RBAC, lists %s in %s with a RoleBinding, refused in %s; the package server authorizes the forwarded user itself", user, e.pkg, e.ns, metav1.NamespaceDefault)
}

// impersonating is a client that acts as user (a member of
// system:authenticated, as every logged-in user is).
func impersonating(t *testing.T, user string) client.Client {
	t.Helper()
	cfg, err := config.GetConfig()
	if err != nil {
		t.Fatal(err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Impersonate = rest.ImpersonationConfig{UserName: user, Groups: []string{"system:authenticated"}}
	c, err := client.New(cfg, client.Options{Scheme: kubeclient.Scheme()})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// grantPackageManifests lets user read PackageManifests in the test's
// namespace, as an admin grants OperatorHub's view to a project member.
func (e *env) grantPackageManifests(ctx context.Context, t *testing.T, user string) {
	t.Helper()
	role := &rbacv1.Role{
		ObjectMeta: metav1.ObjectMeta{Name: "packagemanifest-viewer", Namespace: e.ns},
		Rules:      []rbacv1.PolicyRule{{APIGroups: []string{packageManifests.Group}, Resources: []string{"packagemanifests"}, Verbs: []string{"get", "list", "watch"}}},
	}
	binding := &rbacv1.RoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "packagemanifest-viewer", Namespace: e.ns},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: role.Name},
		Subjects:   []rbacv1.Subject{{APIGroup: rbacv1.GroupName, Kind: rbacv1.UserKind, Name: user}},
	}
	for _, obj := range []client.Object{role, binding} {
		if err := e.k8s.Create(ctx, obj); err != nil {
			t.Fatal(err)
		}
	}
}

// forwarded sends requests to the package server as kube-apiserver
// forwards them: over TLS verified with the APIService's CA bundle, with
// the front-proxy client certificate and the user in X-Remote-User.
type forwarded struct {
	http *http.Client
	addr string
}

func (e *env) forwardedClient(ctx context.Context, t *testing.T) *forwarded {
	t.Helper()
	dir := framework.Env(t, "FRONT_PROXY_DIR", "test-olm-node")
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "client.crt"), filepath.Join(dir, "client.key"))
	if err != nil {
		t.Fatalf("the front-proxy client certificate (hack/cluster.sh makes it): %v", err)
	}
	svc := &unstructured.Unstructured{}
	svc.SetGroupVersionKind(schema.GroupVersionKind{Group: "apiregistration.k8s.io", Version: "v1", Kind: "APIService"})
	if err := e.k8s.Get(ctx, client.ObjectKey{Name: packagesAPIService}, svc); err != nil {
		t.Fatal(err)
	}
	caB64, _, _ := unstructured.NestedString(svc.Object, "spec", "caBundle")
	ca, err := base64.StdEncoding.DecodeString(caB64)
	if err != nil {
		t.Fatalf("APIService %s caBundle: %v", packagesAPIService, err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(ca) {
		t.Fatalf("APIService %s: no certificate in caBundle", packagesAPIService)
	}
	pods := &corev1.PodList{}
	if err := e.k8s.List(ctx, pods, client.InNamespace(olmNamespace), client.MatchingLabels{"app": "packageserver"}); err != nil || len(pods.Items) == 0 || pods.Items[0].Status.PodIP == "" {
		t.Fatalf("the package server's pod in %s: %v (%d pods)", olmNamespace, err, len(pods.Items))
	}
	return &forwarded{
		addr: net.JoinHostPort(pods.Items[0].Status.PodIP, "5443"),
		http: &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{cert}, RootCAs: pool,
			ServerName: packageServerService + "." + olmNamespace + ".svc",
		}}},
	}
}

// itemNames are the names of a list's items.
func itemNames(body string) []string {
	var l struct {
		Items []metav1.PartialObjectMetadata `json:"items"`
	}
	_ = json.Unmarshal([]byte(body), &l)
	var names []string
	for _, i := range l.Items {
		names = append(names, i.Name)
	}
	return names
}

// list asks for the PackageManifests of ns on behalf of user.
func (f *forwarded) list(ctx context.Context, t *testing.T, ns, user string) (int, string) {
	t.Helper()
	url := fmt.Sprintf("https://%s/apis/%s/%s/namespaces/%s/packagemanifests", f.addr, packageManifests.Group, packageManifests.Version, ns)
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("X-Remote-User", user)
	req.Header.Set("X-Remote-Group", "system:authenticated")
	resp, err := f.http.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(body)
}
