package metricsauth

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// reviewCounter counts the TokenReviews and SubjectAccessReviews a filter sends.
type reviewCounter struct {
	next           http.RoundTripper
	tokens, access atomic.Int32
}

func (c *reviewCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	switch {
	case strings.HasSuffix(req.URL.Path, "/tokenreviews"):
		c.tokens.Add(1)
	case strings.HasSuffix(req.URL.Path, "/subjectaccessreviews"):
		c.access.Add(1)
	}
	return c.next.RoundTrip(req)
}

// fakeClock is a clock the test moves.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *fakeClock) step(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// TestIntegrationMetricsAuth runs the filter, as the operator's
// ServiceAccount bound to the shipped metrics-auth-role, against a real
// kube-apiserver: the shipped metrics-reader role lets a scraper in, everyone
// else is refused with the status a scraper acts on, answers are remembered
// for their TTL, and a revoked binding is refused once the allow expires.
func TestIntegrationMetricsAuth(t *testing.T) {
	if testing.Short() {
		t.Skip("integration test: needs kube-apiserver and etcd (make test-integration)")
	}
	if os.Getenv("KUBEBUILDER_ASSETS") == "" {
		t.Fatal("KUBEBUILDER_ASSETS is not set: run 'make test-integration', which builds kube-apiserver and etcd into bin/")
	}
	admin := framework.StartEnvtest(t)
	ctx := context.Background()
	k8s := kubernetes.NewForConfigOrDie(admin)

	const ns = "metrics"
	if _, err := k8s.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	authRole := shippedRole(t, "metrics_auth_role.yaml")
	readerRole := shippedRole(t, "metrics_reader_role.yaml")
	for _, role := range []*rbacv1.ClusterRole{authRole, readerRole} {
		if _, err := k8s.RbacV1().ClusterRoles().Create(ctx, role, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	bind(t, k8s, "operator", authRole.Name)
	readerBinding := bind(t, k8s, "scraper", readerRole.Name)
	token := func(sa string) string { return framework.ServiceAccountToken(ctx, t, k8s, ns, sa) }
	operatorCfg := rest.AnonymousClientConfig(admin)
	operatorCfg.BearerToken = token("operator")
	scraper, stranger := token("scraper"), token("stranger")

	counter := &reviewCounter{}
	operatorCfg.Wrap(func(rt http.RoundTripper) http.RoundTripper { counter.next = rt; return counter })
	httpClient, err := rest.HTTPClientFor(operatorCfg)
	if err != nil {
		t.Fatal(err)
	}
	clock := &fakeClock{now: time.Now()}
	provider, err := Options{Now: clock.Now}.FilterProvider(operatorCfg, httpClient)
	if err != nil {
		t.Fatal(err)
	}
	filtered, err := provider(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "memcached_operator_up 1\n")
	}))
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(filtered)
	t.Cleanup(srv.Close)

	type result struct {
		code int
		body string
	}
	scrape := func(method, auth string) result {
		t.Helper()
		req, _ := http.NewRequest(method, srv.URL+"/metrics", nil)
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return result{resp.StatusCode, strings.TrimSpace(string(b))}
	}
	for _, tc := range []struct {
		what, method, auth string
		want               result
	}{
		{"no token", http.MethodGet, "", result{401, "Unauthorized: send a ServiceAccount token as 'Authorization: Bearer <token>'"}},
		{"basic auth", http.MethodGet, "Basic dXNlcjpwdw==", result{401, "Unauthorized: send a ServiceAccount token as 'Authorization: Bearer <token>'"}},
		{"a token the API server does not know", http.MethodGet, "Bearer not-a-token", result{401, "Unauthorized: the token is not valid"}},
		{"a ServiceAccount without the reader role", http.MethodGet, "Bearer " + stranger,
			result{403, "Forbidden: user system:serviceaccount:metrics:stranger may not get /metrics (bind it to a ClusterRole granting nonResourceURLs /metrics, verbs get)"}},
		{"the reader, posting", http.MethodPost, "Bearer " + scraper,
			result{403, "Forbidden: user system:serviceaccount:metrics:scraper may not post /metrics (bind it to a ClusterRole granting nonResourceURLs /metrics, verbs post)"}},
		{"the reader", http.MethodGet, "bearer " + scraper, result{200, "memcached_operator_up 1"}},
	} {
		if got := scrape(tc.method, tc.auth); got != tc.want {
			t.Errorf("%s: got %d %q, want %d %q", tc.what, got.code, got.body, tc.want.code, tc.want.body)
		}
	}

	// Within the TTLs a scrape sends no review.
	tokens, access := counter.tokens.Load(), counter.access.Load()
	if tokens != 3 || access != 3 {
		t.Errorf("3 tokens (the reader's twice) and 3 decisions sent %d token reviews and %d access reviews, want 3 and 3", tokens, access)
	}
	for i := 0; i < 5; i++ {
		if got := scrape(http.MethodGet, "Bearer "+scraper); got.code != 200 {
			t.Fatalf("repeated scrape: %d %s", got.code, got.body)
		}
	}
	if d1, d2 := counter.tokens.Load()-tokens, counter.access.Load()-access; d1 != 0 || d2 != 0 {
		t.Errorf("5 more scrapes within the TTLs sent %d token and %d access reviews, want none", d1, d2)
	}

	// A revoked reader keeps its allow until it expires, then is refused.
	if err := k8s.RbacV1().ClusterRoleBindings().Delete(ctx, readerBinding, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if got := scrape(http.MethodGet, "Bearer "+scraper); got.code != 200 {
		t.Errorf("revoked reader within the allow TTL: %d, want the remembered 200", got.code)
	}
	waitRefused(t, k8s, "system:serviceaccount:metrics:scraper")
	clock.step(5*time.Minute + time.Second)
	if got := scrape(http.MethodGet, "Bearer "+scraper); got.code != 403 {
		t.Errorf("revoked reader after the allow TTL: %d %q, want 403", got.code, got.body)
	}
}

// waitRefused waits until the API server itself refuses user get /metrics.
// Its RBAC authorizer learns of a deleted binding through an informer, so
// for a moment after the delete it may still allow; the test checks the
// filter's cache, not that lag.
func waitRefused(t *testing.T, k8s kubernetes.Interface, user string) {
	t.Helper()
	review := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user, NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: "/metrics", Verb: "get"},
	}}
	err := wait.For(context.Background(), wait.Options{What: "the API server to refuse " + user + " get /metrics", Timeout: 30 * time.Second}, func(ctx context.Context) (bool, string, error) {
		got, err := k8s.AuthorizationV1().SubjectAccessReviews().Create(ctx, review, metav1.CreateOptions{})
		if err != nil {
			return false, err.Error(), nil
		}
		return !got.Status.Allowed, fmt.Sprintf("allowed: %s", got.Status.Reason), nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// shippedRole reads a ClusterRole from config/rbac.
func shippedRole(t *testing.T, file string) *rbacv1.ClusterRole {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "..", "config", "rbac", file))
	if err != nil {
		t.Fatal(err)
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(b, role); err != nil {
		t.Fatalf("%s: %v", file, err)
	}
	return role
}

// bind binds the ServiceAccount sa of namespace "metrics" to role and
// returns the binding's name.
func bind(t *testing.T, k8s kubernetes.Interface, sa, role string) string {
	t.Helper()
	b := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa + "-" + role},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: sa, Namespace: "metrics"}},
	}
	if _, err := k8s.RbacV1().ClusterRoleBindings().Create(context.Background(), b, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return b.Name
}
