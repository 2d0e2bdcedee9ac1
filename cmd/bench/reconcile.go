package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/apimetrics"
	"github.com/example-inc/memcached-operator/internal/freeport"
	"github.com/example-inc/memcached-operator/internal/operator"
	"github.com/example-inc/memcached-operator/internal/wait"
)

type reconcileResult struct {
	N            int     `json:"n"`
	Concurrency  int     `json:"maxConcurrentReconciles"`
	Nodes        int     `json:"nodes"`
	TotalSeconds float64 `json:"convergeAllSeconds"`
	P50          float64 `json:"perCRp50Seconds"`
	P95          float64 `json:"perCRp95Seconds"`
	ConvergedMax float64 `json:"perCRMaxSeconds"`
	// The control plane's share: each Deployment at its CR's size, then
	// ready (per CR from its creation), and the last one ready from the
	// start. OverheadSeconds is the operator's: from the last Deployment
	// ready to the last CR converged.
	SizedP50         float64        `json:"deploymentSizedP50Seconds"`
	ReadyP50         float64        `json:"deploymentReadyP50Seconds"`
	ReadyMax         float64        `json:"deploymentReadyMaxSeconds"`
	LastReadySeconds float64        `json:"lastDeploymentReadySeconds"`
	OverheadSeconds  float64        `json:"operatorOverheadSeconds"`
	Requests         map[string]int `json:"requests"` // "verb resource code"
	DeploymentCreate float64        `json:"deploymentCreatesPerCR"`
	StatusWrites     float64        `json:"statusWritesPerCR"`
	Conflicts        int            `json:"conflicts"`
	SteadySeconds    float64        `json:"steadySeconds"`
	SteadyWrites     int            `json:"steadyWrites"`
	PeakRSSMiB       float64        `json:"peakRSSMiB"`
	CPUSeconds       float64        `json:"cpuSeconds"`
	// ClusterCPU is the CPU seconds each control-plane component spent
	// while the Memcacheds converged: where the time went.
	ClusterCPU map[string]float64 `json:"controlPlaneCPUSecondsDuringConvergence"`
}

// benchReconcile is B1: N Memcacheds created at once in several
// namespaces, on a cluster without client rate limits and with enough fake
// nodes, against the operator binary.
func benchReconcile(args []string) error {
	fs := flag.NewFlagSet("reconcile", flag.ContinueOnError)
	sizes := fs.String("n", "100,300,1000", "Numbers of Memcacheds.")
	concurrency := fs.String("concurrency", "1,4", "--max-concurrent-reconciles values.")
	steady := fs.Duration("steady", 60*time.Second, "Steady state watched for writes after convergence.")
	manager := fs.String("manager", "bin/manager", "The operator binary.")
	workdir := fs.String("workdir", ".work/bench-reconcile", "State of the benchmark's cluster.")
	out := fs.String("out", "docs/bench", "Where results go.")
	profiles := fs.String("heap-profiles", "", "If set, a directory the operator's heap profiles go to (heap-N-workers.pb.gz, taken when every CR has converged); read them with go tool pprof.")
	if err := fs.Parse(args); err != nil {
		return err
	}
	var results []reconcileResult
	for _, ns := range strings.Split(*sizes, ",") {
		n, err := strconv.Atoi(ns)
		if err != nil {
			return err
		}
		for _, ks := range strings.Split(*concurrency, ",") {
			k, err := strconv.Atoi(ks)
			if err != nil {
				return err
			}
			r, err := reconcileRun(reconcileRunOptions{N: n, Concurrency: k, Steady: *steady, Manager: *manager, Workdir: *workdir, HeapProfiles: *profiles})
			if err != nil {
				return fmt.Errorf("N=%d concurrency=%d: %w", n, k, err)
			}
			fmt.Printf("N=%d concurrency=%d: all converged in %.1fs, %.1fs after the last Deployment ready (p50 %.1fs, p95 %.1fs); %.2f status writes/CR; %d conflicts; %d steady writes; %.0f MiB; %.1f CPU s\n",
				n, k, r.TotalSeconds, r.OverheadSeconds, r.P50, r.P95, r.StatusWrites, r.Conflicts, r.SteadyWrites, r.PeakRSSMiB, r.CPUSeconds)
			results = append(results, r)
		}
	}
	var b strings.Builder
	b.WriteString("| N | workers | nodes | all converged | last Deployment ready → last CR converged (operator overhead) | Deployment sized p50 | Deployment ready p50 / max | status complete p50 / max | Deployment creates / CR | status writes / CR | 409 conflicts | writes in steady state | peak RSS | operator CPU | control plane CPU while converging | API requests |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %d | %d | %d | %.1f s %s | %.1f → %.1f s (%.1f s) %s | %.1f s | %.1f / %.1f s | %.1f / %.1f s | %.2f | %.2f %s | %d | %d in %.0f s | %.0f MiB %s | %.1f s | %s | %s |\n",
			r.N, r.Concurrency, r.Nodes, r.TotalSeconds, verdictIf(r.N == 1000, r.TotalSeconds < 30),
			r.LastReadySeconds, r.TotalSeconds, r.OverheadSeconds, verdictIf(r.N == 1000, r.OverheadSeconds <= 1),
			r.SizedP50, r.ReadyP50, r.ReadyMax, r.P50, r.ConvergedMax, r.DeploymentCreate, r.StatusWrites,
			verdictIf(r.N == 1000, r.StatusWrites <= 2), r.Conflicts, r.SteadyWrites, r.SteadySeconds, r.PeakRSSMiB, verdictIf(r.N == 1000, r.PeakRSSMiB <= 70),
			r.CPUSeconds, summary(r.ClusterCPU, "%.1f s"), summary(r.Requests, "%d"))
	}
	b.WriteString("\nTimes come from watches on the Memcacheds and their Deployments (the harness lists nothing while the run converges). Per CR from its creation: its Deployment first at the CR's size, that Deployment ready (every replica updated and ready), the CR's status complete (Deployment at size with every pod ready, `status.nodes` lists them, `Available` True, for the current generation). The operator's overhead is the time from the last Deployment ready (the control plane's work) to the last CR converged. Requests are counted by the operator itself (`memcached_operator_api_requests_total`, by verb and resource). Targets at N=1000: under 30 s; overhead at most 1 s; at most one Deployment create and two status writes per CR; zero conflicts; zero writes in steady state; peak RSS at most 70 MiB.\n")
	return save(*out, "reconcile", results, b.String())
}

