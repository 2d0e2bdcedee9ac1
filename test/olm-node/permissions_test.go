//go:build olmnode

package olmnode

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/apimetrics"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

const (
	// operatorServiceAccount is the CSV's service account.
	operatorServiceAccount = "memcached-operator-controller-manager"
	// metricsReaderRole is the bundle's ClusterRole for scraping.
	metricsReaderRole = "memcached-operator-metrics-reader"
	// metricsPort is where the operator serves https metrics.
	metricsPort = "8443"
	// otherNamespace is one the OwnNamespace install does not target.
	otherNamespace = "default"
)

// access is one line of the can-i matrix: may the operator's service
// account do verb on group/resource in namespace ("" is cluster-wide)?
type access struct {
	verb, group, resource, namespace string
	allowed                          bool
}

func (a access) String() string {
	where := "cluster-wide"
	if a.namespace != "" {
		where = "in " + a.namespace
	}
	res := a.resource
	if a.group != "" {
		res += "." + a.group
	}
	return fmt.Sprintf("%s %s %s", a.verb, res, where)
}

// canIMatrix is what an OwnNamespace install in ns must and must not give
// the operator: its own work in ns only, the two cluster-scoped reviews its
// metrics endpoint makes, no secrets anywhere, nothing in other namespaces
// or cluster-wide, no verb that escalates.
func canIMatrix(ns string) []access {
	m := []access{
		{"create", "apps", "deployments", ns, true},
		{"update", "apps", "deployments", ns, true},
		{"watch", "cache.example.com", "memcacheds", ns, true},
		{"patch", "cache.example.com", "memcacheds/status", ns, true},
		{"list", "", "pods", ns, true},
		{"create", "events.k8s.io", "events", ns, true},
		{"update", "coordination.k8s.io", "leases", ns, true},
		{"create", "authentication.k8s.io", "tokenreviews", "", true},
		{"create", "authorization.k8s.io", "subjectaccessreviews", "", true},

		{"create", "apps", "deployments", otherNamespace, false},
		{"list", "cache.example.com", "memcacheds", otherNamespace, false},
		{"list", "", "pods", otherNamespace, false},
		{"list", "cache.example.com", "memcacheds", "", false},
		{"list", "apps", "deployments", "", false},
		{"delete", "apps", "deployments", ns, false},
		{"create", "", "pods", ns, false},
		{"create", "", "pods/exec", ns, false},
		{"create", "", "serviceaccounts/token", ns, false},
		{"get", "", "configmaps", ns, false},
		{"update", "cache.example.com", "memcacheds", ns, false},
		{"get", "", "nodes/proxy", "", false},
		{"create", "rbac.authorization.k8s.io", "rolebindings", ns, false},
		{"create", "rbac.authorization.k8s.io", "clusterrolebindings", "", false},
		{"bind", "rbac.authorization.k8s.io", "clusterroles", "", false},
		{"escalate", "rbac.authorization.k8s.io", "roles", ns, false},
		{"impersonate", "", "users", "", false},
		{"impersonate", "", "serviceaccounts", ns, false},
		{"update", "certificates.k8s.io", "certificatesigningrequests/approval", "", false},
		{"*", "*", "*", "", false},
	}
	for _, where := range []string{ns, otherNamespace, ""} {
		for _, verb := range []string{"get", "list", "watch"} {
			m = append(m, access{verb, "", "secrets", where, false})
		}
	}
	return m
}

// whyUnused explains the permissions the operator holds without sending
// their request in an install like this test's.
var whyUnused = map[string]string{
	"update memcacheds/finalizers": "checked by the API server when an owner reference blocks the owner's deletion, not requested",
	"get memcacheds":               "read from the watch cache",
	"get memcacheds/status":        "read with the object",
	"get pods":                     "read from the watch cache",
	"get deployments":              "read live only before writing a drifted Deployment",
	"update deployments":           "written only when a Deployment differs from the Memcached",
	"patch events":                 "a repeated event is patched",
	"create leases":                "the first replica to run creates the Lease",
	"get leases":                   "a standby replica reads the Lease; the leader renews it by update alone",
	"list memcacheds":              "informers start with a streaming watch where the API server has it; list is their fallback",
	"list deployments":             "informers start with a streaming watch where the API server has it; list is their fallback",
	"list pods":                    "informers start with a streaming watch where the API server has it; list is their fallback",
}

