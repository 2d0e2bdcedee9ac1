// Command bench measures the operator and its tooling on this machine and
// writes the results as JSON and as a Markdown table:
//
//	bench catalog     B2: catalog tooling on generated catalogs of 1,000 and 10,000 bundles
//	bench lifecycle   B3 on the simulated lane (no operator container): cold cluster + OLM to the first CSV, each upgrade hop, cleanup
//	bench lifecycle-real  B3 on the real node: catalog image, OLM in the cluster, whole-stack RSS
//	bench reconcile   B1: N Memcacheds at once on a local cluster without QPS limits
//	bench doc         docs/benchmarks.md from the results in docs/bench
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/go-logr/logr"
	"github.com/sirupsen/logrus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/example-inc/memcached-operator/internal/machine"
)

// measured is the commit under measurement, read as the benchmark starts:
// edits made while it runs are not what it measured.
var measured string

func main() {
	measured = machine.Commit()
	logrus.SetLevel(logrus.WarnLevel)
	ctrllog.SetLogger(logr.Discard())
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench catalog|lifecycle|lifecycle-real|reconcile|doc [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "catalog":
		err = benchCatalog(os.Args[2:])
	case "catalog-step": // a measured child process of bench catalog
		err = catalogStep(os.Args[2:])
	case "lifecycle":
		err = benchLifecycle(os.Args[2:])
	case "lifecycle-real":
		err = benchLifecycleReal(os.Args[2:])
	case "reconcile":
		err = benchReconcile(os.Args[2:])
	case "doc":
		err = benchDoc(os.Args[2:])
	default:
		err = fmt.Errorf("unknown benchmark %q", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

// stamp describes where, when and at which commit the numbers come from.
func stamp() map[string]any { return machine.Describe(measured) }

// save writes results and the targets they are held to as JSON into
// dir/name.json, and the table into dir/name.md.
func save(dir, name string, results any, targets []target, table string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if targets == nil {
		targets = []target{}
	}
	b, err := json.MarshalIndent(map[string]any{"machine": stamp(), "results": results, "targets": targets}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	m := stamp()
	header := fmt.Sprintf("Measured %s at commit %s on %d CPUs (%s), %s, %s.\n\n", m["date"], m["commit"], m["cpus"], m["cpu"], m["memory"], m["go"])
	fmt.Print("\n" + header + table)
	return os.WriteFile(filepath.Join(dir, name+".md"), []byte(header+table), 0o644)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }
