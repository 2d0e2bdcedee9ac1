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
)

func TestServedCatalogMatchesAnalysis(t *testing.T) {
	opm, dir := os.Getenv("OPM"), os.Getenv("CATALOG_DIR")
	if opm == "" || dir == "" {
		t.Fatal("OPM and CATALOG_DIR must be set: run 'make test-catalog'")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	cfg, err := declcfg.LoadFS(ctx, os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	report, err := catalog.Analyze(ctx, cfg)
	if err != nil || report.Errors() > 0 {
		t.Fatalf("analysis: %v %v", err, report.Problems)
	}

	addr := serve(t, ctx, opm, dir)
	c, err := client.NewClient(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	waitHealthy(t, ctx, c)

	// Packages.
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

	// Channels, their heads and the default channel.
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

	// Every replaces/skips edge the analysis found is served; any other
	// served edge leads to a bundle the analysis reports as pruned.
	served := map[string]bool{}
	targets := map[string][]string{} // channel:from -> served targets
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

	// The bundle that replaces a given one, where the catalog names one.
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
	for {
		if ok, _ := c.HealthCheck(ctx, 2*time.Second); ok {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatal("opm serve did not become healthy")
		case <-time.After(200 * time.Millisecond):
		}
	}
}
