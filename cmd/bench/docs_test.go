package main

import (
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
)

const resultsDir = "../../docs/bench"

// docs/benchmarks.md is what bench doc makes of docs/bench, nothing else.
func TestBenchmarksDocIsGenerated(t *testing.T) {
	var b strings.Builder
	if err := writeDoc(&b, resultsDir); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile("../../docs/benchmarks.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != b.String() {
		t.Fatal("docs/benchmarks.md differs from what `bin/bench doc --dir docs/bench` writes: run make bench-doc and commit it")
	}
}

// Every result file says where, when and at which commit it was measured,
// and every target it holds has an ID the analysis can name.
func TestResultFilesCarryTheirCommit(t *testing.T) {
	for _, s := range docSections {
		path := filepath.Join(resultsDir, s.name+".json")
		rf, err := readResults(path)
		if err != nil {
			t.Fatal(err)
		}
		for _, k := range []string{"commit", "date", "cpu", "cpus", "memory", "go"} {
			if v, ok := rf.Machine[k]; !ok || v == "unknown" || v == "" {
				t.Errorf("%s: machine.%s is %v: re-run make bench-%s", path, k, v, s.name)
			}
		}
		for _, tg := range rf.Targets {
			if !regexp.MustCompile("^B[123]\\.[a-z0-9.-]+$").MatchString(tg.ID) {
				t.Errorf("%s: target ID %q is not B<n>.<name>", path, tg.ID)
			}
		}
	}
}

// verdictWord is a word that judges a target.
var verdictWord = regexp.MustCompile(`(?i)\b(met|missed|meets|misses|miss)\b`)

// targetRef is a target named in the analysis: `B1.rss`.
var targetRef = regexp.MustCompile("`(B[123]\\.[a-z0-9.-]+)`")

// figureRef is a measured figure in prose: a number with a unit.
var figureRef = regexp.MustCompile(`\b(\d[\d,]*(\.\d+)?)\s?(s|MiB|x)\b`)

// number is any number in a table.
var number = regexp.MustCompile(`\d[\d,]*(\.\d+)?`)

// The analysis judges no target the JSON does not judge the same way, and
// quotes no figure the tables do not show.
func TestAnalysisIsBackedByTheTables(t *testing.T) {
	targets := map[string]target{}
	for _, s := range docSections {
		rf, err := readResults(filepath.Join(resultsDir, s.name+".json"))
		if err != nil {
			t.Fatal(err)
		}
		for _, tg := range rf.Targets {
			targets[tg.ID] = tg
		}
	}
	doc, err := os.ReadFile("../../docs/benchmarks.md")
	if err != nil {
		t.Fatal(err)
	}
	tables := tableLines(string(doc))
	analysis, err := os.ReadFile(filepath.Join(resultsDir, "analysis.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, sentence := range sentences(string(analysis)) {
		checkVerdicts(t, sentence, targets)
		for _, fig := range figureRef.FindAllStringSubmatch(sentence, -1) {
			if !tableShows(tables, fig[1]) {
				t.Errorf("analysis quotes %q, which no table of docs/benchmarks.md shows: %q", fig[0], sentence)
			}
		}
	}
}

// checkVerdicts: a sentence that judges must name the targets it judges,
// and each must have that verdict in the JSON.
func checkVerdicts(t *testing.T, sentence string, targets map[string]target) {
	t.Helper()
	words := verdictWord.FindAllString(sentence, -1)
	if len(words) == 0 {
		return
	}
	refs := targetRef.FindAllStringSubmatch(sentence, -1)
	if len(refs) == 0 {
		t.Errorf("analysis says %q without naming the target (`B1.x`): %q", words[0], sentence)
		return
	}
	met := !strings.Contains(strings.ToLower(strings.Join(words, " ")), "miss")
	for _, r := range refs {
		tg, ok := targets[r[1]]
		switch {
		case !ok:
			t.Errorf("analysis names target %s, which no result file has: %q", r[1], sentence)
		case tg.Met != met:
			t.Errorf("analysis says %s for %s; the JSON says met=%v (%v %s against %v): %q", words[0], r[1], tg.Met, tg.Value, tg.Unit, tg.Limit, sentence)
		}
	}
}

// tableShows says whether a table number, rounded to the quoted number's
// decimals, is the quoted number ("0.80" for a table's 0.800).
func tableShows(tables, quoted string) bool {
	q := strings.ReplaceAll(quoted, ",", "")
	decimals := 0
	if _, frac, ok := strings.Cut(q, "."); ok {
		decimals = len(frac)
	}
	for _, n := range number.FindAllString(tables, -1) {
		v, err := strconv.ParseFloat(strings.ReplaceAll(n, ",", ""), 64)
		if err == nil && strconv.FormatFloat(v, 'f', decimals, 64) == q {
			return true
		}
	}
	return false
}

// tableLines are the doc's table rows and the lines under them, joined.
func tableLines(doc string) string {
	var b strings.Builder
	for _, l := range strings.Split(doc, "\n") {
		if strings.HasPrefix(l, "|") || strings.HasPrefix(l, "Whole stack") {
			b.WriteString(l + "\n")
		}
	}
	return b.String()
}

// sentences splits prose at sentence ends.
func sentences(text string) []string {
	text = strings.Join(strings.Fields(text), " ")
	return regexp.MustCompile(`[.;:]\s+`).Split(text, -1)
}
