package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/fleet"
	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/procstat"
	"github.com/example-inc/memcached-operator/internal/scrape"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// reconcileRun is one run of B1: N Memcacheds created at once, until every
// one converged, then the steady state.
type reconcileRun struct {
	TotalSeconds float64 `json:"convergeAllSeconds"`
	// Converged is each CR's creation to its status converged.
	Converged perCR `json:"perCRConvergedSeconds"`
	// The operator's own latencies per CR: created -> its Deployment
	// created, and that Deployment ready -> the CR's status converged.
	CreatedToDeployment perCR `json:"perCRCreatedToDeploymentSeconds"`
	ReadyToConverged    perCR `json:"perCRDeploymentReadyToConvergedSeconds"`
	// The control plane's share: each Deployment at its CR's size, then
	// ready (per CR from its creation), and the last one ready from the
	// start. TailSeconds is from the last Deployment ready to the last CR
	// converged.
	SizedP50         float64        `json:"deploymentSizedP50Seconds"`
	ReadyP50         float64        `json:"deploymentReadyP50Seconds"`
	ReadyMax         float64        `json:"deploymentReadyMaxSeconds"`
	LastReadySeconds float64        `json:"lastDeploymentReadySeconds"`
	TailSeconds      float64        `json:"tailSeconds"`
	Requests         map[string]int `json:"requests"` // "verb resource code"
	DeploymentCreate float64        `json:"deploymentCreatesPerCR"`
	StatusWrites     float64        `json:"statusWritesPerCR"`
	Conflicts        int            `json:"conflicts"`
	SteadySeconds    float64        `json:"steadySeconds"`
	// SteadyWrites are the writes in the steady state by "verb resource".
	SteadyWrites map[string]int `json:"steadyWrites"`
	PeakRSSMiB   float64        `json:"peakRSSMiB"`
	CPUSeconds   float64        `json:"cpuSeconds"`
	// ClusterCPU is the CPU seconds each control-plane component spent
	// while the Memcacheds converged: where the time went.
	ClusterCPU map[string]float64 `json:"controlPlaneCPUSecondsDuringConvergence"`
}

// perCR is a per-CR latency's distribution in one run, in seconds.
type perCR struct {
	P50 float64 `json:"p50"`
	P95 float64 `json:"p95"`
	Max float64 `json:"max"`
}

// reconcileRow is one configuration of B1 and its runs.
type reconcileRow struct {
	N     int `json:"n"`
	Nodes int `json:"nodes"`
	// Variant are the manager flags beyond the shipped ones (none: as shipped).
	Variant []string       `json:"variant"`
	Runs    []reconcileRun `json:"runs"`
}

// benchReconcile is B1: N Memcacheds created at once in several
// namespaces, on a cluster without client rate limits and with enough fake
// nodes, against the operator binary run with the shipped flags (and, for
// a variant row, more), each configuration benchRuns times.
func benchReconcile(args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	sizes := fs.String("n", "100,1000", "Numbers of Memcacheds.")
	variant := fs.String("variant", "", "If set, manager flags (space-separated) for a second row at each N, e.g. --max-concurrent-reconciles=1.")
	steady := fs.Duration("steady", 60*time.Second, "Steady state watched for writes after convergence.")
	manager := fs.String("manager", "bin/manager", "The operator binary.")
	workdir := fs.String("workdir", ".work/bench-reconcile", "State of the benchmark's cluster.")
	out := fs.String("out", "docs/bench", "Where results go.")
	profiles := fs.String("heap-profiles", "", "If set, a directory the operator's heap profiles go to (heap-N-RUN.pb.gz, taken when every CR has converged; the manager then serves pprof, which it does not as shipped); read them with go tool pprof.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	variants := [][]string{nil}
	if *variant != "" {
		variants = append(variants, strings.Fields(*variant))
	}
	var rows []reconcileRow
	for _, ns := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(ns)
		if err != nil {
			return fmt.Errorf("--n: %q is not a number", ns)
		}
		for _, v := range variants {
			row, err := reconcileRows(reconcileRunOptions{N: n, Variant: v, Steady: *steady, Manager: *manager, Workdir: *workdir, HeapProfiles: *profiles})
			if err != nil {
				return err
			}
			rows = append(rows, row)
		}
	}
	return save(*out, "reconcile", rows, reconcileTargets(rows), reconcileTable(rows))
}

