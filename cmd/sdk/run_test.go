package main

import (
	"bytes"
	"testing"

	"github.com/example-inc/memcached-operator/internal/wait"
)

func TestPrintStall(t *testing.T) {
	var b bytes.Buffer
	printStall(&b, &wait.Error{
		What:      "timed out after 5m0s waiting for ClusterServiceVersion ns/op.v1 to succeed",
		LastState: `phase "Installing"`,
		Diagnosis: "  Deployment ns/op: 0/1 available\n",
	})
	want := "error: timed out after 5m0s waiting for ClusterServiceVersion ns/op.v1 to succeed; last seen: phase \"Installing\"; what OLM reports:\n" +
		"  Deployment ns/op: 0/1 available\n"
	if b.String() != want {
		t.Errorf("printed:\n%s\nwant:\n%s", b.String(), want)
	}
}