// checkLeastPrivilege: the operator OLM installed for this namespace only
// (OwnNamespace) may do its own work there and nothing else: a
// SubjectAccessReview per line of canIMatrix, as `kubectl auth can-i --as`
// asks. It then lists every permission the installed CSV grants that the
// operator did not use while it reconciled (its own request counter, read
// from its metrics endpoint as the bundle's metrics-reader role allows).
func (e *env) checkLeastPrivilege(ctx context.Context, t *testing.T) {
	t.Helper()
	row := framework.Reliability(t, "security", "the operator's ServiceAccount as OLM installs it (OwnNamespace): can-i matrix, and granted permissions next to used")
	checks, wrong := e.checkCanI(ctx, t, e.ns)

	granted := e.grantedByCSV(ctx, t)
	used := e.usedRequests(ctx, t)
	var unused []string
	for _, g := range granted {
		if used[g] {
			continue
		}
		if why, ok := whyUnused[g]; ok {
			g += " (" + why + ")"
		}
		unused = append(unused, g)
	}
	t.Logf("granted %d verb/resource pairs, used %d; granted but unused:\n  %s", len(granted), len(used), strings.Join(unused, "\n  "))
	for u := range used {
		if !slices.Contains(granted, u) {
			t.Errorf("the operator used %q, which the CSV does not grant", u)
		}
	}
	row.Run(!t.Failed())
	row.Figuref("%d can-i checks as %s (allowed only its own work in its namespace and the two reviews its metrics endpoint makes; no secrets, no other namespace, nothing cluster-wide, no escalation verb), %d wrong; the CSV grants %d verb/resource pairs, %d used while it reconciled; granted but unused: %s",
		checks, operatorServiceAccount, wrong, len(granted), len(granted)-len(unused), strings.Join(unused, "; "))
}

// checkCanI asks every line of canIMatrix for the operator's service account
// in ns and fails the test on each answer that is not the one wanted; it
// returns how many it asked and how many were wrong.
func (e *env) checkCanI(ctx context.Context, t *testing.T, ns string) (checks, wrong int) {
	t.Helper()
	user := fmt.Sprintf("system:serviceaccount:%s:%s", ns, operatorServiceAccount)
	var bad []string
	m := canIMatrix(ns)
	for _, a := range m {
		if got := e.canI(ctx, t, user, a); got != a.allowed {
			bad = append(bad, fmt.Sprintf("%s: allowed=%v, want %v", a, got, a.allowed))
		}
	}
	if len(bad) > 0 {
		t.Errorf("the operator's service account %s:\n  %s", user, strings.Join(bad, "\n  "))
	}
	return len(m), len(bad)
}

// canI asks the API server whether user may do a, as kubectl auth can-i
// --as does (with the groups every service account has).
func (e *env) canI(ctx context.Context, t *testing.T, user string, a access) bool {
	t.Helper()
	sar := &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User:   user,
		Groups: []string{"system:serviceaccounts", "system:serviceaccounts:" + serviceAccountNamespace(user), "system:authenticated"},
		ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: a.namespace, Verb: a.verb, Group: a.group,
			Resource: strings.Split(a.resource, "/")[0], Subresource: subresource(a.resource),
		},
	}}
	if err := e.k8s.Create(ctx, sar); err != nil {
		t.Fatalf("can-i %s: %v", a, err)
	}
	return sar.Status.Allowed
}

// serviceAccountNamespace is NS of system:serviceaccount:NS:NAME.
func serviceAccountNamespace(user string) string {
	return strings.Split(user, ":")[2]
}

