package main

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"

	"github.com/example-inc/memcached-operator/internal/freeport"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// TestMetricsCertDir: with --metrics-cert-dir, the metrics server the
// manager would run serves the certificate found there, not a self-signed
// one of its own.
func TestMetricsCertDir(t *testing.T) {
	dir := t.TempDir()
	want := writeCert(t, dir)
	addr, err := freeport.Local()
	if err != nil {
		t.Fatal(err)
	}
	o := &options{metricsAddr: addr, secureMetrics: true, metricsCertDir: dir}
	if err := checkMetricsCertDir(o); err != nil {
		t.Fatal(err)
	}
	// No API server: the TLS handshake needs none, and no request is
	// scraped, so the filter never sends a review.
	srv, err := metricsserver.NewServer(metricsOptions(o), &rest.Config{Host: "https://127.0.0.1:1"}, http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Start(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("metrics server: %v", err)
		}
	})
	if got := servedCert(t, addr); !bytes.Equal(got, want) {
		t.Errorf("the metrics server at %s serves another certificate than %s's tls.crt", addr, dir)
	}
}

// TestMetricsOptionsCertDir: without --metrics-cert-dir the options leave
// the certificate to controller-runtime (self-signed), as before the flag.
func TestMetricsOptionsCertDir(t *testing.T) {
	for _, tc := range []struct {
		dir                string
		wantDir, cert, key string
	}{
		{"", "", "", ""},
		{"/tmp/k8s-metrics-server/metrics-certs", "/tmp/k8s-metrics-server/metrics-certs", "tls.crt", "tls.key"},
	} {
		got := metricsOptions(&options{metricsAddr: ":8443", secureMetrics: true, metricsCertDir: tc.dir})
		if got.CertDir != tc.wantDir || got.CertName != tc.cert || got.KeyName != tc.key {
			t.Errorf("--metrics-cert-dir=%q: CertDir %q, CertName %q, KeyName %q; want %q, %q, %q", tc.dir, got.CertDir, got.CertName, got.KeyName, tc.wantDir, tc.cert, tc.key)
		}
	}
}

// TestCheckMetricsCertDir: a directory missing the certificate or the key,
// or one given with plain http, is refused with the reason.
func TestCheckMetricsCertDir(t *testing.T) {
	complete, empty := t.TempDir(), t.TempDir()
	writeCert(t, complete)
	for _, tc := range []struct {
		what    string
		o       options
		wantErr string
	}{
		{"unset", options{secureMetrics: true}, ""},
		{"tls.crt and tls.key", options{secureMetrics: true, metricsCertDir: complete}, ""},
		{"empty directory", options{secureMetrics: true, metricsCertDir: empty}, "tls.crt"},
		{"plain http", options{metricsCertDir: complete}, "--metrics-secure=false"},
	} {
		err := checkMetricsCertDir(&tc.o)
		if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
			t.Errorf("%s: %v, want an error naming %q", tc.what, err, tc.wantErr)
		}
	}
}

// writeCert writes a new self-signed certificate for 127.0.0.1 and its key
// to dir as tls.crt and tls.key, and returns the certificate (DER).
func writeCert(t *testing.T, dir string) []byte {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial, Subject: pkix.Name{CommonName: "memcached-operator-metrics-test"},
		NotBefore: time.Now().Add(-time.Minute), NotAfter: time.Now().Add(time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	writePEM(t, filepath.Join(dir, "tls.crt"), "CERTIFICATE", der)
	writePEM(t, filepath.Join(dir, "tls.key"), "PRIVATE KEY", keyDER)
	return der
}

func writePEM(t *testing.T, path, kind string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: kind, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

// servedCert is the leaf certificate (DER) the metrics server at addr
// presents, once it listens. Without a token it must answer 401: the
// authentication filter is in place.
func servedCert(t *testing.T, addr string) []byte {
	t.Helper()
	c := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{InsecureSkipVerify: true}, //nolint:gosec // the test compares the certificate itself
	}}
	var leaf []byte
	err := wait.For(context.Background(), wait.Options{What: "an https answer from the metrics server at " + addr, Timeout: 30 * time.Second}, func(context.Context) (bool, string, error) {
		resp, err := c.Get("https://" + addr + "/metrics")
		if err != nil {
			return false, err.Error(), nil
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			return false, "", wait.Failed("GET /metrics without a token: %s, want 401", resp.Status)
		}
		leaf = resp.TLS.PeerCertificates[0].Raw
		return true, "", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return leaf
}
