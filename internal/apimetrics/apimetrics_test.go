package apimetrics

import (
	"net/http"
	"net/url"
	"testing"
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
