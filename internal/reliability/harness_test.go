package reliability

import (
	"strings"
	"testing"
)

// Every scenario of every group says what it injects and what it checks,
// and --only names each one unambiguously within its group.
func TestGroupsAreTables(t *testing.T) {
	groups := map[string]bool{}
	for _, g := range Groups() {
		if groups[g.Name] {
			t.Errorf("group %s listed twice", g.Name)
		}
		groups[g.Name] = true
		names := map[string]bool{}
		scenarios := g.Scenarios()
		if len(scenarios) == 0 {
			t.Errorf("group %s lists no scenario", g.Name)
		}
		for _, sc := range scenarios {
			if sc.Name == "" || sc.Injects == "" || sc.Checks == "" || sc.Run == nil {
				t.Errorf("group %s: scenario %+v lacks a name, what it injects, what it checks or its run", g.Name, sc)
			}
			if names[sc.Name] {
				t.Errorf("group %s: scenario %s listed twice", g.Name, sc.Name)
			}
			names[sc.Name] = true
		}
	}
	for _, tt := range groupTitles {
		if !groups[runGroupOf(tt.group)] {
			t.Errorf("table %s is measured by no group", tt.group)
		}
	}
}

// A group or scenario name that matches nothing is refused before anything
// runs, naming what there is; the names there are are chosen.
func TestSelectGroups(t *testing.T) {
	cases := []struct {
		name   string
		groups []string
		only   string
		want   int
		err    string
	}{
		{"all", nil, "", len(Groups()), ""},
		{"one group", []string{"files"}, "", 1, ""},
		{"a scenario of it", []string{"files"}, "kill-bundle", 1, ""},
		{"unknown group", []string{"files", "nodes"}, "", 0, `unknown group "nodes" in --groups: the groups are files, operator`},
		{"a scenario of another group", []string{"files"}, "churn", 0, `--only "churn" names no scenario of the groups chosen: they are kill-bundle`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got, err := selectGroups(tc.groups, tc.only)
			switch {
			case tc.err == "" && err != nil:
				t.Fatal(err)
			case tc.err != "" && (err == nil || !strings.HasPrefix(err.Error(), tc.err)):
				t.Fatalf("err = %v, want it to start %q", err, tc.err)
			case len(got) != tc.want:
				t.Fatalf("%d groups chosen, want %d", len(got), tc.want)
			}
		})
	}
}
