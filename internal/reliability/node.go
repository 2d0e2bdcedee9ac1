package reliability

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/example-inc/memcached-operator/internal/localcluster"
)

// nodeTests are the real-node cluster tests whose rows make reliability
// collects (test/framework.Reliability); their -run patterns carry no "$"
// (make would read it as a variable). make test runs the same tests in
// make test-node, with fewer repetitions.
var nodeTests = []struct{ target, run string }{
	{"test-node-run", "^(TestLeaderFailover|TestRestrictedRefusesPrivileged)"},
	{"test-olm-node", "^(TestInstallFromCatalogImage|TestUpgradeSurvivesFaults)"},
}

// NodeScenarios: the operator on a real node and OLM in the cluster,
// measured by the cluster tests (test/framework), which write the rows.
func NodeScenarios() []Scenario {
	return []Scenario{
		{Name: "cluster-tests", Injects: "leader failover (graceful and SIGKILL), privileged pods under restricted admission, OLM upgrades and catalog images under faults",
			Checks: "what each cluster test asserts; their rows, and the security rows of the OLM-installed operator's permissions", Run: nodeTestRows},
	}
}

// nodeTestRows: the real-node rows (leader failover, restricted admission), the
// OLM rows (an upgrade, a CatalogSource and a catalog image under faults)
// and the security rows (the OLM-installed operator's permissions), measured by
// the cluster tests on a cluster of their own with a real node: the operator
// deployed as a pod first, then OLM in the cluster installing it from the
// catalog image. Under --fast it runs nothing: make test runs these tests
// in make test-node.
func nodeTestRows(o Options) ([]Row, error) {
	if o.Fast {
		fmt.Println("  the real-node rows run in make test as make test-node (fewer repetitions); make reliability collects them")
		return nil, nil
	}
	work := filepath.Join(o.Work, "node-lane")
	check := exec.Command("hack/node.sh", "check")
	check.Env = append(os.Environ(), "BIN="+o.Bin, "STATE="+filepath.Join(work, "node"))
	if out, err := check.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("a real node cannot run here (%s): run make reliability RELIABILITY_GROUPS=files,operator,input,fuzz", strings.TrimSpace(string(out)))
	}
	report := filepath.Join(o.Work, "node-rows.jsonl")
	c := localcluster.New("rel-node", work, "NODE_LANE=real", "OLM_LANE=in-cluster", "RELIABILITY_REPORT="+report, "RELIABILITY_FULL=1")
	c.Vars = append(c.Vars, "KUBECONFIG="+c.Kubeconfig())
	c.Down()
	defer c.Down()
	steps := [][]string{{"cluster-up"}, {"deploy-images", "deploy"}, {nodeTests[0].target, "TEST_FLAGS=-run '" + nodeTests[0].run + "'"},
		{"undeploy"}, {"olm-up"}, {nodeTests[1].target, "TEST_FLAGS=-run '" + nodeTests[1].run + "'"}}
	var failed []string
	for _, s := range steps {
		fmt.Printf("  make %s\n", strings.Join(s, " "))
		if err := c.Make(s...); err != nil {
			if !strings.HasPrefix(s[0], "test-") {
				return nil, err
			}
			// A failing test wrote its row, marked failed; one that failed
			// before it began its row did not: this row says so.
			failed = append(failed, err.Error())
		}
	}
	rows, err := Read(report)
	if err != nil {
		return nil, err
	}
	if len(failed) > 0 {
		rows = append(rows, Row{Group: "node", Name: "the real-node tests (" + strings.Join([]string{nodeTests[0].target, nodeTests[1].target}, ", ") + ")", Runs: 1, Failures: failed})
	}
	if len(rows) == 0 {
		return nil, fmt.Errorf("%s: the real-node tests wrote no row", report)
	}
	return rows, nil
}
