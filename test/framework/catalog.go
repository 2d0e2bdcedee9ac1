package framework

import (
	"context"
	"os"
	"testing"

	"github.com/operator-framework/operator-registry/alpha/declcfg"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/graph"
)

// AnalyzeCatalog is our analysis of the catalog in dir (internal/catalog):
// the upgrade paths the scenarios expect OLM to take. A catalog with errors
// ends the test.
func AnalyzeCatalog(t testing.TB, dir string) *graph.Report {
	t.Helper()
	ctx := context.Background()
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	report, err := catalog.Analyze(ctx, fbc)
	if err != nil || report.Errors() > 0 {
		t.Fatalf("catalog analysis of %s: %v %v", dir, err, report)
	}
	return report
}

// Channel is the channel's report; empty when the catalog has no such channel.
func Channel(report *graph.Report, name string) graph.ChannelReport {
	for _, c := range report.Channels {
		if c.Name == name {
			return c
		}
	}
	return graph.ChannelReport{}
}