func verdictIf(applies, ok bool) string {
	if !applies {
		return ""
	}
	return verdict(ok)
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
	// N Memcacheds, against an operator with Concurrency workers.
	N, Concurrency int
	// Steady is how long the steady state is watched for writes.
	Steady time.Duration
	// Manager is the operator binary; Workdir holds the run's cluster.
	Manager, Workdir string
	// HeapProfiles, when set, is where the operator's heap profile goes once
	// every CR has converged.
	HeapProfiles string
	// ExtraArgs are further manager flags (reliability: leader election).
	ExtraArgs []string
}

// benchNamespaces spread the Memcacheds, as users' would be.
const benchNamespaces = 10

// pollInterval is how often the benchmark reads its own counters (the
// watches fill them) and waits for the operator's metrics.
const pollInterval = 200 * time.Millisecond

func reconcileRun(o reconcileRunOptions) (reconcileResult, error) {
	res := reconcileResult{N: o.N, Concurrency: o.Concurrency, Nodes: (o.N*2+109)/110 + 1, SteadySeconds: o.Steady.Seconds()}
	// A cluster of its own per run: nothing carries over between runs.
	name := fmt.Sprintf("bench-reconcile-%d-%d", o.N, o.Concurrency)
	c := newCluster(name, filepath.Join(o.Workdir, name), fmt.Sprintf("CLUSTER_NODES=%d", res.Nodes), "KWOKCTL_CREATE_FLAGS=--disable-qps-limits")
	c.down()
	defer c.down()
	k8s, err := startCluster(c)
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	op, err := startOperator(ctx, c, o)
	if err != nil {
		return res, err
	}
	defer op.stop()
	if err := createNamespaces(ctx, k8s); err != nil {
		return res, err
	}

	obs, err := startObserver(ctx, c.kubeconfig(), o.N)
	if err != nil {
		return res, err
	}
	defer obs.stop()
	cpuBefore := componentCPU(c)
	start := time.Now()
	created, err := createMemcacheds(ctx, k8s, memcachedBatch{N: o.N})
	if err != nil {
		return res, err
	}
	err = wait.For(ctx, wait.Options{What: fmt.Sprintf("%d Memcacheds to converge", o.N), Interval: pollInterval}, func(context.Context) (bool, string, error) {
		done := obs.convergedCount()
		return done == o.N, fmt.Sprintf("%d of %d converged", done, o.N), nil
	})
	if err != nil {
		return res, err
	}
	res.ClusterCPU = cpuSince(c, cpuBefore)
	t := obs.timings(start, created)
	res.TotalSeconds = t.lastConverged.Seconds()
	res.LastReadySeconds = t.lastReady.Seconds()
	res.OverheadSeconds = (t.lastConverged - t.lastReady).Seconds()
	res.P50, res.P95, res.ConvergedMax = quantiles(t.converged)
	res.SizedP50, _, _ = quantiles(t.sized)
	res.ReadyP50, _, res.ReadyMax = quantiles(t.ready)
	if o.HeapProfiles != "" {
		if err := op.heapProfile(filepath.Join(o.HeapProfiles, fmt.Sprintf("heap-%d-%d.pb.gz", o.N, o.Concurrency))); err != nil {
			return res, err
		}
	}

	atConvergence, after, err := steadyState(op.metricsURL, o.Steady)
	if err != nil {
		return res, err
	}
	collectRequests(&res, atConvergence, after)
	res.PeakRSSMiB, res.CPUSeconds = procStats(op.PID())
	return res, nil
}