// reconcileRows runs one configuration benchRuns times.
func reconcileRows(o reconcileRunOptions) (reconcileRow, error) {
	row := reconcileRow{N: o.N, Nodes: nodesFor(o.N), Variant: o.Variant}
	for run := range benchRuns {
		o.Run = run + 1
		r, err := runReconcile(o)
		if err != nil {
			return row, fmt.Errorf("N=%d %s run %d: %w", o.N, flagsLabel(o.Variant), o.Run, err)
		}
		fmt.Printf("N=%d %s run %d: all converged in %.1fs, last Deployment ready at %.1fs; %.2f status writes/CR; %d conflicts; steady writes %v; %.0f MiB; %.1f CPU s\n",
			o.N, flagsLabel(o.Variant), o.Run, r.TotalSeconds, r.LastReadySeconds, r.StatusWrites, r.Conflicts, r.SteadyWrites, r.PeakRSSMiB, r.CPUSeconds)
		row.Runs = append(row.Runs, r)
	}
	return row, nil
}

// nodesFor is how many kwok nodes N Memcacheds need (110 pods each, up to
// three pods per Memcached, one spare).
func nodesFor(n int) int { return (n*2+109)/110 + 1 }

// flagsLabel names a row's manager flags.
func flagsLabel(variant []string) string {
	if len(variant) == 0 {
		return "shipped flags"
	}
	return "shipped flags + " + strings.Join(variant, " ")
}

// summary prints a map as "key: value, ..." in key order.
func summary[V any](m map[string]V, format string) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, fmt.Sprintf("%s: "+format, k, m[k]))
	}
	return strings.Join(parts, ", ")
}

// reconcileRunOptions are one run of B1.
type reconcileRunOptions struct {
	// N Memcacheds; Run numbers the run (1 to benchRuns).
	N, Run int
	// Variant are manager flags beyond the shipped ones.
	Variant []string
	// Steady is how long the steady state is watched for writes.
	Steady time.Duration
	// Manager is the operator binary; Workdir holds the run's cluster.
	Manager, Workdir string
	// HeapProfiles, when set, is where the operator's heap profile goes once
	// every CR has converged.
	HeapProfiles string
}

// pollInterval is how often the benchmark reads its own counters (the
// watches fill them) and waits for the operator's metrics.
const pollInterval = 200 * time.Millisecond

// runReconcile is one run on a cluster of its own: nothing carries over
// between runs.
func runReconcile(o reconcileRunOptions) (reconcileRun, error) {
	res := reconcileRun{SteadySeconds: o.Steady.Seconds()}
	name := fmt.Sprintf("bench-reconcile-%d-%d", o.N, o.Run)
	c := localcluster.New(name, filepath.Join(o.Workdir, name), fmt.Sprintf("CLUSTER_NODES=%d", nodesFor(o.N)), "KWOKCTL_CREATE_FLAGS=--disable-qps-limits")
	defer c.Down()
	k8s, err := c.Up()
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	op, err := startOperator(ctx, c, operatorOptions{Manager: o.Manager, Args: o.Variant, Pprof: o.HeapProfiles != ""})
	if err != nil {
		return res, err
	}
	defer op.stop()
	if err := fleet.CreateNamespaces(ctx, k8s); err != nil {
		return res, err
	}
	if err := converge(ctx, c, k8s, o.N, &res); err != nil {
		return res, err
	}
	if o.HeapProfiles != "" {
		if err := op.heapProfile(filepath.Join(o.HeapProfiles, fmt.Sprintf("heap-%d-%d.pb.gz", o.N, o.Run))); err != nil {
			return res, err
		}
	}
	atConvergence, after, err := steadyState(op.metrics, o.Steady)
	if err != nil {
		return res, err
	}
	collectRequests(&res, o.N, atConvergence, after)
	res.PeakRSSMiB, res.CPUSeconds = procstat.Stats(op.PID())
	return res, nil
}

