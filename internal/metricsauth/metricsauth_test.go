package metricsauth

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-logr/logr"
	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/rest"
	testingclock "k8s.io/utils/clock/testing"
)

// fakeAPI stands in for the API server's TokenReview and
// SubjectAccessReview endpoints, and counts what it is asked.
type fakeAPI struct {
	// users are who each token is; other tokens are not valid.
	users map[string]authenticationv1.UserInfo
	mu    sync.Mutex
	// allow decides a SubjectAccessReview.
	allow func(authorizationv1.SubjectAccessReviewSpec) bool
	// failTokens and failAccess are how many of the next reviews of each
	// kind fail with failCode.
	failTokens, failAccess atomic.Int32
	failCode               int
	tokens, access         atomic.Int32
}

func (a *fakeAPI) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	switch {
	case strings.HasSuffix(req.URL.Path, "/tokenreviews"):
		a.tokens.Add(1)
		if a.failTokens.Add(-1) >= 0 {
			http.Error(w, "etcdserver: leader changed", a.failCode)
			return
		}
		review := &authenticationv1.TokenReview{}
		if !decode(w, req, review) {
			return
		}
		review.Status.User, review.Status.Authenticated = a.users[review.Spec.Token]
		review.APIVersion, review.Kind = "authentication.k8s.io/v1", "TokenReview"
		_ = json.NewEncoder(w).Encode(review)
	case strings.HasSuffix(req.URL.Path, "/subjectaccessreviews"):
		a.access.Add(1)
		if a.failAccess.Add(-1) >= 0 {
			http.Error(w, "etcdserver: leader changed", a.failCode)
			return
		}
		review := &authorizationv1.SubjectAccessReview{}
		if !decode(w, req, review) {
			return
		}
		a.mu.Lock()
		review.Status.Allowed = a.allow(review.Spec)
		a.mu.Unlock()
		review.APIVersion, review.Kind = "authorization.k8s.io/v1", "SubjectAccessReview"
		_ = json.NewEncoder(w).Encode(review)
	default:
		http.NotFound(w, req)
	}
}

// decode reads the review sent into into, or answers 400.
func decode(w http.ResponseWriter, req *http.Request, into any) bool {
	if err := json.NewDecoder(req.Body).Decode(into); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return false
	}
	w.Header().Set("Content-Type", "application/json")
	return true
}

// setAllow changes how the fake API server decides.
func (a *fakeAPI) setAllow(allow func(authorizationv1.SubjectAccessReviewSpec) bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.allow = allow
}

// counts are the TokenReviews and SubjectAccessReviews sent so far.
func (a *fakeAPI) counts() [2]int32 { return [2]int32{a.tokens.Load(), a.access.Load()} }

// guarded is the filter with o, against api, around a handler that records
// the Authorization headers it is given.
type guarded struct {
	handler http.Handler
	// seen are the Authorization header values the metrics handler got,
	// "<none>" when the request had none.
	seen []string
}

