package main

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/example-inc/memcached-operator/internal/procstat"
)

// stackRSS is the resident memory of the whole local stack, in MiB: the
// control plane (kube-apiserver, etcd, controller-manager, scheduler, kwok),
// the real node (kubelet, kube-proxy, containerd and its shims, the init of
// its namespaces and portfwd) and every
// process in a pod (the kubepods cgroup: OLM, registry pods, the operator,
// memcached, CoreDNS).
type stackRSS struct {
	ControlPlane float64 `json:"controlPlaneMiB"`
	Node         float64 `json:"nodeMiB"`
	Pods         float64 `json:"podsMiB"`
	Total        float64 `json:"totalMiB"`
}

func (s stackRSS) String() string {
	return fmt.Sprintf("%.0f MiB (control plane %.0f, node %.0f, pods %.0f)", s.Total, s.ControlPlane, s.Node, s.Pods)
}

var (
	controlPlaneBinaries = []string{"kube-apiserver", "etcd", "kube-controller-manager", "kube-scheduler", "kwok"}
	nodeBinaries         = []string{"kubelet", "kube-proxy", "containerd", "containerd-shim-runc-v2", "pause", "portfwd"}
)

// sampleStackRSS reads every process once. bin is where the cluster's
// binaries are (a process counts as control plane or node by its executable
// there); pods count by their cgroup.
func sampleStackRSS(bin string) stackRSS {
	var s stackRSS
	procs, _ := filepath.Glob("/proc/[0-9]*")
	for _, p := range procs {
		kib := procstat.RSSKiB(p)
		if kib == 0 {
			continue
		}
		mib := float64(kib) / 1024
		if cg, err := os.ReadFile(filepath.Join(p, "cgroup")); err == nil && strings.Contains(string(cg), "kubepods") {
			s.Pods += mib
			continue
		}
		exe, err := os.Readlink(filepath.Join(p, "exe"))
		if err != nil || filepath.Dir(exe) != bin {
			continue
		}
		switch name := filepath.Base(exe); {
		case slices.Contains(controlPlaneBinaries, name):
			s.ControlPlane += mib
		case slices.Contains(nodeBinaries, name):
			s.Node += mib
		}
	}
	s.Total = s.ControlPlane + s.Node + s.Pods
	return s
}

// rssSampler samples the stack's memory every interval until stopped and
// keeps the sample with the highest total.
type rssSampler struct {
	bin  string
	stop chan struct{}
	wg   sync.WaitGroup
	mu   sync.Mutex
	peak stackRSS
}

func startRSSSampler(bin string, every time.Duration) *rssSampler {
	s := &rssSampler{bin: bin, stop: make(chan struct{})}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		t := time.NewTicker(every)
		defer t.Stop()
		for {
			s.observe()
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

func (s *rssSampler) observe() {
	cur := sampleStackRSS(s.bin)
	s.mu.Lock()
	defer s.mu.Unlock()
	if cur.Total > s.peak.Total {
		s.peak = cur
	}
}

// Stop ends sampling and returns the peak and a last sample taken now.
func (s *rssSampler) Stop() (peak, last stackRSS) {
	close(s.stop)
	s.wg.Wait()
	last = sampleStackRSS(s.bin)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.peak, last
}
