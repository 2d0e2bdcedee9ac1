// Package apimetrics counts the operator's requests to the API server by
// verb, resource and status code, as a Prometheus counter on the manager's
// metrics endpoint: what the operator costs the cluster, in production and
// in the benchmarks.
package apimetrics

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"

	"github.com/prometheus/client_golang/prometheus"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/metrics"
)

// requestsName is Requests' name.
const requestsName = "memcached_operator_api_requests_total"

// Requests is memcached_operator_api_requests_total{verb,resource,code}.
var Requests = prometheus.NewCounterVec(prometheus.CounterOpts{
	Name: requestsName,
	Help: "Requests the operator made to the Kubernetes API server, by verb, resource and HTTP status code.",
}, []string{"verb", "resource", "code"})

func init() {
	metrics.Registry.MustRegister(Requests)
}

// Instrument makes every client built from cfg count its requests.
func Instrument(cfg *rest.Config) *rest.Config {
	cfg = rest.CopyConfig(cfg)
	prev := cfg.WrapTransport
	cfg.WrapTransport = func(rt http.RoundTripper) http.RoundTripper {
		if prev != nil {
			rt = prev(rt)
		}
		return roundTripper{rt}
	}
	return cfg
}

type roundTripper struct{ next http.RoundTripper }

func (r roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	code := "error"
	if err == nil {
		code = strconv.Itoa(resp.StatusCode)
	}
	verb, resource := Classify(req)
	Requests.WithLabelValues(verb, resource, code).Inc()
	return resp, err
}

// Classify names a request as Kubernetes does: the verb (get, list, watch,
// create, update, patch, delete) and the resource, with its subresource
// ("memcacheds/status").
func Classify(req *http.Request) (verb, resource string) {
	parts := strings.Split(strings.Trim(req.URL.Path, "/"), "/")
	// /api/v1/... or /apis/group/version/...
	switch {
	case len(parts) >= 2 && parts[0] == "api":
		parts = parts[2:]
	case len(parts) >= 3 && parts[0] == "apis":
		parts = parts[3:]
	default:
		return strings.ToLower(req.Method), "nonresource"
	}
	if len(parts) >= 2 && parts[0] == "namespaces" && len(parts) != 2 {
		parts = parts[2:]
	}
	named := len(parts) >= 2
	if len(parts) > 0 {
		resource = parts[0]
	}
	if len(parts) >= 3 {
		resource += "/" + parts[2]
	}
	switch req.Method {
	case http.MethodGet:
		switch {
		case req.URL.Query().Get("watch") == "true":
			verb = "watch"
		case named:
			verb = "get"
		default:
			verb = "list"
		}
	case http.MethodPost:
		verb = "create"
	case http.MethodPut:
		verb = "update"
	case http.MethodPatch:
		verb = "patch"
	case http.MethodDelete:
		verb = "delete"
	default:
		verb = strings.ToLower(req.Method)
	}
	return verb, resource
}

// Sample is one series of Requests as the metrics endpoint serves it.
type Sample struct {
	Verb, Resource, Code string
	Count                float64
}

// Parse reads Requests' series from the metrics endpoint's text format:
// what the benchmarks count and the permission check compares with what
// the operator is granted.
func Parse(r io.Reader) ([]Sample, error) {
	var out []Sample
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	prefix := requestsName + "{"
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, prefix) {
			continue
		}
		end := strings.LastIndex(line, "}")
		if end < 0 {
			return nil, fmt.Errorf("%s: no closing brace in %q", requestsName, line)
		}
		labels := map[string]string{}
		for _, kv := range strings.Split(line[len(prefix):end], ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		n, err := strconv.ParseFloat(strings.TrimSpace(line[end+1:]), 64)
		if err != nil {
			return nil, fmt.Errorf("%s: value of %q: %w", requestsName, line, err)
		}
		out = append(out, Sample{Verb: labels["verb"], Resource: labels["resource"], Code: labels["code"], Count: n})
	}
	return out, sc.Err()
}