func subresource(r string) string {
	_, sub, _ := strings.Cut(r, "/")
	return sub
}

// grantedByCSV is every "verb resource" the installed CSV grants the
// operator, in its order (resource with its subresource, group dropped as
// the request counter does).
func (e *env) grantedByCSV(ctx context.Context, t *testing.T) []string {
	t.Helper()
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: e.csv}, csv); err != nil {
		t.Fatal(err)
	}
	spec := csv.Spec.InstallStrategy.StrategySpec
	var out []string
	for _, p := range append(slices.Clone(spec.Permissions), spec.ClusterPermissions...) {
		for _, r := range p.Rules {
			for _, res := range r.Resources {
				for _, v := range r.Verbs {
					if g := v + " " + res; !slices.Contains(out, g) {
						out = append(out, g)
					}
				}
			}
		}
	}
	return out
}

// usedRequests scrapes the operator pod's request counter as a service
// account bound to the bundle's metrics-reader ClusterRole: every "verb
// resource" the API server answered with success, discovery left out.
func (e *env) usedRequests(ctx context.Context, t *testing.T) map[string]bool {
	t.Helper()
	token := e.scraperToken(ctx, t)
	pods := e.pods(ctx, t, client.MatchingLabels{"control-plane": "controller-manager"})
	if len(pods) != 1 || pods[0].Status.PodIP == "" {
		t.Fatalf("want the operator's one running pod in %s, got %d", e.ns, len(pods))
	}
	url := "https://" + net.JoinHostPort(pods[0].Status.PodIP, metricsPort) + "/metrics"
	used := map[string]bool{}
	for _, s := range scrape(ctx, t, url, token) {
		// Discovery (/api, /apis) is a non-resource URL every authenticated
		// user may get (the built-in system:discovery role): not the CSV's.
		if s.Resource == "nonresource" {
			continue
		}
		if strings.HasPrefix(s.Code, "2") && s.Count > 0 {
			used[s.Verb+" "+s.Resource] = true
		}
	}
	if len(used) == 0 {
		t.Fatalf("the operator at %s counted no successful request", url)
	}
	return used
}

// scraper is the service account usedRequests scrapes as.
const scraper = "metrics-scraper"

// scraperToken is a token of the service account scraper, bound to the
// bundle's metrics-reader ClusterRole for the rest of the test.
func (e *env) scraperToken(ctx context.Context, t *testing.T) string {
	t.Helper()
	if err := e.k8s.Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: scraper, Namespace: e.ns}}); err != nil {
		t.Fatal(err)
	}
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: e.ns + "-" + scraper},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: metricsReaderRole},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: scraper, Namespace: e.ns}},
	}
	if err := e.k8s.Create(ctx, binding); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = e.k8s.Delete(context.Background(), binding) })
	cs, err := kubeclient.NewClientset()
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cs.CoreV1().ServiceAccounts(e.ns).CreateToken(ctx, scraper,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(600))}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return tok.Status.Token
}

// scrape GETs the operator's metrics at url with token and parses the
// request counter. The binding reaches the operator's authorizer within its
// cache's TTL of a denial: a refusal is retried for a minute.
func scrape(ctx context.Context, t *testing.T, url, token string) []apimetrics.Sample {
	t.Helper()
	// The operator's metrics certificate is self-signed (controller-runtime's
	// default): what matters here is what it counted.
	hc := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	var samples []apimetrics.Sample
	what := fmt.Sprintf("GET %s as %s bound to %s to succeed", url, scraper, metricsReaderRole)
	err = wait.For(ctx, wait.Options{What: what, Interval: 2 * time.Second, Timeout: time.Minute}, func(context.Context) (bool, string, error) {
		resp, err := hc.Do(req)
		if err != nil {
			return false, "", fmt.Errorf("GET %s: %w", url, err)
		}
		defer resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return false, resp.Status, nil
		}
		samples, err = apimetrics.Parse(resp.Body)
		return err == nil, "", err
	})
	if err != nil {
		t.Fatal(err)
	}
	return samples
}
