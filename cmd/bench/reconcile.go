package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

type reconcileResult struct {
	N                int            `json:"n"`
	Concurrency      int            `json:"maxConcurrentReconciles"`
	Nodes            int            `json:"nodes"`
	TotalSeconds     float64        `json:"convergeAllSeconds"`
	P50              float64        `json:"perCRp50Seconds"`
	P95              float64        `json:"perCRp95Seconds"`
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
			r, err := reconcileRun(n, k, *steady, *manager, *workdir)
			if err != nil {
				return fmt.Errorf("N=%d concurrency=%d: %w", n, k, err)
			}
			fmt.Printf("N=%d concurrency=%d: all converged in %.1fs (p50 %.1fs, p95 %.1fs); %.2f status writes/CR; %d conflicts; %d steady writes; %.0f MiB; %.1f CPU s\n",
				n, k, r.TotalSeconds, r.P50, r.P95, r.StatusWrites, r.Conflicts, r.SteadyWrites, r.PeakRSSMiB, r.CPUSeconds)
			results = append(results, r)
		}
	}
	var b strings.Builder
	b.WriteString("| N | workers | nodes | all converged | per CR p50 / p95 | Deployment creates / CR | status writes / CR | 409 conflicts | writes in steady state | peak RSS | operator CPU | control plane CPU while converging | API requests |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range results {
		fmt.Fprintf(&b, "| %d | %d | %d | %.1f s %s | %.1f / %.1f s | %.2f | %.2f %s | %d | %d in %.0f s | %.0f MiB %s | %.1f s | %s | %s |\n",
			r.N, r.Concurrency, r.Nodes, r.TotalSeconds, verdictIf(r.N == 1000, r.TotalSeconds < 30), r.P50, r.P95, r.DeploymentCreate, r.StatusWrites,
			verdictIf(r.N == 1000, r.StatusWrites <= 2), r.Conflicts, r.SteadyWrites, r.SteadySeconds, r.PeakRSSMiB, verdictIf(r.N == 1000, r.PeakRSSMiB <= 72),
			r.CPUSeconds, summary(r.ClusterCPU, "%.1f s"), summary(r.Requests, "%d"))
	}
	b.WriteString("\nA CR has converged when its Deployment is at size with every pod ready, `status.nodes` lists them and `Available` is True, for the current generation. Requests are counted by the operator itself (`memcached_operator_api_requests_total`, by verb and resource). Targets at N=1000: under 30 s; at most one Deployment create and two status writes per CR; zero conflicts; zero writes in steady state; peak RSS at most 72 MiB.\n")
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

func reconcileRun(n, k int, steady time.Duration, manager, workdir string) (reconcileResult, error) {
	res := reconcileResult{N: n, Concurrency: k, Nodes: (n*2+109)/110 + 1, SteadySeconds: steady.Seconds()}
	// A cluster of its own per run: nothing carries over between runs.
	name := fmt.Sprintf("bench-reconcile-%d-%d", n, k)
	c := newCluster(name, filepath.Join(workdir, name), fmt.Sprintf("CLUSTER_NODES=%d", res.Nodes), "KWOKCTL_CREATE_FLAGS=--disable-qps-limits")
	c.down()
	defer c.down()
	if err := c.make("cluster-up", "install"); err != nil {
		return res, err
	}
	k8s, err := c.client()
	if err != nil {
		return res, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()

	port, err := freePort()
	if err != nil {
		return res, err
	}
	logf, err := os.Create(filepath.Join(c.workdir, "manager.log"))
	if err != nil {
		return res, err
	}
	defer logf.Close()
	op := exec.Command(manager, "--health-probe-bind-address=0", fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", port),
		"--metrics-secure=false", fmt.Sprintf("--max-concurrent-reconciles=%d", k))
	op.Env = append(os.Environ(), "KUBECONFIG="+c.kubeconfig(), "WATCH_NAMESPACE=")
	op.Stdout, op.Stderr = logf, logf
	if err := op.Start(); err != nil {
		return res, err
	}
	defer func() { _ = op.Process.Kill(); _ = op.Wait() }()
	metricsURL := fmt.Sprintf("http://127.0.0.1:%d/metrics", port)
	if err := waitFor(ctx, func() bool { _, err := scrape(metricsURL); return err == nil }); err != nil {
		return res, fmt.Errorf("the operator's metrics never came up (see %s)", logf.Name())
	}

	const namespaces = 10
	for i := 0; i < namespaces; i++ {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bench-%d", i)}}); err != nil {
			return res, err
		}
	}
	created := make([]time.Time, n)
	converged := make([]time.Duration, n)
	key := func(i int) client.ObjectKey {
		return client.ObjectKey{Namespace: fmt.Sprintf("bench-%d", i%namespaces), Name: fmt.Sprintf("mc-%d", i)}
	}
	index := map[client.ObjectKey]int{}
	for i := 0; i < n; i++ {
		index[key(i)] = i
	}
	cpuBefore := componentCPU(c)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: key(i).Namespace, Name: key(i).Name}, Spec: cachev1.MemcachedSpec{Size: int32(i%3 + 1)}}
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
		return res, err
	}

	done := 0
	if err := waitFor(ctx, func() bool {
		list := &cachev1.MemcachedList{}
		if err := k8s.List(ctx, list); err != nil {
			return false
		}
		now := time.Now()
		for _, mc := range list.Items {
			i, ok := index[client.ObjectKeyFromObject(&mc)]
			if !ok || converged[i] != 0 {
				continue
			}
			if mc.Status.ObservedGeneration == mc.Generation && len(mc.Status.Nodes) == int(mc.Spec.Size) &&
				mc.Status.ReadyReplicas == mc.Spec.Size && meta.IsStatusConditionTrue(mc.Status.Conditions, cachev1.ConditionAvailable) {
				converged[i] = now.Sub(created[i])
				done++
			}
		}
		return done == n
	}); err != nil {
		return res, fmt.Errorf("%d of %d converged before the deadline", done, n)
	}
	res.TotalSeconds = time.Since(start).Seconds()
	res.ClusterCPU = map[string]float64{}
	for comp, v := range componentCPU(c) {
		res.ClusterCPU[comp] = v - cpuBefore[comp]
	}
	sort.Slice(converged, func(a, b int) bool { return converged[a] < converged[b] })
	res.P50 = converged[n/2].Seconds()
	res.P95 = converged[n*95/100].Seconds()

	atConvergence, err := scrape(metricsURL)
	if err != nil {
		return res, err
	}
	time.Sleep(steady)
	after, err := scrape(metricsURL)
	if err != nil {
		return res, err
	}
	res.Requests = after
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
		if verb == "create" || verb == "update" || verb == "patch" || verb == "delete" {
			res.SteadyWrites += v - atConvergence[key]
		}
	}
	res.PeakRSSMiB, res.CPUSeconds = procStats(op.Process.Pid)
	return res, nil
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
	out := map[string]int{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if !strings.HasPrefix(line, "memcached_operator_api_requests_total{") {
			continue
		}
		labels := map[string]string{}
		inner := line[strings.Index(line, "{")+1 : strings.Index(line, "}")]
		for _, kv := range strings.Split(inner, ",") {
			k, v, _ := strings.Cut(kv, "=")
			labels[k] = strings.Trim(v, `"`)
		}
		val, _ := strconv.ParseFloat(strings.TrimSpace(line[strings.Index(line, "}")+1:]), 64)
		out[labels["verb"]+" "+labels["resource"]+" "+labels["code"]] = int(val)
	}
	return out, sc.Err()
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

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
	return nil
}
