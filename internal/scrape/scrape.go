// Package scrape reads a running operator's metrics endpoint, as the
// benchmarks and the reliability harness do: plain HTTP, or https with a
// ServiceAccount token as a scraper of the shipped operator does.
package scrape

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/example-inc/memcached-operator/internal/apimetrics"
)

// Endpoint is where the operator's metrics are and how they are read.
type Endpoint struct {
	URL   string
	token string
	hc    *http.Client
}

// Plain reads http://addr/metrics.
func Plain(addr string) Endpoint {
	return Endpoint{URL: "http://" + addr + "/metrics", hc: &http.Client{Timeout: 10 * time.Second}}
}

// Secure reads https://addr/metrics with token. The operator's certificate
// is controller-runtime's self-signed one (no --metrics-cert-dir here), so
// it is not verified: what is measured is the operator serving an
// authenticated scraper.
func Secure(addr, token string) Endpoint {
	tr := &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}
	return Endpoint{URL: "https://" + addr + "/metrics", token: token, hc: &http.Client{Timeout: 10 * time.Second, Transport: tr}}
}

// get reads the endpoint; a status other than 200 is an error.
func (m Endpoint) get() (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, m.URL, nil)
	if err != nil {
		return nil, err
	}
	if m.token != "" {
		req.Header.Set("Authorization", "Bearer "+m.token)
	}
	resp, err := m.hc.Do(req)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		resp.Body.Close()
		return nil, fmt.Errorf("GET %s: %s", m.URL, resp.Status)
	}
	return resp, nil
}

// Requests reads memcached_operator_api_requests_total as "verb resource
// code" -> count.
func (m Endpoint) Requests() (map[string]int, error) {
	resp, err := m.get()
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	samples, err := apimetrics.Parse(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range samples {
		out[s.Verb+" "+s.Resource+" "+s.Code] = int(s.Count)
	}
	return out, nil
}

// Sum is the sum of every series of a metric the operator serves.
func (m Endpoint) Sum(name string) (float64, error) {
	resp, err := m.get()
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}
