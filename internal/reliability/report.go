package reliability

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/example-inc/memcached-operator/internal/machine"
)

// groupRun is one group's rows and where, when and at which commit they
// were measured: docs/reliability.json holds one per group, so that a
// group re-run alone (--groups) replaces its own rows and says so, and the
// others keep theirs with their own stamp.
type groupRun struct {
	Group     string         `json:"group"`
	Machine   map[string]any `json:"machine"`
	Seed      uint64         `json:"seed"`
	Fast      bool           `json:"fast"`
	Scenarios []Row          `json:"scenarios"`
}

// File is docs/reliability.json.
type File struct {
	Runs []groupRun `json:"runs"`
}

// runGroupOf is the group that measures a table's rows (the node group's
// cluster tests also write the OLM and security rows).
func runGroupOf(table string) string {
	switch table {
	case "olm", "security":
		return "node"
	}
	return table
}

// mergeRuns is the previous file's runs of the groups that did not run now
// (of the same kind: --fast or not), then this run's.
func mergeRuns(prev File, o Options, ran []string, rows []Row) []groupRun {
	var out []groupRun
	for _, g := range prev.Runs {
		if g.Fast == o.Fast && !slices.Contains(ran, g.Group) {
			out = append(out, g)
		}
	}
	m := machine.Describe(o.Commit)
	for _, g := range ran {
		run := groupRun{Group: g, Machine: m, Seed: o.Seed, Fast: o.Fast}
		for _, r := range rows {
			if runGroupOf(r.Group) == g {
				run.Scenarios = append(run.Scenarios, r)
			}
		}
		out = append(out, run)
	}
	slices.SortStableFunc(out, func(a, b groupRun) int { return groupOrder(a.Group) - groupOrder(b.Group) })
	return out
}

func groupOrder(name string) int {
	return slices.IndexFunc(Groups(), func(g Group) bool { return g.Name == name })
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

// cell makes text one Markdown table cell.
var cell = strings.NewReplacer("|", `\|`, "\n", " / ")

// writeReliability writes dir/reliability.json (this run's groups, and the
// other groups as the file had them) and dir/reliability.md from it.
func writeReliability(dir string, o Options, ran []string, rows []Row) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	for _, r := range rows {
		if !slices.ContainsFunc(groupTitles, func(t struct{ group, title string }) bool { return t.group == r.Group }) {
			return fmt.Errorf("scenario %q names group %q, which has no table (groupTitles)", r.Name, r.Group)
		}
	}
	path := filepath.Join(dir, "reliability.json")
	var prev File
	if b, err := os.ReadFile(path); err == nil {
		if err := json.Unmarshal(b, &prev); err != nil {
			return fmt.Errorf("%s: %w (move it away to start afresh)", path, err)
		}
	} else if !os.IsNotExist(err) {
		return err
	}
	file := File{Runs: mergeRuns(prev, o, ran, rows)}
	b, err := json.MarshalIndent(file, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(dir, "reliability.md"), []byte(Markdown(file)), 0o644)
}

// Markdown is docs/reliability.md: one table per group of rows,
// each saying when, where and at which commit its group was measured.
func Markdown(f File) string {
	var md strings.Builder
	md.WriteString("# Reliability\n\n<!-- Written by `make reliability` (bin/reliability) from reliability.json. DO NOT EDIT. -->\n\n")
	md.WriteString("What the operator and its tooling survive, measured by injecting the faults. Each table says when, on which machine and at which commit its group ran (`make reliability RELIABILITY_GROUPS=files` re-runs one group and keeps the others), and the seed of its fault moments (`RELIABILITY_SEED` replays them). A scenario that fails is a bug to fix, not a row to delete.\n")
	if slices.ContainsFunc(f.Runs, func(g groupRun) bool { return g.Fast }) {
		md.WriteString("\nThis is a `--fast` run (`make reliability-fast`, what `make test` runs): fewer kills, 60 Memcacheds instead of 300, 120 generated objects instead of 1,000, 10 s faults instead of 30 s and a minute, 600 Memcacheds of churn instead of 10,000, no fuzzing (its instrumented build of every dependency takes minutes; `make test-unit` runs the seed corpora and saved findings); no real-node or security rows (`make test` runs their tests in `make test-node`, fewer times). `make reliability` runs the full set.\n")
	}
	for _, t := range groupTitles {
		var rows []Row
		var stamp groupRun
		for _, g := range f.Runs {
			for _, r := range g.Scenarios {
				if r.Group == t.group {
					rows, stamp = append(rows, r), g
				}
			}
		}
		if len(rows) == 0 {
			continue
		}
		fmt.Fprintf(&md, "\n## %s\n\n%s\n\n| scenario | runs | passed | figure |\n|---|---|---|---|\n", t.title, stampLine(stamp))
		for _, r := range rows {
			fmt.Fprintf(&md, "| %s | %d | %d | %s |\n", cell.Replace(r.Name), r.Runs, r.Passed, cell.Replace(r.Figure))
			for _, fl := range r.Failures {
				fmt.Fprintf(&md, "| ↳ failed: %s | | | |\n", cell.Replace(fl))
			}
		}
	}
	return md.String()
}

// stampLine says when, where and at which commit a group ran.
func stampLine(g groupRun) string {
	m := g.Machine
	commit, ok := m["commit"]
	if !ok {
		commit = "not recorded (measured before the result files carried it)"
	}
	return fmt.Sprintf("Group `%s`, run %v at commit %v on %v CPUs (%v), %v, %v; fault moments from seed %d.", g.Group, m["date"], commit, m["cpus"], m["cpu"], m["memory"], m["go"], g.Seed)
}
