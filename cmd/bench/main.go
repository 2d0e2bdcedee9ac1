// Command bench measures the operator and its tooling on this machine and
// writes the results as JSON and as a Markdown table:
//
//	bench catalog     B2: catalog tooling on generated catalogs of 1,000 and 10,000 bundles
//	bench lifecycle   B3 on the simulated lane (no operator container): cold cluster + OLM to the first CSV, each upgrade hop, cleanup
//	bench lifecycle-real  B3 on the real node: catalog image, OLM in the cluster, whole-stack RSS
//	bench reconcile   B1: N Memcacheds at once on a local cluster without QPS limits
//	bench reliability the fault, bad-input and atomicity scenarios (docs/reliability.md)
//	bench doc         docs/benchmarks.md from the results in docs/bench
package main

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/go-logr/logr"
	"github.com/sirupsen/logrus"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
)

// measured is the commit under measurement, read as the benchmark starts:
// edits made while it runs are not what it measured.
var measured string

func main() {
	measured = commit()
	logrus.SetLevel(logrus.WarnLevel)
	ctrllog.SetLogger(logr.Discard())
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: bench catalog|lifecycle|lifecycle-real|reconcile|reliability|doc [flags]")
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
	case "reliability":
		err = benchReliability(os.Args[2:])
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

// machine describes where the numbers come from.
func machine() map[string]any {
	cpu := "unknown"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		mem = strings.TrimSpace(strings.TrimPrefix(strings.SplitN(string(b), "\n", 2)[0], "MemTotal:"))
	}
	return map[string]any{"cpus": runtime.NumCPU(), "cpu": cpu, "memory": mem, "go": runtime.Version(), "date": time.Now().UTC().Format(time.RFC3339), "commit": measured}
}

// save writes results and the targets they are held to as JSON into
// dir/name.json, and the table into dir/name.md.
func save(dir, name string, results any, targets []target, table string) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	if targets == nil {
		targets = []target{}
	}
	b, err := json.MarshalIndent(map[string]any{"machine": machine(), "results": results, "targets": targets}, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(dir, name+".json"), append(b, '\n'), 0o644); err != nil {
		return err
	}
	m := machine()
	header := fmt.Sprintf("Measured %s at commit %s on %d CPUs (%s), %s, %s.\n\n", m["date"], m["commit"], m["cpus"], m["cpu"], m["memory"], m["go"])
	fmt.Print("\n" + header + table)
	return os.WriteFile(filepath.Join(dir, name+".md"), []byte(header+table), 0o644)
}

func mib(kib int64) float64 { return float64(kib) / 1024 }

// commit is the checkout's commit the benchmark measured, "+changes" when
// the working tree differs from it outside docs/bench (the results).
func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	c := strings.TrimSpace(string(out))
	if st, err := exec.Command("git", "status", "--porcelain", "--untracked-files=no", "--", ".", ":!docs/bench").Output(); err == nil && len(st) > 0 {
		c += "+changes"
	}
	return c
}
