package main

import (
	"flag"
	"fmt"
	"maps"
	"math/rand/v2"
	"os"
	"path/filepath"
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
// reliabilityGroup is a group of scenarios run together, with its stamp.
type reliabilityGroup struct {
	name string
	run  func(reliabilityOptions) ([]scenario, error)
}

var reliabilityGroups = []reliabilityGroup{
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

	ran, all, err := runGroups(o, *groups)
	if err != nil {
		return err
	}
	if err := writeReliability(*out, o, ran, all); err != nil {
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

// runGroups runs the groups named (comma-separated; all when empty), in
// order, printing each row; it returns the groups that ran and their rows.
func runGroups(o reliabilityOptions, groups string) ([]string, []scenario, error) {
	want := map[string]bool{}
	for _, g := range strings.Split(groups, ",") {
		if g != "" {
			want[g] = true
		}
	}
	unknown := maps.Clone(want)
	var all []scenario
	var ran []string
	for _, g := range reliabilityGroups {
		delete(unknown, g.name)
		if len(want) > 0 && !want[g.name] {
			continue
		}
		fmt.Printf("reliability: group %s\n", g.name)
		rows, err := g.run(o)
		if err != nil {
			return nil, nil, fmt.Errorf("group %s: %w", g.name, err)
		}
		for _, r := range rows {
			fmt.Printf("  %s: %d/%d passed; %s\n", r.Name, r.Passed, r.Runs, r.Figure)
			for _, f := range r.Failures {
				fmt.Printf("    FAILED: %s\n", f)
			}
		}
		all = append(all, rows...)
		ran = append(ran, g.name)
	}
	if len(unknown) > 0 {
		return nil, nil, fmt.Errorf("unknown groups: %v", keys(unknown))
	}
	return ran, all, nil
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}