// converge creates the N Memcacheds at once and records, from the
// harness's watches, when each converged and what the control plane spent.
func converge(ctx context.Context, c *localcluster.Cluster, k8s client.Client, n int, res *reconcileRun) error {
	obs, err := startObserver(ctx, c, n)
	if err != nil {
		return err
	}
	defer obs.stop()
	cpuBefore := componentCPU(c)
	start := time.Now()
	created, err := fleet.Create(ctx, k8s, fleet.Batch{N: n})
	if err != nil {
		return err
	}
	err = wait.For(ctx, wait.Options{What: fmt.Sprintf("%d Memcacheds to converge", n), Interval: pollInterval}, func(context.Context) (bool, string, error) {
		done := obs.convergedCount()
		return done == n, fmt.Sprintf("%d of %d converged", done, n), nil
	})
	if err != nil {
		return err
	}
	res.ClusterCPU = cpuSince(c, cpuBefore)
	t := obs.timings(start, created)
	res.TotalSeconds = t.lastConverged.Seconds()
	res.LastReadySeconds = t.lastReady.Seconds()
	res.TailSeconds = (t.lastConverged - t.lastReady).Seconds()
	res.Converged = quantiles(t.converged)
	res.CreatedToDeployment = quantiles(t.deployed)
	res.ReadyToConverged = quantiles(t.readyToConverged)
	res.SizedP50 = quantiles(t.sized).P50
	ready := quantiles(t.ready)
	res.ReadyP50, res.ReadyMax = ready.P50, ready.Max
	return nil
}

// quantiles are the median, 95th percentile and maximum, in seconds.
func quantiles(d []time.Duration) perCR {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	return perCR{P50: s[n/2].Seconds(), P95: s[n*95/100].Seconds(), Max: s[n-1].Seconds()}
}

// cpuSince is the CPU seconds each control-plane component spent since before.
func cpuSince(c *localcluster.Cluster, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for comp, v := range componentCPU(c) {
		out[comp] = v - before[comp]
	}
	return out
}

// steadyState scrapes the request counts at convergence and again after the
// steady period.
func steadyState(m scrape.Endpoint, steady time.Duration) (atConvergence, after map[string]int, err error) {
	if atConvergence, err = m.Requests(); err != nil {
		return nil, nil, fmt.Errorf("scrape at convergence: %w", err)
	}
	time.Sleep(steady)
	if after, err = m.Requests(); err != nil {
		return nil, nil, fmt.Errorf("scrape after the steady state: %w", err)
	}
	return atConvergence, after, nil
}

// collectRequests counts, per CR, the Deployment creates and status writes
// until convergence, the conflicts, and the writes in the steady state by
// resource.
func collectRequests(res *reconcileRun, n int, atConvergence, after map[string]int) {
	res.Requests = after
	res.SteadyWrites = map[string]int{}
	for key, v := range after {
		verb, resource, code := splitKey(key)
		if code == "409" {
			res.Conflicts += v
		}
		switch {
		case verb == "create" && resource == "deployments":
			res.DeploymentCreate += float64(atConvergence[key]) / float64(n)
		case resource == "memcacheds/status" && (verb == "patch" || verb == "update"):
			res.StatusWrites += float64(atConvergence[key]) / float64(n)
		}
		if d := v - atConvergence[key]; d > 0 && isWrite(verb) {
			res.SteadyWrites[verb+" "+resource] += d
		}
	}
}

func isWrite(verb string) bool {
	return verb == "create" || verb == "update" || verb == "patch" || verb == "delete"
}

// componentCPU reads the CPU seconds of the cluster's components from the
// pid files kwokctl keeps.
func componentCPU(c *localcluster.Cluster) map[string]float64 {
	out := map[string]float64{}
	pids, _ := filepath.Glob(filepath.Join(c.Workdir, "kwok", "clusters", c.Name, "pids", "*.pid"))
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		_, cpu := procstat.Stats(pid)
		out[strings.TrimSuffix(filepath.Base(p), ".pid")] = cpu
	}
	return out
}

func splitKey(k string) (verb, resource, code string) {
	p := strings.Fields(k)
	if len(p) != 3 {
		return "", "", ""
	}
	return p[0], p[1], p[2]
}
