package reliability

import (
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strings"

	"github.com/example-inc/memcached-operator/internal/machine"
)

// Options are what every scenario gets.
type Options struct {
	// Repo is the checkout under test; Bin its built tools.
	Repo, Bin string
	// Fast runs each scenario fewer times and for less long (make test).
	Fast bool
	// Seed draws the fault moments (Rand); it is printed to replay them.
	Seed uint64
	Rand *rand.Rand
	// Work is scratch space, emptied when the run begins.
	Work string
	// Only, when set, runs only the scenarios so named (Scenario.Name).
	Only string
	// Commit is the commit under test, read as the run begins (edits made
	// while it runs are not what it measured); machine.Commit when empty.
	Commit string
}

// Scenario is one named scenario of a group: what it injects, what it
// checks, and the function that runs it and returns its rows of
// docs/reliability.md (one, or one per target it finds).
type Scenario struct {
	// Name is what --only selects.
	Name    string
	Injects string
	Checks  string
	Run     func(Options) ([]Row, error)
}

// Group is a table of scenarios run together, named as --groups selects.
type Group struct {
	Name      string
	Scenarios func() []Scenario
}

// Groups are the groups in the order they run, each listing its scenarios
// the way scorecard.Tests() lists tests.
func Groups() []Group {
	return []Group{
		{"files", FilesScenarios},
		{"operator", OperatorScenarios},
		{"input", InputScenarios},
		{"fuzz", FuzzScenarios},
		{"node", NodeScenarios},
	}
}

// one adapts a scenario of one row to Scenario.Run.
func one(run func(Options) (Row, error)) func(Options) ([]Row, error) {
	return func(o Options) ([]Row, error) {
		r, err := run(o)
		if err != nil {
			return nil, err
		}
		return []Row{r}, nil
	}
}

// Run is `make reliability` (and, with o.Fast, its subset in `make test`):
// it runs the groups named (all when none), writes reliability.md and
// reliability.json into out, and fails when any scenario failed.
func Run(o Options, groups []string, out string) error {
	if err := os.RemoveAll(o.Work); err != nil {
		return err
	}
	if o.Commit == "" {
		o.Commit = machine.Commit()
	}
	o.Rand = rand.New(rand.NewPCG(o.Seed, o.Seed^0x9e3779b97f4a7c15))
	fmt.Printf("reliability: seed %d (replay with --seed %d)\n", o.Seed, o.Seed)
	ran, all, err := runGroups(o, groups)
	if err != nil {
		return err
	}
	if err := writeReliability(out, o, ran, all); err != nil {
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

// runGroups walks the tables of the groups wanted, in order, printing each
// row; it returns the groups that ran and their rows.
func runGroups(o Options, want []string) ([]string, []Row, error) {
	groups, err := selectGroups(want, o.Only)
	if err != nil {
		return nil, nil, err
	}
	var all []Row
	var ran []string
	for _, g := range groups {
		fmt.Printf("reliability: group %s\n", g.Name)
		rows, err := runScenarios(o, g)
		if err != nil {
			return nil, nil, fmt.Errorf("group %s: %w", g.Name, err)
		}
		all = append(all, rows...)
		ran = append(ran, g.Name)
	}
	return ran, all, nil
}

// selectGroups is the groups named (all when none), refused before anything
// runs when a name is no group or only names no scenario of them: a typo
// would otherwise run nothing and pass.
func selectGroups(want []string, only string) ([]Group, error) {
	var groups []Group
	var known, scenarios []string
	for _, g := range Groups() {
		known = append(known, g.Name)
		if len(want) > 0 && !slices.Contains(want, g.Name) {
			continue
		}
		groups = append(groups, g)
		for _, sc := range g.Scenarios() {
			scenarios = append(scenarios, sc.Name)
		}
	}
	for _, g := range want {
		if !slices.Contains(known, g) {
			return nil, fmt.Errorf("unknown group %q in --groups: the groups are %s", g, strings.Join(known, ", "))
		}
	}
	if only != "" && !slices.Contains(scenarios, only) {
		return nil, fmt.Errorf("--only %q names no scenario of the groups chosen: they are %s", only, strings.Join(scenarios, ", "))
	}
	return groups, nil
}

// runScenarios runs a group's scenarios (those named o.Only, when set).
func runScenarios(o Options, g Group) ([]Row, error) {
	var rows []Row
	for _, sc := range g.Scenarios() {
		if o.Only != "" && o.Only != sc.Name {
			continue
		}
		got, err := sc.Run(o)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sc.Name, err)
		}
		for _, r := range got {
			fmt.Printf("  %s: %d/%d passed; %s\n", r.Name, r.Passed, r.Runs, r.Figure)
			for _, f := range r.Failures {
				fmt.Printf("    FAILED: %s\n", f)
			}
		}
		rows = append(rows, got...)
	}
	return rows, nil
}
