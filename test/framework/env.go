// Package framework holds what the cluster tests (test/...) share.
package framework

import (
	"os"
	"testing"
)

// Env is the environment variable key, which the make target that runs the
// test sets; unset, the test stops and names that target.
func Env(t testing.TB, key, target string) string {
	t.Helper()
	v := os.Getenv(key)
	if v == "" {
		t.Fatalf("%s is not set: run 'make %s', which sets it", key, target)
	}
	return v
}