// startCluster brings up the run's cluster with the CRD installed.
func startCluster(c *cluster) (client.Client, error) {
	if err := c.make("cluster-up", "install"); err != nil {
		return nil, err
	}
	return c.client()
}

// benchOperator is the manager under measurement and where it reports.
type benchOperator struct {
	*operator.Process
	metricsURL string
	// pprofURL is the operator's /debug/pprof.
	pprofURL string
	log      *os.File
}

// startOperator runs the manager against the run's cluster, watching every
// namespace, with plain-HTTP metrics the benchmark scrapes, and waits until
// they answer.
func startOperator(ctx context.Context, c *cluster, o reconcileRunOptions) (*benchOperator, error) {
	metricsAddr, err := freeport.Local()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := freeport.Local()
	if err != nil {
		return nil, err
	}
	// Appended to: a restarted operator (reliability) keeps the log before.
	logf, err := os.OpenFile(filepath.Join(c.workdir, "manager.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	p, err := operator.Start(operator.Options{
		Binary:      o.Manager,
		Kubeconfig:  c.kubeconfig(),
		MetricsAddr: metricsAddr,
		Args: append([]string{"--metrics-secure=false", fmt.Sprintf("--max-concurrent-reconciles=%d", o.Concurrency),
			"--pprof-bind-address=" + pprofAddr}, o.ExtraArgs...),
		Log: logf,
		Why: "the benchmarks and the reliability harness scrape the operator's metrics over plain HTTP and read heap profiles from pprof; leader election as the scenario asks (none in B1: one process)",
	})
	if err != nil {
		logf.Close()
		return nil, err
	}
	op := &benchOperator{Process: p, metricsURL: "http://" + metricsAddr + "/metrics", pprofURL: "http://" + pprofAddr + "/debug/pprof", log: logf}
	err = wait.For(ctx, wait.Options{What: "the operator's metrics at " + op.metricsURL, Interval: pollInterval}, func(context.Context) (bool, string, error) {
		select {
		case <-p.Exited():
			return false, "", wait.Failed("the operator exited")
		default:
		}
		if _, err := scrape(op.metricsURL); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
	if err != nil {
		op.stop()
		return nil, fmt.Errorf("the operator's metrics never came up (see %s): %w", logf.Name(), err)
	}
	return op, nil
}

// heapProfile writes the operator's heap profile (after a GC) to path.
func (op *benchOperator) heapProfile(path string) error {
	resp, err := http.Get(op.pprofURL + "/heap?gc=1")
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: %s from %s", resp.Status, op.pprofURL)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return f.Close()
}

// stop kills the manager, as the benchmark always has, and closes its log.
func (op *benchOperator) stop() {
	op.Kill()
	_ = op.log.Close()
}

func createNamespaces(ctx context.Context, k8s client.Client) error {
	for i := 0; i < benchNamespaces; i++ {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)}}); err != nil {
			return fmt.Errorf("create namespace bench-%d: %w", i, err)
		}
	}
	return nil
}

// benchKey names the i-th Memcached.
func benchKey(i int) client.ObjectKey {
	return client.ObjectKey{Namespace: fmt.Sprintf("bench-%d", i%benchNamespaces), Name: fmt.Sprintf("mc-%d", i)}
}

