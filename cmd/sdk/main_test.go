package main

import (
	"flag"
	"slices"
	"testing"
)

func TestReorder(t *testing.T) {
	fs := flag.NewFlagSet("cleanup", flag.ContinueOnError)
	fs.Bool("delete-crds", false, "")
	fs.String("namespace", "", "")
	got := reorder(fs, []string{"pkg", "--namespace", "ns", "--delete-crds", "--timeout=30s", "-o", "json"})
	want := []string{"--namespace", "ns", "--delete-crds", "--timeout=30s", "-o", "json", "pkg"}
	if !slices.Equal(got, want) {
		t.Errorf("reorder = %v, want %v", got, want)
	}
}
