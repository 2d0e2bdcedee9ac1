// Command reliability injects the faults, bad input and kills of
// docs/reliability.md (make reliability; with --fast, make
// reliability-fast) and writes it with reliability.json. The harness is
// internal/reliability: a table of named scenarios per group.
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/sirupsen/logrus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/example-inc/memcached-operator/internal/reliability"
)

func main() {
	logrus.SetLevel(logrus.WarnLevel)
	ctrllog.SetLogger(logr.Discard())
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	fs := flag.NewFlagSet("reliability", flag.ContinueOnError)
	groups := fs.String("groups", "", "Comma-separated groups to run (default: all): "+strings.Join(groupNames(), ", ")+".")
	fast := fs.Bool("fast", false, "The subset for make test: fewer runs, shorter budgets.")
	out := fs.String("out", "docs", "Where reliability.md and reliability.json go.")
	bin := fs.String("bin", "bin", "The built tools (make reliability builds them).")
	workdir := fs.String("workdir", ".work/reliability", "Scratch space.")
	only := fs.String("only", "", "Run only the scenario so named ("+scenarioNames()+").")
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
	var want []string
	for _, g := range strings.Split(*groups, ",") {
		if g != "" {
			want = append(want, g)
		}
	}
	o := reliability.Options{Repo: repo, Bin: binDir, Fast: *fast, Seed: *seed, Only: *only, Work: work}
	return reliability.Run(o, want, *out)
}

// groupNames and scenarioNames are what the tables list, for the flags' help.
func groupNames() []string {
	var names []string
	for _, g := range reliability.Groups() {
		names = append(names, g.Name)
	}
	return names
}

func scenarioNames() string {
	var parts []string
	for _, g := range reliability.Groups() {
		var names []string
		for _, sc := range g.Scenarios() {
			names = append(names, sc.Name)
		}
		parts = append(parts, g.Name+": "+strings.Join(names, ", "))
	}
	return strings.Join(parts, "; ")
}
