// Package readme runs the README's shell blocks as a user would. Every
// ```sh block carries, on the line before its fence, a marker naming the
// scenario that runs it:
//
//	<!-- readme: SCENARIO -->
//	<!-- readme: SCENARIO; check: NAME ARG... -->
//
// A scenario's blocks run in README order, each in a fresh bash with the
// environment a user's shell has (operator-sdk and kubectl on PATH), exactly
// as written; a check named after a block is what a user would look at
// next, done in Go (for instance that nothing of ours is left in a cluster).
package readme

import (
	"bufio"
	"bytes"
	"fmt"
	"regexp"
	"strings"
)

// Block is one shell block of the README.
type Block struct {
	Scenario string
	// Line is the line of the block's first command (1-based).
	Line int
	Text string
	// Check is the check to run after the block (name and arguments), if any.
	Check []string
}

// Scenario is a group of blocks that run together, on one lane.
type Scenario struct {
	Name string
	// What the scenario covers, for the summary.
	What string
	// Run says how make test runs it (the make target); Setup marks the
	// README's two set-up commands, which are run as make demo and make test
	// themselves, not by this package.
	Target string
	Setup  bool
	// Needs: "real-node" (a real node must be able to run), "operator-sdk"
	// (OPERATOR_SDK resolves).
	Needs []string
	// Copy runs the blocks in a copy of the working tree: they change
	// tracked files (a release).
	Copy bool
}

// Scenarios are every scenario a README block may name.
var Scenarios = []Scenario{
	{Name: "setup", What: "make demo and make test, which CI and the demo scenario run", Setup: true},
	{Name: "offline", What: "catalog and scorecard commands that need no cluster", Target: "test-readme-offline"},
	{Name: "release", What: "cutting a release: bundle, bundle image, catalog release", Target: "test-readme-release", Copy: true},
	{Name: "simulated", What: "run bundle, upgrade, cleanup and scorecard on the simulated lane with OLM on this host", Target: "test-readme-simulated"},
	{Name: "node", What: "a real-node cluster of its own: operator and memcached pods, scorecard tests as pods", Target: "test-readme-node", Needs: []string{"real-node"}},
	{Name: "sdk", What: "operator-sdk itself on a real-node cluster with OLM in it: run bundle, scorecard, bundle-upgrade, cleanup", Target: "test-readme-sdk", Needs: []string{"real-node", "operator-sdk"}},
	{Name: "demo", What: "the demo's cluster after make demo: scale the sample, OperatorHub's view", Target: "test-readme-demo", Needs: []string{"real-node"}},
}

// Lookup returns the scenario called name.
func Lookup(name string) (Scenario, bool) {
	for _, s := range Scenarios {
		if s.Name == name {
			return s, true
		}
	}
	return Scenario{}, false
}

var (
	marker = regexp.MustCompile(`^<!--\s*readme:\s*([a-z-]+)\s*(?:;\s*check:\s*([^>]*?))?\s*-->\s*$`)
	fence  = regexp.MustCompile("^\\s*```+\\s*([A-Za-z0-9_-]*)")
	shell  = map[string]bool{"sh": true, "bash": true, "shell": true}
)

// Parse returns the README's shell blocks (```sh, ```bash, ```shell) with
// their scenarios. A shell block without a marker, a marker that names no
// scenario or stands before no shell block, and an unclosed fence are
// errors naming the line.
func Parse(md []byte) ([]Block, error) {
	p := &parser{}
	sc := bufio.NewScanner(bytes.NewReader(md))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		p.line(n, sc.Text())
	}
	if p.in != nil {
		p.fail(p.in.Line-1, "the shell block is not closed")
	}
	if len(p.errs) > 0 {
		return nil, fmt.Errorf("README: %s", strings.Join(p.errs, "; "))
	}
	return p.blocks, nil
}

// parser reads the README line by line.
type parser struct {
	blocks  []Block
	errs    []string
	pending *Block // the marker of the next shell block
	in      *Block // the shell block being read
	indent  string // its fence's indentation, which its lines share (a block in a list item)
	inOther bool   // inside a fence that is not a shell block
	text    strings.Builder
}

func (p *parser) fail(line int, format string, args ...any) {
	p.errs = append(p.errs, fmt.Sprintf("line %d: ", line)+fmt.Sprintf(format, args...))
}

func closing(line string) bool {
	return fence.MatchString(line) && strings.Trim(strings.TrimSpace(line), "`") == ""
}

func (p *parser) line(n int, line string) {
	trimmed := strings.TrimSpace(line)
	switch {
	case p.in != nil && closing(line):
		p.in.Text = p.text.String()
		p.blocks = append(p.blocks, *p.in)
		p.in = nil
	case p.in != nil:
		p.text.WriteString(strings.TrimPrefix(line, p.indent) + "\n")
	case p.inOther:
		p.inOther = !closing(line)
	case fence.MatchString(line):
		p.open(n, line)
	case marker.MatchString(trimmed):
		m := marker.FindStringSubmatch(trimmed)
		if _, ok := Lookup(m[1]); !ok {
			p.fail(n, "readme marker names scenario %q, which is not one of %s (test/readme)", m[1], names())
		}
		p.pending = &Block{Scenario: m[1], Line: n + 1, Check: strings.Fields(m[2])}
	case trimmed != "" && p.pending != nil:
		p.fail(p.pending.Line-1, "the readme marker is not directly before a shell block")
		p.pending = nil
	}
}

// open starts a fenced block: a shell block takes the pending marker.
func (p *parser) open(n int, line string) {
	lang := fence.FindStringSubmatch(line)[1]
	if !shell[lang] {
		p.inOther = true
		if p.pending != nil {
			p.fail(p.pending.Line-1, "the readme marker stands before a ```%s block, not a shell block", lang)
			p.pending = nil
		}
		return
	}
	b := Block{Line: n + 1}
	if p.pending == nil {
		p.fail(n, "a ```%s block without a marker: put <!-- readme: SCENARIO --> on the line before it (scenarios: %s)", lang, names())
	} else {
		b.Scenario, b.Check = p.pending.Scenario, p.pending.Check
	}
	p.indent = line[:len(line)-len(strings.TrimLeft(line, " "))]
	p.pending, p.in = nil, &b
	p.text.Reset()
}

// Of returns the blocks of one scenario, in README order.
func Of(blocks []Block, scenario string) []Block {
	var out []Block
	for _, b := range blocks {
		if b.Scenario == scenario {
			out = append(out, b)
		}
	}
	return out
}

func names() string {
	var n []string
	for _, s := range Scenarios {
		n = append(n, s.Name)
	}
	return strings.Join(n, ", ")
}
