// Package procstat reads a process's memory and CPU time from /proc: what
// the benchmarks and the reliability harness measure of the operator and
// the cluster's components.
package procstat

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// RSSKiB is the resident set (VmRSS) of the process whose /proc directory
// is proc, in KiB; 0 for a kernel thread or a process gone meanwhile.
func RSSKiB(proc string) int64 {
	f, err := os.Open(filepath.Join(proc, "status"))
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			n, _ := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			return n
		}
	}
	return 0
}

// RSS is a process's resident memory now (VmRSS), in MiB.
func RSS(pid int) (float64, error) {
	proc := fmt.Sprintf("/proc/%d", pid)
	if _, err := os.Stat(proc); err != nil {
		return 0, err
	}
	kib := RSSKiB(proc)
	if kib == 0 {
		return 0, fmt.Errorf("%s/status: no VmRSS", proc)
	}
	return float64(kib) / 1024, nil
}

// Stats reads a process's peak RSS (VmHWM, MiB) and CPU seconds.
func Stats(pid int) (peakMiB, cpuSeconds float64) {
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
				peakMiB = kb / 1024
			}
		}
	}
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		f := strings.Fields(string(b[strings.LastIndex(string(b), ")")+2:]))
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		cpuSeconds = (utime + stime) / 100 // USER_HZ
	}
	return peakMiB, cpuSeconds
}
