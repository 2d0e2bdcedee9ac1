// Package machine says where a measurement comes from: this machine's CPUs,
// memory and Go, and the checkout's commit. The benchmarks and the
// reliability harness stamp their results with it.
package machine

import (
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Describe is the machine, the moment and the commit measured.
func Describe(commit string) map[string]any {
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
	return map[string]any{"cpus": runtime.NumCPU(), "cpu": cpu, "memory": mem, "go": runtime.Version(), "date": time.Now().UTC().Format(time.RFC3339), "commit": commit}
}

// Commit is the checkout's commit, "+changes" when the working tree
// differs from it outside docs/bench (the benchmarks' results).
func Commit() string {
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