func newGuarded(t *testing.T, api *fakeAPI, o Options) *guarded {
	t.Helper()
	srv := httptest.NewServer(api)
	t.Cleanup(srv.Close)
	// JSON, which the fake API server speaks, and no client-side rate
	// limit: the tests count requests, not wait on them.
	cfg := &rest.Config{Host: srv.URL, QPS: -1, ContentConfig: rest.ContentConfig{ContentType: "application/json"}}
	provider, err := o.FilterProvider(cfg, srv.Client())
	if err != nil {
		t.Fatal(err)
	}
	g := &guarded{}
	g.handler, err = provider(logr.Discard(), http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		auth, ok := req.Header["Authorization"]
		if !ok {
			auth = []string{"<none>"}
		}
		g.seen = append(g.seen, auth...)
		w.WriteHeader(http.StatusOK)
	}))
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// scrape GETs /metrics with token and returns the status code.
func (g *guarded) scrape(token string) int {
	req := httptest.NewRequest(http.MethodGet, "/metrics", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	rec := httptest.NewRecorder()
	g.handler.ServeHTTP(rec, req)
	return rec.Code
}

// allowScope allows users whose Extra scopes include scope.
func allowScope(scope string) func(authorizationv1.SubjectAccessReviewSpec) bool {
	return func(spec authorizationv1.SubjectAccessReviewSpec) bool {
		return slices.Contains(spec.Extra["scopes"], scope)
	}
}

func allowAll(authorizationv1.SubjectAccessReviewSpec) bool { return true }

func allowNone(authorizationv1.SubjectAccessReviewSpec) bool { return false }

// fast is a retry that does not slow the tests down.
var fast = wait.Backoff{Steps: 3, Duration: time.Millisecond, Factor: 2}

// TestExtraDecides: two tokens of one user (same name, UID and groups) that
// differ only in Extra get their own answers, so a token with narrower
// scopes does not borrow the allow of a wider one.
func TestExtraDecides(t *testing.T) {
	user := func(scope string) authenticationv1.UserInfo {
		return authenticationv1.UserInfo{Username: "scraper", UID: "1", Groups: []string{"monitoring"},
			Extra: map[string]authenticationv1.ExtraValue{"scopes": {scope}}}
	}
	api := &fakeAPI{users: map[string]authenticationv1.UserInfo{"wide": user("metrics"), "narrow": user("none")}, allow: allowScope("metrics")}
	g := newGuarded(t, api, Options{})
	if code := g.scrape("wide"); code != http.StatusOK {
		t.Fatalf("token with the metrics scope: %d, want 200", code)
	}
	if code := g.scrape("narrow"); code != http.StatusForbidden {
		t.Errorf("same user, token without the metrics scope: %d, want 403", code)
	}
	if got := api.access.Load(); got != 2 {
		t.Errorf("%d access reviews for two users differing in Extra, want 2", got)
	}
}

// TestDecisionKey: specs the API server could answer differently never
// share a cache key; equal specs always do.
func TestDecisionKey(t *testing.T) {
	base := func() authorizationv1.SubjectAccessReviewSpec {
		return accessSpec(&authenticationv1.UserInfo{Username: "u", UID: "1", Groups: []string{"a", "b"},
			Extra: map[string]authenticationv1.ExtraValue{"scopes": {"x"}, "node": {"n"}}}, "get", "/metrics")
	}
	specs := map[string]func(*authorizationv1.SubjectAccessReviewSpec){
		"base":                   func(*authorizationv1.SubjectAccessReviewSpec) {},
		"groups joined by comma": func(s *authorizationv1.SubjectAccessReviewSpec) { s.Groups = []string{"a,b"} },
		"user and UID shifted":   func(s *authorizationv1.SubjectAccessReviewSpec) { s.User, s.UID = "u,1", "" },
		"other extra value":      func(s *authorizationv1.SubjectAccessReviewSpec) { s.Extra["scopes"] = []string{"y"} },
		"no extra":               func(s *authorizationv1.SubjectAccessReviewSpec) { s.Extra = nil },
		"other path":             func(s *authorizationv1.SubjectAccessReviewSpec) { s.NonResourceAttributes.Path = "/debug" },
		"other verb":             func(s *authorizationv1.SubjectAccessReviewSpec) { s.NonResourceAttributes.Verb = "post" },
	}
	seen := map[[32]byte]string{}
	for name, change := range specs {
		spec := base()
		change(&spec)
		key, err := decisionKey(spec)
		if err != nil {
			t.Fatal(err)
		}
		if other, ok := seen[key]; ok {
			t.Errorf("%s and %s share a decision key", name, other)
		}
		seen[key] = name
		again, _ := decisionKey(spec)
		if again != key {
			t.Errorf("%s: two keys for one spec", name)
		}
	}
}

// TestDenyExpires: a deny is remembered for the deny TTL, then the API
// server is asked again and its new answer served.
func TestDenyExpires(t *testing.T) {
	clock := testingclock.NewFakeClock(time.Now())
	api := &fakeAPI{users: map[string]authenticationv1.UserInfo{"t": {Username: "u"}}, allow: allowNone}
	g := newGuarded(t, api, Options{Now: clock.Now, DenyTTL: 30 * time.Second, TokenTTL: time.Hour})
	if code := g.scrape("t"); code != http.StatusForbidden {
		t.Fatalf("denied user: %d, want 403", code)
	}
	api.setAllow(allowAll)
	clock.Step(29 * time.Second)
	if code := g.scrape("t"); code != http.StatusForbidden || api.access.Load() != 1 {
		t.Errorf("within the deny TTL: %d after %d access reviews, want the remembered 403 after 1", code, api.access.Load())
	}
	clock.Step(2 * time.Second)
	if code := g.scrape("t"); code != http.StatusOK || api.access.Load() != 2 {
		t.Errorf("after the deny TTL: %d after %d access reviews, want 200 after asking again (2)", code, api.access.Load())
	}
}

// TestTransientErrorsRetriedNotRemembered: a review answered 500 is tried
// Retry.Steps times, the failure is not remembered (the next request asks
// again), and a review that passes on a retry serves the request.
func TestTransientErrorsRetriedNotRemembered(t *testing.T) {
	for _, kind := range []string{"token", "access"} {
		t.Run(kind, func(t *testing.T) {
			api := &fakeAPI{users: map[string]authenticationv1.UserInfo{"t": {Username: "u"}}, allow: allowAll, failCode: http.StatusInternalServerError}
			fail, count := &api.failTokens, &api.tokens
			if kind == "access" {
				fail, count = &api.failAccess, &api.access
			}
			g := newGuarded(t, api, Options{Retry: fast})
			fail.Store(100)
			for i, want := range []int32{3, 6} {
				if code := g.scrape("t"); code != http.StatusInternalServerError || count.Load() != want {
					t.Errorf("request %d while the %s review fails: %d after %d reviews, want 500 after %d", i+1, kind, code, count.Load(), want)
				}
			}
			fail.Store(2)
			if code := g.scrape("t"); code != http.StatusOK || count.Load() != 9 {
				t.Errorf("%s review failing twice: %d after %d reviews, want 200 on the third attempt (9)", kind, code, count.Load())
			}
		})
	}
}

// TestPermanentErrorsNotRetried: a review the API server refuses (403: the
// operator may not create reviews) would fail again, so it is sent once.
func TestPermanentErrorsNotRetried(t *testing.T) {
	api := &fakeAPI{users: map[string]authenticationv1.UserInfo{"t": {Username: "u"}}, allow: allowAll, failCode: http.StatusForbidden}
	api.failAccess.Store(1)
	g := newGuarded(t, api, Options{Retry: fast})
	if code := g.scrape("t"); code != http.StatusInternalServerError || api.access.Load() != 1 {
		t.Errorf("access review refused: %d after %d reviews, want 500 after 1", code, api.access.Load())
	}
}

// TestTokenNotPassedOn: the metrics handler does not see the bearer token.
func TestTokenNotPassedOn(t *testing.T) {
	api := &fakeAPI{users: map[string]authenticationv1.UserInfo{"t": {Username: "u"}}, allow: allowAll}
	g := newGuarded(t, api, Options{})
	if code := g.scrape("t"); code != http.StatusOK {
		t.Fatalf("allowed user: %d, want 200", code)
	}
	if !slices.Equal(g.seen, []string{"<none>"}) {
		t.Errorf("the metrics handler got Authorization %q, want none", g.seen)
	}
}

// TestCacheEvictsLeastRecentlyUsed: past CacheSize, the least recently
// used answers make room, and only they: the others are still served
// without a review.
func TestCacheEvictsLeastRecentlyUsed(t *testing.T) {
	api := &fakeAPI{users: map[string]authenticationv1.UserInfo{"t1": {Username: "u1"}, "t2": {Username: "u2"}, "t3": {Username: "u3"}}, allow: allowAll}
	g := newGuarded(t, api, Options{CacheSize: 2})
	for _, step := range []struct {
		token string
		want  [2]int32 // token and access reviews sent so far
	}{
		{"t1", [2]int32{1, 1}},
		{"t2", [2]int32{2, 2}},
		{"t3", [2]int32{3, 3}}, // evicts t1
		{"t3", [2]int32{3, 3}},
		{"t2", [2]int32{3, 3}},
		{"t1", [2]int32{4, 4}}, // asked again; evicts t3, the least recently used
		{"t2", [2]int32{4, 4}},
	} {
		if code := g.scrape(step.token); code != http.StatusOK {
			t.Fatalf("%s: %d, want 200", step.token, code)
		}
		if got := api.counts(); got != step.want {
			t.Errorf("after %s: %v token and access reviews, want %v", step.token, got, step.want)
		}
	}
}
