// Package metricsauth guards the operator's metrics endpoint the way
// kube-rbac-proxy and the kubebuilder scaffold do: a request must carry a
// bearer token that the API server authenticates (a TokenReview), for a user
// the API server authorizes to get the path (a SubjectAccessReview on the
// non-resource URL). It talks to the API server with client-go alone, so the
// operator does not link k8s.io/apiserver (and its CEL, gRPC and tracing
// dependencies): that library was a third of the binary and 15 MiB of the
// operator's resident memory (docs/benchmarks.md, B1).
package metricsauth

import (
	"context"
	"crypto/sha256"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Options are how long answers are remembered and how long a review may take.
// The zero value takes the defaults, which are kube-rbac-proxy's and
// controller-runtime's: a token for a minute, an allow for five minutes, a
// deny for 30 seconds.
type Options struct {
	TokenTTL, AllowTTL, DenyTTL time.Duration
	// Timeout bounds each review request.
	Timeout time.Duration
	// Now is the clock (tests); time.Now when nil.
	Now func() time.Time
}

func (o Options) withDefaults() Options {
	if o.TokenTTL == 0 {
		o.TokenTTL = time.Minute
	}
	if o.AllowTTL == 0 {
		o.AllowTTL = 5 * time.Minute
	}
	if o.DenyTTL == 0 {
		o.DenyTTL = 30 * time.Second
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return o
}

// FilterProvider is a metricsserver.Options.FilterProvider with default
// Options. The operator's ServiceAccount needs create on tokenreviews and
// subjectaccessreviews (config/rbac/metrics_auth_role.yaml); a scraper needs
// get on the nonResourceURL /metrics (config/rbac/metrics_reader_role.yaml).
func FilterProvider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	return Options{}.FilterProvider(cfg, httpClient)
}

// FilterProvider is a metricsserver.Options.FilterProvider with o.
func (o Options) FilterProvider(cfg *rest.Config, httpClient *http.Client) (metricsserver.Filter, error) {
	authn, err := authnclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("metrics authentication client: %w", err)
	}
	authz, err := authzclient.NewForConfigAndClient(cfg, httpClient)
	if err != nil {
		return nil, fmt.Errorf("metrics authorization client: %w", err)
	}
	g := &guard{o: o.withDefaults(), tokens: authn.TokenReviews(), access: authz.SubjectAccessReviews()}
	return func(log logr.Logger, next http.Handler) (http.Handler, error) {
		return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
			if code, msg := g.check(req, log); code != http.StatusOK {
				http.Error(w, msg, code)
				return
			}
			next.ServeHTTP(w, req)
		}), nil
	}, nil
}

// guard holds the review clients and what they answered.
type guard struct {
	o      Options
	tokens authnclient.TokenReviewInterface
	access authzclient.SubjectAccessReviewInterface
	// users maps a token's hash to who it is; decisions maps a user and a
	// request to whether it is allowed.
	users     ttlCache[[sha256.Size]byte, *authenticationv1.UserInfo]
	decisions ttlCache[string, bool]
}

// check returns 200 when req may be served, else the status and the message
// for the client.
func (g *guard) check(req *http.Request, log logr.Logger) (int, string) {
	token, ok := bearerToken(req)
	if !ok {
		return http.StatusUnauthorized, "Unauthorized: send a ServiceAccount token as 'Authorization: Bearer <token>'"
	}
	ctx, cancel := context.WithTimeout(req.Context(), g.o.Timeout)
	defer cancel()
	user, err := g.authenticate(ctx, token)
	if err != nil {
		log.Error(err, "metrics request: token review failed")
		return http.StatusInternalServerError, "Authentication failed"
	}
	if user == nil {
		return http.StatusUnauthorized, "Unauthorized: the token is not valid"
	}
	verb := strings.ToLower(req.Method)
	allowed, err := g.authorize(ctx, user, verb, req.URL.Path)
	if err != nil {
		log.Error(err, "metrics request: access review failed", "user", user.Username)
		return http.StatusInternalServerError, fmt.Sprintf("Authorization for user %s failed", user.Username)
	}
	if !allowed {
		return http.StatusForbidden, fmt.Sprintf("Forbidden: user %s may not %s %s (bind it to a ClusterRole granting nonResourceURLs %s, verbs %s)", user.Username, verb, req.URL.Path, req.URL.Path, verb)
	}
	return http.StatusOK, ""
}

