package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/example-inc/memcached-operator/internal/reliability"
)

// scenario is one row of docs/reliability.md (internal/reliability: the
// real-node tests write the same rows).
type scenario = reliability.Row

// reliabilityOptions are what every group gets.
type reliabilityOptions struct {
	// Repo is the checkout under test; Bin its built tools.
	Repo, Bin string
	// Fast runs each scenario fewer times and for less long (make test).
	Fast bool
	// Rand draws the fault moments; Seed is printed to replay them.
	Rand *rand.Rand
	Seed uint64
	// Work is scratch space.
	Work string
	// Only, when set, runs the one scenario of a group so named (kill,
	// apiserver, fight, drift, churn), to work on it.
	Only string
}

// reliabilityGroups are the groups in the order they run.
var reliabilityGroups = []struct {
	name string
	run  func(reliabilityOptions) ([]scenario, error)
}{
	{"files", filesGroup},
	{"operator", operatorGroup},
	{"input", inputGroup},
	{"fuzz", fuzzGroup},
	{"node", nodeGroup},
}

// groupTitles are the tables of docs/reliability.md, in order, by the
// group a row names (the node group's run also measures security rows).
var groupTitles = []struct{ group, title string }{
	{"files", "Nothing lost: generated files under SIGKILL"},
	{"operator", "The operator under faults (simulated lane, Memcacheds converging)"},
	{"node", "The operator under faults (real node)"},
	{"olm", "OLM lifecycle under faults (real node, OLM in the cluster)"},
	{"input", "Bad input: Memcacheds against the real API server"},
	{"fuzz", "Bad input: fuzzing"},
	{"security", "Security, checked rather than claimed (real node, OLM in the cluster)"},
}

// benchReliability is `make reliability` (and, with --fast, its subset in
// `make test`): it runs the groups, writes the tables and JSON, and fails
// when any scenario failed.
func benchReliability(args []string) error {
	fs := flag.NewFlagSet("reliability", flag.ContinueOnError)
	groups := fs.String("groups", "", "Comma-separated groups to run (default: all).")
	fast := fs.Bool("fast", false, "The subset for make test: fewer runs, shorter budgets.")
	out := fs.String("out", "docs", "Where reliability.md and reliability.json go.")
	bin := fs.String("bin", "bin", "The built tools (make reliability builds them).")
	workdir := fs.String("workdir", ".work/reliability", "Scratch space.")
	only := fs.String("only", "", "Run only the scenario so named within its group (operator: kill, apiserver, fight, drift, churn).")
	seed := fs.Uint64("seed", 0, "Seed of the fault moments; 0 picks one (printed, to replay a run).")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if *seed == 0 {
		*seed = uint64(time.Now().UnixNano())
	}
	repo, err := os.Getwd()
	if err != nil {
		return err
	}
	binDir, err := filepath.Abs(*bin)
	if err != nil {
		return err
	}
	work, err := filepath.Abs(*workdir)
	if err != nil {
		return err
	}
	if err := os.RemoveAll(work); err != nil {
		return err
	}
	o := reliabilityOptions{Repo: repo, Bin: binDir, Fast: *fast, Seed: *seed, Only: *only, Rand: rand.New(rand.NewPCG(*seed, *seed^0x9e3779b97f4a7c15)), Work: work}
	fmt.Printf("reliability: seed %d (replay with --seed %d)\n", *seed, *seed)

	want := map[string]bool{}
	for _, g := range strings.Split(*groups, ",") {
		if g != "" {
			want[g] = true
		}
	}
	unknown := maps.Clone(want)
	var all []scenario
	for _, g := range reliabilityGroups {
		delete(unknown, g.name)
		if len(want) > 0 && !want[g.name] {
			continue
		}
		fmt.Printf("reliability: group %s\n", g.name)
		rows, err := g.run(o)
		if err != nil {
			return fmt.Errorf("group %s: %w", g.name, err)
		}
		for _, r := range rows {
			fmt.Printf("  %s: %d/%d passed; %s\n", r.Name, r.Passed, r.Runs, r.Figure)
			for _, f := range r.Failures {
				fmt.Printf("    FAILED: %s\n", f)
			}
		}
		all = append(all, rows...)
	}
	if len(unknown) > 0 {
		return fmt.Errorf("unknown groups: %v", keys(unknown))
	}
	if err := writeReliability(*out, o, all); err != nil {
		return err
	}
	var failed []string
	for _, r := range all {
		if !r.OK() {
			failed = append(failed, r.Group+"/"+r.Name)
		}
	}
	if len(failed) > 0 {
		return fmt.Errorf("%d scenarios failed (a failure is a bug to fix): %s", len(failed), strings.Join(failed, ", "))
	}
	return nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// cell makes text one Markdown table cell.
var cell = strings.NewReplacer("|", `\|`, "\n", " / ")

// writeReliability writes dir/reliability.md (one table per group with
// rows) and dir/reliability.json.
func writeReliability(dir string, o reliabilityOptions, rows []scenario) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, r := range rows {
		if !slices.ContainsFunc(groupTitles, func(t struct{ group, title string }) bool { return t.group == r.Group }) {
			return fmt.Errorf("scenario %q names group %q, which has no table (groupTitles)", r.Name, r.Group)
		}
	}
	m := machine()
	b, err := json.MarshalIndent(map[string]any{"machine": m, "seed": o.Seed, "fast": o.Fast, "scenarios": rows}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, "reliability.json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	var md strings.Builder
	md.WriteString("# Reliability\n\n<!-- Written by `make reliability` (bin/bench reliability). DO NOT EDIT. -->\n\n")
	fmt.Fprintf(&md, "What the operator and its tooling survive, measured by injecting the faults. Run %s on %d CPUs (%s), %s, %s; fault moments from seed %d (`make reliability RELIABILITY_SEED=%d` replays them). A scenario that fails is a bug to fix, not a row to delete.\n",
		m["date"], m["cpus"], m["cpu"], m["memory"], m["go"], o.Seed, o.Seed)
	if o.Fast {
		md.WriteString("\nThis is a `--fast` run (`make reliability-fast`, what `make test` runs): fewer kills, 60 Memcacheds instead of 300, 120 generated objects instead of 1,000, 10 s faults instead of 30 s and a minute, 600 Memcacheds of churn instead of 10,000, no fuzzing (its instrumented build of every dependency takes minutes; `make test-unit` runs the seed corpora and saved findings); no real-node or security rows (`make test` runs their tests in `make test-node`, fewer times). `make reliability` runs the full set.\n")
	}
	for _, t := range groupTitles {
		if !slices.ContainsFunc(rows, func(r scenario) bool { return r.Group == t.group }) {
			continue
		}
		fmt.Fprintf(&md, "\n## %s\n\n| scenario | runs | passed | figure |\n|---|---|---|---|\n", t.title)
		for _, r := range rows {
			if r.Group != t.group {
				continue
			}
			fmt.Fprintf(&md, "| %s | %d | %d | %s |\n", cell.Replace(r.Name), r.Runs, r.Passed, cell.Replace(r.Figure))
			for _, f := range r.Failures {
				fmt.Fprintf(&md, "| ↳ failed: %s | | | |\n", cell.Replace(f))
			}
		}
	}
	return os.WriteFile(filepath.Join(dir, "reliability.md"), []byte(md.String()), 0o644)
}
