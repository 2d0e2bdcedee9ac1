package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// docSection is one benchmark's section of docs/benchmarks.md: its table
// and JSON in the results directory, under a title and what it measures.
type docSection struct {
	name, title, intro string
}

var docSections = []docSection{
	{"reconcile", "B1: reconcile at scale", "N Memcacheds (size 1 to 3) created at once in 10 namespaces on a local cluster (real kube-apiserver, controller-manager and scheduler; kwok nodes, 110 pods each) created with `--disable-qps-limits`, against the operator binary with the flags its Deployment ships."},
	{"catalog", "B2: catalog tooling at scale", "Generated catalogs (the generator is part of the benchmark: three channels, replaces chains, skips and skipRange; with manifests, CRDs that evolve release by release) rendered, loaded, validated with operator-registry's model checks, and analysed (paths, switches, edges, CRD checks), each in its own process, and `opm validate` on the same directory."},
	{"lifecycle-real", "B3: lifecycle on a real node", "From nothing running (binaries and images built) to a cluster with a real node and OLM in it, then `make demo`'s lifecycle: CatalogSource from the catalog image, the oldest release of `candidate` installed (OLM unpacks its bundle image and runs its operator image), every hop to the channel head approved with OLM rolling the operator pod and the Memcached reconciled by each new operator, memcached answering. Three runs, the cluster torn down before each; figures are the median (min-max). The whole stack's resident memory (control plane, node daemons, every pod) is sampled every second. Targets: nothing running to the first CSV Succeeded in at most 45 s (`B3.first-csv`); each hop, from approval to the Memcached reconciled by the new operator, in at most 20 s (`B3.hop.<csv>`)."},
	{"lifecycle", "B3, simulated lane (no operator container runs)", "The simulated lane: kwok fakes the nodes and pods, so no operator container runs and a CSV Succeeded here says nothing about how long a real operator takes. It holds no targets (B3's targets are on the real lane above); it times the tooling and OLM's own resolution and InstallPlan pace. Three runs from nothing running (binaries built): a fresh local cluster with OLM on this machine, `run bundle` of the oldest release to its CSV Succeeded (operator-sdk's way: a one-bundle catalog served by opm here), `run bundle-upgrade` to each release in `config/catalog/releases` up to the newest, then cleanup."},
}

// resultFile is what save writes: where, the results, and the targets.
type resultFile struct {
	Machine map[string]any `json:"machine"`
	Targets []target       `json:"targets"`
}

// benchDoc writes docs/benchmarks.md from the results directory only: each
// section's table, a table of every target against its JSON, and the
// analysis (docs_test.go checks its figures and verdicts against them).
func benchDoc(args []string) error {
	fs := flag.NewFlagSet("doc", flag.ContinueOnError)
	dir := fs.String("dir", "docs/bench", "The results directory.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	return writeDoc(os.Stdout, *dir)
}

func writeDoc(w io.Writer, dir string) error {
	var b strings.Builder
	b.WriteString("# Benchmarks\n\n<!-- Written by `make bench` (bin/bench doc) from docs/bench. DO NOT EDIT. -->\n\n" +
		"Numbers from `make bench` on this project's machine (2 cores, 24 GiB). Each benchmark starts and stops what it needs, is bounded in time, and writes JSON next to its table (`docs/bench/*.json`, with the machine, the date and the commit measured; `+changes` marks a tree that differed from it). They measure; the targets below say what they promise.\n\n")
	var targets []target
	for _, s := range docSections {
		fmt.Fprintf(&b, "## %s\n\n%s\n\n", s.title, s.intro)
		table, err := os.ReadFile(filepath.Join(dir, s.name+".md"))
		if os.IsNotExist(err) {
			fmt.Fprintf(&b, "_not run yet: make bench-%s_\n\n", s.name)
			continue
		} else if err != nil {
			return err
		}
		rf, err := readResults(filepath.Join(dir, s.name+".json"))
		if err != nil {
			return err
		}
		targets = append(targets, rf.Targets...)
		b.Write(table)
		b.WriteString("\n")
	}
	b.WriteString("## Targets\n\n| target | what | median | limit | verdict |\n|---|---|---|---|---|\n")
	for _, t := range targets {
		fmt.Fprintf(&b, "| `%s` | %s | %s | %s | %s |\n", t.ID, t.What, withUnit(t.Value, t.Unit), withUnit(t.Limit, t.Unit), t.Verdict())
	}
	b.WriteString("\n")
	analysis, err := os.ReadFile(filepath.Join(dir, "analysis.md"))
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	b.Write(analysis)
	_, err = io.WriteString(w, b.String())
	return err
}

func withUnit(v float64, unit string) string {
	s := strings.TrimSuffix(strings.TrimRight(fmt.Sprintf("%.2f", v), "0"), ".")
	if unit == "" {
		return s
	}
	return s + " " + unit
}

// readResults reads a result file's machine and targets.
func readResults(path string) (resultFile, error) {
	var rf resultFile
	b, err := os.ReadFile(path)
	if err != nil {
		return rf, err
	}
	if err := json.Unmarshal(b, &rf); err != nil {
		return rf, fmt.Errorf("%s: %w", path, err)
	}
	return rf, nil
}