// bearerToken is the request's "Authorization: Bearer" token.
func bearerToken(req *http.Request) (string, bool) {
	scheme, token, ok := strings.Cut(req.Header.Get("Authorization"), " ")
	if !ok || !strings.EqualFold(scheme, "bearer") {
		return "", false
	}
	token = strings.TrimSpace(token)
	return token, token != ""
}

// authenticate returns who token is, or nil when the API server does not
// accept it. Only the token's hash is kept.
func (g *guard) authenticate(ctx context.Context, token string) (*authenticationv1.UserInfo, error) {
	key := sha256.Sum256([]byte(token))
	now := g.o.Now()
	if user, ok := g.users.get(key, now); ok {
		return user, nil
	}
	review, err := g.tokens.Create(ctx, &authenticationv1.TokenReview{Spec: authenticationv1.TokenReviewSpec{Token: token}}, metav1.CreateOptions{})
	if err != nil {
		return nil, err
	}
	var user *authenticationv1.UserInfo
	if review.Status.Authenticated {
		user = &review.Status.User
	}
	g.users.put(key, user, now, g.o.TokenTTL)
	return user, nil
}

// authorize asks the API server whether user may verb path.
func (g *guard) authorize(ctx context.Context, user *authenticationv1.UserInfo, verb, path string) (bool, error) {
	key := strings.Join([]string{user.Username, user.UID, strings.Join(user.Groups, ","), verb, path}, "\x00")
	now := g.o.Now()
	if allowed, ok := g.decisions.get(key, now); ok {
		return allowed, nil
	}
	extra := make(map[string]authorizationv1.ExtraValue, len(user.Extra))
	for k, v := range user.Extra {
		extra[k] = authorizationv1.ExtraValue(v)
	}
	review, err := g.access.Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
		User: user.Username, UID: user.UID, Groups: user.Groups, Extra: extra,
		NonResourceAttributes: &authorizationv1.NonResourceAttributes{Path: path, Verb: verb},
	}}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	allowed := review.Status.Allowed && !review.Status.Denied
	ttl := g.o.DenyTTL
	if allowed {
		ttl = g.o.AllowTTL
	}
	g.decisions.put(key, allowed, now, ttl)
	return allowed, nil
}

// maxEntries bounds each cache: a flood of distinct tokens costs reviews,
// not memory.
const maxEntries = 1024

// ttlCache remembers values until their deadline.
type ttlCache[K comparable, V any] struct {
	mu      sync.Mutex
	entries map[K]ttlEntry[V]
}

type ttlEntry[V any] struct {
	value    V
	deadline time.Time
}

func (c *ttlCache[K, V]) get(k K, now time.Time) (V, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.entries[k]
	if !ok || !now.Before(e.deadline) {
		var zero V
		return zero, false
	}
	return e.value, true
}

// put remembers v for ttl from now. A full cache first drops what has
// expired, and everything if that is not enough.
func (c *ttlCache[K, V]) put(k K, v V, now time.Time, ttl time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.entries == nil {
		c.entries = map[K]ttlEntry[V]{}
	}
	if len(c.entries) >= maxEntries {
		for key, e := range c.entries {
			if !now.Before(e.deadline) {
				delete(c.entries, key)
			}
		}
		if len(c.entries) >= maxEntries {
			clear(c.entries)
		}
	}
	c.entries[k] = ttlEntry[V]{value: v, deadline: now.Add(ttl)}
}
