package apimetrics

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"reflect"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct{ method, path, verb, resource string }{
		{"GET", "/apis/cache.example.com/v1/memcacheds?watch=true", "watch", "memcacheds"},
		{"GET", "/apis/cache.example.com/v1/namespaces/a/memcacheds", "list", "memcacheds"},
		{"GET", "/apis/apps/v1/namespaces/a/deployments/x", "get", "deployments"},
		{"PATCH", "/apis/cache.example.com/v1/namespaces/a/memcacheds/x/status", "patch", "memcacheds/status"},
		{"POST", "/apis/apps/v1/namespaces/a/deployments", "create", "deployments"},
		{"PUT", "/apis/apps/v1/namespaces/a/deployments/x", "update", "deployments"},
		{"GET", "/api/v1/namespaces/a/pods", "list", "pods"},
		{"GET", "/api/v1/namespaces", "list", "namespaces"},
		{"POST", "/apis/events.k8s.io/v1/namespaces/a/events", "create", "events"},
	} {
		u, _ := url.Parse("https://x" + tc.path)
		verb, res := Classify(&http.Request{Method: tc.method, URL: u})
		if verb != tc.verb || res != tc.resource {
			t.Errorf("%s %s = %s %s, want %s %s", tc.method, tc.path, verb, res, tc.verb, tc.resource)
		}
	}
}

// TestParse reads back what the metrics endpoint serves for Requests, and
// names a malformed line.
func TestParse(t *testing.T) {
	reg := prometheus.NewRegistry()
	c := prometheus.NewCounterVec(prometheus.CounterOpts{Name: requestsName, Help: "h"}, []string{"verb", "resource", "code"})
	reg.MustRegister(c)
	c.WithLabelValues("patch", "memcacheds/status", "200").Add(3)
	c.WithLabelValues("watch", "deployments", "200").Inc()
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/metrics", nil))
	got, err := Parse(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	// Series come sorted by label values, code first.
	want := []Sample{{"watch", "deployments", "200", 1}, {"patch", "memcacheds/status", "200", 3}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Parse = %+v, want %+v", got, want)
	}
	_, err = Parse(strings.NewReader(requestsName + `{verb="get",resource="pods",code="200"} many` + "\n"))
	if err == nil || !strings.Contains(err.Error(), "many") {
		t.Errorf("a malformed value: err = %v, want it named", err)
	}
}
