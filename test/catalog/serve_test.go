//go:build serve

// Package catalog serves the rendered catalog with opm and asks it what OLM
// asks over the registry gRPC API, checking the answers against the
// upgrade analysis of the same catalog.
package catalog

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/operator-framework/operator-registry/pkg/api"
	"github.com/operator-framework/operator-registry/pkg/client"

	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/graph"
	"github.com/example-inc/memcached-operator/internal/wait"
)

func TestServedCatalogMatchesAnalysis(t *testing.T) {
	opm, dir := os.Getenv("OPM"), os.Getenv("CATALOG_DIR")
	if opm == "" || dir == "" {
		t.Fatal("OPM and CATALOG_DIR must be set: run 'make test-catalog'")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	report := analyze(t, ctx, dir)
	addr := serve(t, ctx, opm, dir)
	c, err := client.NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitHealthy(t, ctx, c)

	checkPackages(t, ctx, c, report)
	checkChannels(t, ctx, c, report)
	served, targets := servedEdges(t, ctx, c)
	checkEdges(t, report, served)
	checkReplacements(t, ctx, c, report, targets)
}

// analyze loads the catalog in dir and runs the upgrade analysis on it, which
// must find no errors.
func analyze(t *testing.T, ctx context.Context, dir string) *graph.Report {
	t.Helper()
	cfg, err := declcfg.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	report, err := catalog.Analyze(ctx, cfg)
	if err != nil || report.Errors() > 0 {
		t.Fatalf("analysis: %v %v", err, report.Problems)
	}
	return report
}

// checkPackages: the catalog serves the analysed package and no other.
func checkPackages(t *testing.T, ctx context.Context, c *client.Client, report *graph.Report) {
	t.Helper()
	st, err := c.Registry.ListPackages(ctx, &api.ListPackageRequest{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for {
		p, err := st.Recv()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name)
	}
	if !slices.Equal(names, []string{report.Package}) {
		t.Fatalf("packages = %v, want [%s]", names, report.Package)
	}
}

// checkChannels: channels, their heads and the default channel are served as
// the analysis says.
func checkChannels(t *testing.T, ctx context.Context, c *client.Client, report *graph.Report) {
	t.Helper()
	pkg, err := c.GetPackage(ctx, report.Package)
	if err != nil {
		t.Fatal(err)
	}
	if pkg.DefaultChannelName != report.DefaultChannel {
		t.Errorf("default channel = %s, want %s", pkg.DefaultChannelName, report.DefaultChannel)
	}
	heads := map[string]string{}
	for _, ch := range pkg.Channels {
		heads[ch.Name] = ch.CsvName
	}
	for _, ch := range report.Channels {
		if heads[ch.Name] != ch.Head {
			t.Errorf("channel %s: served head %s, analysis says %s", ch.Name, heads[ch.Name], ch.Head)
		}
		// The bundle OLM installs for a new Subscription to the channel.
		b, err := c.GetBundleInPackageChannel(ctx, report.Package, ch.Name)
		if err != nil || b.CsvName != ch.Head {
			t.Errorf("channel %s: bundle for channel = %v (%v), want %s", ch.Name, b.GetCsvName(), err, ch.Head)
		}
	}
}

// servedEdges lists the replaces/skips edges the catalog serves, as
// "channel:from>to", and the served targets of each "channel:from". Every
// bundle must be served with its manifests inline.
func servedEdges(t *testing.T, ctx context.Context, c *client.Client) (served map[string]bool, targets map[string][]string) {
	t.Helper()
	served = map[string]bool{}
	targets = map[string][]string{}
	it, err := c.ListBundles(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for b := it.Next(); b != nil; b = it.Next() {
		for _, from := range append([]string{b.Replaces}, b.Skips...) {
			if from == "" {
				continue
			}
			served[fmt.Sprintf("%s:%s>%s", b.ChannelName, from, b.CsvName)] = true
			targets[b.ChannelName+":"+from] = append(targets[b.ChannelName+":"+from], b.CsvName)
		}
		if b.CsvJson == "" || len(b.Object) == 0 {
			t.Errorf("%s in %s is served without inline manifests: OLM would need an unpack Job", b.CsvName, b.ChannelName)
		}
	}
	if err := it.Error(); err != nil {
		t.Fatal(err)
	}
	return served, targets
}

// checkEdges: every replaces/skips edge the analysis found is served; any
// other served edge leads to a bundle the analysis reports as pruned.
func checkEdges(t *testing.T, report *graph.Report, served map[string]bool) {
	t.Helper()
	pruned := map[string]bool{}
	for _, ch := range report.Channels {
		for _, s := range ch.Skipped {
			pruned[ch.Name+":"+s] = true
		}
	}
	predicted := map[string]bool{}
	for _, e := range report.Edges {
		if e.By == "skipRange" {
			continue // skipRange is resolved by OLM, not served as an edge
		}
		key := fmt.Sprintf("%s:%s>%s", e.Channel, e.From, e.To)
		predicted[key] = true
		if !served[key] {
			t.Errorf("edge %s (by %s) is not served", key, e.By)
		}
	}
	for key := range served {
		if predicted[key] {
			continue
		}
		var ch, from, to string
		fmt.Sscanf(strings.NewReplacer(":", " ", ">", " ").Replace(key), "%s %s %s", &ch, &from, &to)
		if !pruned[ch+":"+to] {
			t.Errorf("served edge %s is neither predicted nor to a pruned bundle", key)
		}
	}
}

// checkReplacements: the bundle that replaces a given one, where the catalog
// names exactly one, is the one served for that edge.
func checkReplacements(t *testing.T, ctx context.Context, c *client.Client, report *graph.Report, targets map[string][]string) {
	t.Helper()
	for key, tos := range targets {
		if len(tos) != 1 {
			continue
		}
		parts := strings.SplitN(key, ":", 2)
		b, err := c.GetReplacementBundleInPackageChannel(ctx, parts[1], report.Package, parts[0])
		if err != nil || b.CsvName != tos[0] {
			t.Errorf("channel %s: bundle that replaces %s = %v (%v), want %s", parts[0], parts[1], b.GetCsvName(), err, tos[0])
		}
	}
}

func serve(t *testing.T, ctx context.Context, opm, dir string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	logs, err := os.Create(filepath.Join(t.TempDir(), "opm.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, opm, "serve", dir, "-p", fmt.Sprint(port), "--pprof-addr=", "-t", filepath.Join(t.TempDir(), "termination.log"))
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logs.Name())
			t.Logf("opm serve log:\n%s", b)
		}
	})
	return fmt.Sprintf("127.0.0.1:%d", port)
}

func waitHealthy(t *testing.T, ctx context.Context, c *client.Client) {
	t.Helper()
	err := wait.For(ctx, wait.Options{What: "opm serve to become healthy", Interval: 200 * time.Millisecond}, func(ctx context.Context) (bool, string, error) {
		ok, err := c.HealthCheck(ctx, 2*time.Second)
		if err != nil {
			return false, err.Error(), nil
		}
		return ok, "", nil
	})
	if err != nil {
		t.Fatalf("opm serve did not become healthy: %v", err)
	}
}
