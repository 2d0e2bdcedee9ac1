package reliability

import "testing"

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
