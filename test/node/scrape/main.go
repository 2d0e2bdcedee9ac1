// Command scrape is the metrics client of the real-node tests: run in a pod, it
// GETs a URL with the pod's service account token, prints the HTTP status and
// exits 0 for 200, 43 for 403 and 1 otherwise, so the test reads the answer
// from the container's exit code.
package main

import (
	"crypto/tls"
	"fmt"
	"net/http"
	"os"
	"strings"
	"time"
)

const tokenPath = "/var/run/secrets/kubernetes.io/serviceaccount/token"

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: scrape URL")
		os.Exit(2)
	}
	token, err := os.ReadFile(tokenPath)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req, err := http.NewRequest(http.MethodGet, os.Args[1], nil)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	// The operator's metrics certificate is self-signed (controller-runtime's
	// default); what is tested is authentication and authorization.
	c := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{InsecureSkipVerify: true}}}
	resp, err := c.Do(req)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	defer resp.Body.Close()
	fmt.Println(resp.Status)
	switch resp.StatusCode {
	case http.StatusOK:
		os.Exit(0)
	case http.StatusForbidden:
		os.Exit(43)
	}
	os.Exit(1)
}