// benchSize is the i-th Memcached's size: 1 to 3.
func benchSize(i int) int32 { return int32(i%3 + 1) }

// memcachedBatch is which Memcacheds createMemcacheds makes: the
// indices [First, First+N), named by benchKey and sized by Size (benchSize,
// 1 to 3, when nil).
type memcachedBatch struct {
	First, N int
	Size     func(i int) int32
}

// createMemcacheds creates a batch of Memcacheds from 32 clients at once
// and returns when each was created (indexed from the batch's first).
func createMemcacheds(ctx context.Context, k8s client.Client, b memcachedBatch) ([]time.Time, error) {
	if b.Size == nil {
		b.Size = benchSize
	}
	n := b.N
	created := make([]time.Time, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				key := benchKey(b.First + i)
				mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Spec: cachev1.MemcachedSpec{Size: b.Size(b.First + i)}}
				created[i] = time.Now()
				if err := k8s.Create(ctx, mc); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return created, nil
}

// quantiles are the median, 95th percentile and maximum, in seconds.
func quantiles(d []time.Duration) (p50, p95, maxSeconds float64) {
	s := slices.Clone(d)
	slices.Sort(s)
	n := len(s)
	return s[n/2].Seconds(), s[n*95/100].Seconds(), s[n-1].Seconds()
}

// cpuSince is the CPU seconds each control-plane component spent since before.
func cpuSince(c *cluster, before map[string]float64) map[string]float64 {
	out := map[string]float64{}
	for comp, v := range componentCPU(c) {
		out[comp] = v - before[comp]
	}
	return out
}

// steadyState scrapes the request counts at convergence and again after the
// steady period.
func steadyState(metricsURL string, steady time.Duration) (atConvergence, after map[string]int, err error) {
	if atConvergence, err = scrape(metricsURL); err != nil {
		return nil, nil, fmt.Errorf("scrape at convergence: %w", err)
	}
	time.Sleep(steady)
	if after, err = scrape(metricsURL); err != nil {
		return nil, nil, fmt.Errorf("scrape after the steady state: %w", err)
	}
	return atConvergence, after, nil
}

// collectRequests counts, per CR, the Deployment creates and status writes
// until convergence, the conflicts, and the writes in the steady state.
func collectRequests(res *reconcileResult, atConvergence, after map[string]int) {
	res.Requests = after
	for key, v := range after {
		verb, resource, code := splitKey(key)
		if code == "409" {
			res.Conflicts += v
		}
		switch {
		case verb == "create" && resource == "deployments":
			res.DeploymentCreate += float64(atConvergence[key]) / float64(res.N)
		case resource == "memcacheds/status" && (verb == "patch" || verb == "update"):
			res.StatusWrites += float64(atConvergence[key]) / float64(res.N)
		}
		if verb == "create" || verb == "update" || verb == "patch" || verb == "delete" {
			res.SteadyWrites += v - atConvergence[key]
		}
	}
}

// componentCPU reads the CPU seconds of the cluster's components from the
// pid files kwokctl keeps.
func componentCPU(c *cluster) map[string]float64 {
	out := map[string]float64{}
	pids, _ := filepath.Glob(filepath.Join(c.workdir, "kwok", "clusters", c.name, "pids", "*.pid"))
	for _, p := range pids {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
		if err != nil {
			continue
		}
		_, cpu := procStats(pid)
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

// scrape reads memcached_operator_api_requests_total as "verb resource code" -> count.
func scrape(url string) (map[string]int, error) {
	resp, err := http.Get(url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	samples, err := apimetrics.Parse(resp.Body)
	if err != nil {
		return nil, err
	}
	out := map[string]int{}
	for _, s := range samples {
		out[s.Verb+" "+s.Resource+" "+s.Code] = int(s.Count)
	}
	return out, nil
}

// procStats reads a process's peak RSS (VmHWM) and CPU seconds.
func procStats(pid int) (float64, float64) {
	var rss float64
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid)); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "VmHWM:") {
				kb, _ := strconv.ParseFloat(strings.Fields(l)[1], 64)
				rss = kb / 1024
			}
		}
	}
	var cpu float64
	if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		f := strings.Fields(string(b[strings.LastIndex(string(b), ")")+2:]))
		utime, _ := strconv.ParseFloat(f[11], 64)
		stime, _ := strconv.ParseFloat(f[12], 64)
		cpu = (utime + stime) / 100 // USER_HZ
	}
	return rss, cpu
}
