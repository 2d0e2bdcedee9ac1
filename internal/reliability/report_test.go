package reliability

import (
	"encoding/json"
	"os"
	"strings"
	"testing"
)

// A group re-run alone replaces its own rows and stamp; the others keep
// theirs, in group order; each table says its stamp.
func TestMergeRunsKeepsOtherGroups(t *testing.T) {
	stamp := map[string]any{"date": "2026-11-27T05:15:32Z", "cpus": 2}
	old := File{Runs: []groupRun{
		{Group: "node", Machine: stamp, Seed: 7, Scenarios: []Row{{Group: "olm", Name: "olm row", Runs: 1, Passed: 1}, {Group: "node", Name: "old failover row", Runs: 2, Passed: 2}}},
		{Group: "files", Machine: stamp, Seed: 7, Scenarios: []Row{{Group: "files", Name: "old kill row", Runs: 20, Passed: 20}}},
		{Group: "operator", Machine: stamp, Seed: 7, Scenarios: []Row{{Group: "operator", Name: "operator row", Runs: 3, Passed: 3}}},
	}}
	now := []Row{{Group: "files", Name: "new kill row", Runs: 20, Passed: 20}}
	runs := mergeRuns(old, Options{Seed: 9}, []string{"files"}, now)
	var got []string
	for _, g := range runs {
		for _, r := range g.Scenarios {
			got = append(got, g.Group+"/"+r.Name)
		}
	}
	want := "files/new kill row, operator/operator row, node/olm row, node/old failover row"
	if strings.Join(got, ", ") != want {
		t.Fatalf("rows %v, want %s", got, want)
	}
	if runs[0].Seed != 9 || runs[0].Machine["commit"] == nil || runs[1].Seed != 7 {
		t.Errorf("stamps: files seed %d commit %v, operator seed %d", runs[0].Seed, runs[0].Machine["commit"], runs[1].Seed)
	}
	md := Markdown(File{Runs: runs})
	for _, w := range []string{"Group `files`, run ", "Group `operator`, run 2026-11-27T05:15:32Z at commit not recorded", "| new kill row | 20 | 20 |", "| olm row | 1 | 1 |"} {
		if !strings.Contains(md, w) {
			t.Errorf("reliability.md lacks %q:\n%s", w, md)
		}
	}
	if strings.Contains(md, "old kill row") {
		t.Error("the re-run group's old row is still there")
	}
}

// docs/reliability.md is what reliability.json says, nothing else.
func TestReliabilityDocIsGenerated(t *testing.T) {
	b, err := os.ReadFile("../../docs/reliability.json")
	if err != nil {
		t.Fatal(err)
	}
	var f File
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatal(err)
	}
	if len(f.Runs) == 0 {
		t.Fatal("docs/reliability.json has no runs")
	}
	md, err := os.ReadFile("../../docs/reliability.md")
	if err != nil {
		t.Fatal(err)
	}
	if string(md) != Markdown(f) {
		t.Fatal("docs/reliability.md differs from what reliability.json gives: run make reliability (RELIABILITY_GROUPS=...) and commit both")
	}
}
