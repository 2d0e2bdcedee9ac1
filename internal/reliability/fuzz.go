package reliability

import (
	"bufio"
	"fmt"
	"os/exec"
	"regexp"
	"sort"
	"strings"
	"time"
)

// fuzzPackages hold the fuzz targets of the bundle, template, catalog and
// graph code. A finding is written by go test into the package's
// testdata/fuzz/<target>/, where every later `go test` runs it: commit it
// with the fix, and it is a regression test.
var fuzzPackages = []string{"./internal/bundle", "./internal/catalog", "./internal/graph"}

// FuzzScenarios: the fuzz targets of the bundle, template, catalog and
// graph code.
func FuzzScenarios() []Scenario {
	return []Scenario{
		{Name: "fuzz", Injects: "inputs the fuzzing engine generates, for a minute per fuzz target of " + strings.Join(fuzzPackages, ", "),
			Checks: "no target fails (a failing input is saved as a regression test)", Run: fuzzAll},
	}
}

// fuzzAll runs every fuzz target for a fixed budget. Under --fast it runs
// nothing: fuzzing builds every dependency again with coverage
// instrumentation, minutes of CPU before the first input,
// and make test's unit tests already run each target's seed corpus and
// saved findings.
func fuzzAll(o Options) ([]Row, error) {
	if o.Fast {
		fmt.Println("  no fuzzing in make test (its instrumented build of every dependency takes minutes); make test-unit runs the seed corpora and saved findings, make reliability fuzzes")
		return nil, nil
	}
	budget := 60 * time.Second
	var rows []Row
	for _, pkg := range fuzzPackages {
		targets, err := fuzzTargets(o.Repo, pkg)
		if err != nil {
			return nil, err
		}
		for _, t := range targets {
			rows = append(rows, fuzzOne(o, pkg, t, budget))
		}
	}
	return rows, nil
}

// fuzzTargets lists pkg's Fuzz functions.
func fuzzTargets(repo, pkg string) ([]string, error) {
	cmd := exec.Command("go", "test", "-list", "^Fuzz", pkg)
	cmd.Dir = repo
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -list %s: %w", pkg, err)
	}
	var targets []string
	for _, l := range strings.Split(string(out), "\n") {
		if strings.HasPrefix(l, "Fuzz") {
			targets = append(targets, strings.TrimSpace(l))
		}
	}
	sort.Strings(targets)
	if len(targets) == 0 {
		return nil, fmt.Errorf("%s has no fuzz target", pkg)
	}
	return targets, nil
}

var fuzzExecs = regexp.MustCompile(`execs: (\d+) `)

func fuzzOne(o Options, pkg, target string, budget time.Duration) Row {
	s := Row{Group: "fuzz", Name: fmt.Sprintf("`%s` %s", target, strings.TrimPrefix(pkg, "./")), Runs: 1}
	// One worker (-parallel 1): the machine has two cores and the rest of
	// the suite; the instrumented build before it uses both. The engine
	// minimizes every input that finds new coverage for up to a minute by
	// default, counting no executions meanwhile: a budget of a minute went
	// to minimizing one input. A tenth of the budget each.
	cmd := exec.Command("go", "test", "-run", "^$", "-fuzz", "^"+target+"$", "-fuzztime", budget.String(),
		"-fuzzminimizetime", (budget / 10).String(), "-parallel", "1", pkg)
	cmd.Dir = o.Repo
	out, err := cmd.CombinedOutput()
	execs := "?"
	sc := bufio.NewScanner(strings.NewReader(string(out)))
	for sc.Scan() {
		if m := fuzzExecs.FindStringSubmatch(sc.Text()); m != nil {
			execs = m[1]
		}
	}
	s.Figure = fmt.Sprintf("%s inputs run in %s", execs, budget)
	if err != nil {
		s.Fail("%s: %v: %s (the failing input is saved under %s/testdata/fuzz/%s: fix the bug and commit it as a regression test)", target, err, fuzzFailure(string(out)), pkg, target)
		return s
	}
	s.Passed = 1
	return s
}

// fuzzFailure is what a failed fuzz run says, without the stack trace and
// its paths of this machine: the failure lines and where the input went.
func fuzzFailure(out string) string {
	var keep []string
	for _, l := range strings.Split(out, "\n") {
		t := strings.TrimSpace(l)
		if strings.HasPrefix(t, "--- FAIL") || strings.HasPrefix(t, "panic:") || strings.HasPrefix(t, "Failing input written") ||
			strings.Contains(t, "_test.go:") && !strings.Contains(t, "/") {
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		return "no failure line in its output"
	}
	return strings.Join(keep, "; ")
}
