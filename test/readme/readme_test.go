package readme

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

func TestParse(t *testing.T) {
	for _, tc := range []struct {
		name, md string
		want     []Block
		err      string
	}{
		{"a marked block, a check, an output block", "text\n<!-- readme: offline -->\n```sh\nmake a\nmake b\n```\n\n```console\n$ out\n```\n<!-- readme: sdk; check: nothing-left k ns pkg -->\n```sh\nx\n```\n",
			[]Block{{Scenario: "offline", Line: 4, Text: "make a\nmake b\n"}, {Scenario: "sdk", Line: 13, Text: "x\n", Check: []string{"nothing-left", "k", "ns", "pkg"}}}, ""},
		{"a block in a list item", "- item:\n\n  <!-- readme: demo -->\n  ```sh\n  export A=1\n    indented\n  ```\n",
			[]Block{{Scenario: "demo", Line: 5, Text: "export A=1\n  indented\n"}}, ""},
		{"no marker", "```sh\nmake a\n```\n", nil, "line 1: a ```sh block without a marker"},
		{"unknown scenario", "<!-- readme: nowhere -->\n```sh\nx\n```\n", nil, `line 1: readme marker names scenario "nowhere"`},
		{"marker before prose", "<!-- readme: offline -->\nsome text\n```sh\nx\n```\n", nil, "line 1: the readme marker is not directly before a shell block"},
		{"marker before an output block", "<!-- readme: offline -->\n```text\nx\n```\n", nil, "line 1: the readme marker stands before a ```text block"},
		{"unclosed", "<!-- readme: offline -->\n```sh\nx\n", nil, "line 2: the shell block is not closed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := Parse([]byte(tc.md))
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want one saying %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(got) != len(tc.want) {
				t.Fatalf("blocks %+v, want %+v", got, tc.want)
			}
			for i := range got {
				if got[i].Scenario != tc.want[i].Scenario || got[i].Line != tc.want[i].Line || got[i].Text != tc.want[i].Text ||
					strings.Join(got[i].Check, " ") != strings.Join(tc.want[i].Check, " ") {
					t.Errorf("block %d: %+v, want %+v", i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestEveryBlockIsRun: every shell block of the README names a scenario
// whose make target exists and is part of make test, and its check exists;
// only the first block is the set-up commands.
func TestEveryBlockIsRun(t *testing.T) {
	md, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	blocks, err := Parse(md)
	if err != nil {
		t.Fatal(err)
	}
	mk, err := makefiles()
	if err != nil {
		t.Fatal(err)
	}
	// make test's suites (a variable continued over lines).
	m := regexp.MustCompile(`(?m)^TEST_SUITES = ((?:.*\\\n)*.*)$`).FindSubmatch(mk)
	if m == nil {
		t.Fatal("Makefile: no TEST_SUITES (make test's suites)")
	}
	suites := " " + strings.Join(strings.Fields(strings.ReplaceAll(string(m[1]), "\\", "")), " ")
	for i, b := range blocks {
		s, _ := Lookup(b.Scenario)
		if s.Setup != (i == 0) {
			t.Errorf("README line %d: scenario %s; only the first block is the set-up commands", b.Line-1, b.Scenario)
		}
		if err := CheckArgs(b); err != nil {
			t.Error(err)
		}
		if s.Setup {
			continue
		}
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(s.Target) + `:`).Match(mk) {
			t.Errorf("README line %d: scenario %s: the Makefile has no target %s", b.Line-1, s.Name, s.Target)
		}
		if !strings.Contains(suites+" ", " "+s.Target+" ") {
			t.Errorf("README line %d: scenario %s: make test does not run %s", b.Line-1, s.Name, s.Target)
		}
	}
}

// makefiles is the Makefile and the files it includes (make/*.mk), one after
// the other: where the targets and make test's suites are defined.
func makefiles() ([]byte, error) {
	mk, err := os.ReadFile("../../Makefile")
	if err != nil {
		return nil, err
	}
	included, err := filepath.Glob("../../make/*.mk")
	if err != nil {
		return nil, err
	}
	for _, f := range included {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		mk = append(append(mk, '\n'), b...)
	}
	return mk, nil
}
