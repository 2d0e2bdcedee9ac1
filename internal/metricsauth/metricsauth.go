// Package metricsauth guards the operator's metrics endpoint the way
// kube-rbac-proxy and the kubebuilder scaffold do: a request must carry a
// bearer token that the API server authenticates (a TokenReview), for a user
// the API server authorizes to get the path (a SubjectAccessReview on the
// non-resource URL). The token is removed from the request before the
// metrics handler sees it. Answers are remembered in bounded LRU caches, each
// for its own TTL: a token's user under the token's hash, a decision under
// the hash of the whole SubjectAccessReview spec (user, UID, groups, extra,
// path and verb), so a token with narrower scopes never borrows another
// token's allow. A review that fails transiently (5xx, 429, timeouts, lost
// connections) is retried a few times within the review's timeout; a failure
// is never remembered.
//
// It talks to the API server with client-go alone, so the operator does not
// link k8s.io/apiserver (and its CEL, gRPC and tracing dependencies): that
// library was a third of the binary and 15 MiB of the operator's resident
// memory (docs/benchmarks.md, B1).
package metricsauth

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"k8s.io/apimachinery/pkg/util/cache"
	"k8s.io/apimachinery/pkg/util/wait"
	authnclient "k8s.io/client-go/kubernetes/typed/authentication/v1"
	authzclient "k8s.io/client-go/kubernetes/typed/authorization/v1"
	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
)

// Options are how long answers are remembered, how many, and how long and
// how often a review may be tried. The zero value takes the defaults, which
// are kube-rbac-proxy's and controller-runtime's: a token for a minute, an
// allow for five minutes, a deny for 30 seconds.
type Options struct {
	TokenTTL, AllowTTL, DenyTTL time.Duration
	// CacheSize bounds each cache (tokens, decisions); the least recently
	// used entry makes room. A flood of distinct tokens costs reviews, not
	// memory.
	CacheSize int
	// Timeout bounds the reviews of one request, retries included.
	Timeout time.Duration
	// Retry is the backoff between attempts of a review that failed
	// transiently; Steps is the number of attempts (1: no retry; 0: the
	// default).
	Retry wait.Backoff
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
	if o.CacheSize == 0 {
		o.CacheSize = 1024
	}
	if o.Timeout == 0 {
		o.Timeout = 10 * time.Second
	}
	if o.Retry.Steps == 0 {
		// Three attempts, 100 ms and 200 ms apart: a leader change or an
		// overloaded API server passes, a scrape still answers in time.
		o.Retry = wait.Backoff{Steps: 3, Duration: 100 * time.Millisecond, Factor: 2, Jitter: 0.1, Cap: time.Second}
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
	o = o.withDefaults()
	g := &guard{
		o:         o,
		tokens:    authn.TokenReviews(),
		access:    authz.SubjectAccessReviews(),
		users:     cache.NewLRUExpireCacheWithClock(o.CacheSize, clockFunc(o.Now)),
		decisions: cache.NewLRUExpireCacheWithClock(o.CacheSize, clockFunc(o.Now)),
	}
	return g.filter, nil
}

// clockFunc is Options.Now as the caches' clock.
type clockFunc func() time.Time

func (f clockFunc) Now() time.Time { return f() }

// guard holds the review clients and what they answered.
type guard struct {
	o      Options
	tokens authnclient.TokenReviewInterface
	access authzclient.SubjectAccessReviewInterface
	// users maps a token's hash to who it is (nil: not a valid token);
	// decisions maps a SubjectAccessReview spec's hash to whether it is
	// allowed. Neither holds errors.
	users, decisions *cache.LRUExpireCache
}

// filter is the metricsserver.Filter: it serves next only what check lets
// through, and without the bearer token, which next has no use for and
// must not be able to leak (a handler that logs or forwards headers).
func (g *guard) filter(log logr.Logger, next http.Handler) (http.Handler, error) {
	return http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		if code, msg := g.check(req, log); code != http.StatusOK {
			http.Error(w, msg, code)
			return
		}
		req.Header.Del("Authorization")
		next.ServeHTTP(w, req)
	}), nil
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
	allowed, err := g.authorize(ctx, accessSpec(user, verb, req.URL.Path))
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
