package main

import (
	"context"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/logtail"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// operatorGroup: the operator under faults on the simulated lane, with N
// Memcacheds converging.
func operatorGroup(o reliabilityOptions) ([]scenario, error) {
	var rows []scenario
	for _, sc := range []struct {
		name string
		run  func(reliabilityOptions) (scenario, error)
	}{{"kill", killDuringConvergence}, {"apiserver", apiServerOutage}, {"fight", fightingWriter}, {"drift", driftAtScale}, {"churn", churn}} {
		if o.Only != "" && o.Only != sc.name {
			continue
		}
		s, err := sc.run(o)
		if err != nil {
			return nil, err
		}
		rows = append(rows, s)
	}
	return rows, nil
}

// faultN is how many Memcacheds converge while faults are injected.
func faultN(o reliabilityOptions) int {
	if o.Fast {
		return 60
	}
	return 300
}

// opRun is one run of an operator scenario: a fresh cluster, the operator
// binary as a host process, n Memcacheds, and a watch on them.
type opRun struct {
	o       reliabilityOptions
	c       *cluster
	k8s     client.Client
	op      *benchOperator
	ctx     context.Context
	cancel  context.CancelFunc
	w       *crWatch
	n       int
	created time.Time
	// args are further manager flags.
	args []string
}

// opRunOptions say what an operator scenario starts with.
type opRunOptions struct {
	// Name names the cluster.
	Name string
	// N Memcacheds (sizes 1 to 3) are created once the operator runs.
	N int
	// Pods is the most pods the scenario runs at once (default 2N: the
	// cluster gets a fake node per 110).
	Pods int
	// Args are further manager flags.
	Args []string
	// Timeout bounds the whole run (default 15 minutes).
	Timeout time.Duration
}

// startOpRun brings up a cluster of its own, the operator, and ro.N
// Memcacheds.
func startOpRun(o reliabilityOptions, ro opRunOptions) (*opRun, error) {
	n, name := ro.N, ro.Name
	if ro.Pods == 0 {
		ro.Pods = 2 * n
	}
	nodes := (ro.Pods+109)/110 + 1
	c := newCluster(name, o.Work+"/"+name, fmt.Sprintf("CLUSTER_NODES=%d", nodes), "KWOKCTL_CREATE_FLAGS=--disable-qps-limits")
	c.down()
	r := &opRun{o: o, c: c, n: n, args: ro.Args}
	if ro.Timeout == 0 {
		ro.Timeout = 15 * time.Minute
	}
	r.ctx, r.cancel = context.WithTimeout(context.Background(), ro.Timeout)
	var err error
	if r.k8s, err = startCluster(c); err != nil {
		r.stop()
		return nil, err
	}
	if err := r.startOperator(); err != nil {
		r.stop()
		return nil, err
	}
	if err := createNamespaces(r.ctx, r.k8s); err != nil {
		r.stop()
		return nil, err
	}
	if r.w, err = watchMemcacheds(r.ctx, c.kubeconfig()); err != nil {
		r.stop()
		return nil, err
	}
	r.created = time.Now()
	if _, err := createMemcacheds(r.ctx, r.k8s, memcachedBatch{N: n}); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *opRun) startOperator() error {
	op, err := startOperator(r.ctx, r.c, operatorOptions{Manager: r.o.Bin + "/manager", Args: r.args})
	if err != nil {
		return err
	}
	r.op = op
	return nil
}

func (r *opRun) stop() {
	if r.w != nil {
		r.w.stop()
	}
	if r.op != nil {
		r.op.stop()
	}
	r.c.down()
	r.cancel()
}

// waitConverged waits until every Memcached's status is complete for its
// current generation; on a timeout it says whether the control plane or
// the operator is behind.
func (r *opRun) waitConverged(timeout time.Duration) error {
	err := r.waitConvergedOnly(timeout)
	if err != nil {
		err = fmt.Errorf("%w (%s)", err, r.diagnose())
	}
	return err
}

// diagnose counts ready Deployments and running pods, and quotes the
// operator's last log lines.
func (r *opRun) diagnose() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deps := &appsv1.DeploymentList{}
	pods := &corev1.PodList{}
	if err := r.k8s.List(ctx, deps); err != nil {
		return err.Error()
	}
	if err := r.k8s.List(ctx, pods); err != nil {
		return err.Error()
	}
	ready := 0
	for _, d := range deps.Items {
		if d.Status.ReadyReplicas == ptr.Deref(d.Spec.Replicas, 1) && d.Status.ObservedGeneration >= d.Generation {
			ready++
		}
	}
	phases := map[string]int{}
	for _, p := range pods.Items {
		phases[string(p.Status.Phase)]++
	}
	log, _ := os.ReadFile(r.op.log.Name())
	return fmt.Sprintf("%d of %d Deployments ready; pods %v; operator log: %s", ready, len(deps.Items), phases, logtail.Lines(string(log), 5))
}

func (r *opRun) waitConvergedOnly(timeout time.Duration) error {
	return wait.For(r.ctx, wait.Options{What: fmt.Sprintf("%d Memcacheds to converge", r.n), Timeout: timeout, Interval: pollInterval},
		func(context.Context) (bool, string, error) {
			done := r.w.converged()
			return done == r.n, fmt.Sprintf("%d of %d converged", done, r.n), nil
		})
}

// deploymentsPerCR counts the Memcacheds that own more than one
// Deployment, and those that own none.
func (r *opRun) deploymentsPerCR() (dup, missing int, err error) {
	list, mcs := &appsv1.DeploymentList{}, &cachev1.MemcachedList{}
	// The reads are retried: right after an API server or etcd restart a
	// request can fail on its connection (an HTTP/2 stream reset), which
	// says nothing of the operator (it failed a CI run once).
	err = wait.For(r.ctx, wait.Options{What: "Deployments and Memcacheds to be listed", Timeout: 30 * time.Second, Interval: time.Second},
		func(ctx context.Context) (bool, string, error) {
			if err := r.k8s.List(ctx, list); err != nil {
				return false, err.Error(), nil
			}
			if err := r.k8s.List(ctx, mcs); err != nil {
				return false, err.Error(), nil
			}
			return true, "", nil
		})
	if err != nil {
		return 0, 0, err
	}
	owned := map[types.UID]int{}
	for _, d := range list.Items {
		for _, ref := range d.OwnerReferences {
			if ref.Kind == "Memcached" && ptr.Deref(ref.Controller, false) {
				owned[ref.UID]++
			}
		}
	}
	for _, mc := range mcs.Items {
		switch owned[mc.UID] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	return dup, missing, nil
}

// killDuringConvergence: SIGKILL the operator at five random moments while
// the Memcacheds converge (and a third of them change size), restarting it
// each time, as the kubelet would.
func killDuringConvergence(o reliabilityOptions) (scenario, error) {
	s := scenario{Group: "operator", Name: fmt.Sprintf("operator SIGKILLed 5 times while %d Memcacheds converge (a third resized meanwhile)", faultN(o))}
	runs := 3
	if o.Fast {
		runs = 1
	}
	var afterLast []float64
	for k := 0; k < runs; k++ {
		s.Runs++
		r, err := startOpRun(o, opRunOptions{Name: fmt.Sprintf("rel-kill-%d", k), N: faultN(o)})
		if err != nil {
			return s, err
		}
		ok, last, err := killRun(r, &s)
		r.stop()
		if err != nil {
			return s, err
		}
		if ok {
			s.Passed++
			afterLast = append(afterLast, last.Seconds())
		}
	}
	s.Figure = fmt.Sprintf("all converged %s s after the last restart (per run)", floats(afterLast))
	return s, nil
}

func killRun(r *opRun, s *scenario) (bool, time.Duration, error) {
	// Five moments while they converge (B1: 300 in ~17 s, 60 in ~5 s).
	window := time.Duration(r.n) * 60 * time.Millisecond
	var at []time.Duration
	for range 5 {
		at = append(at, time.Duration(r.o.Rand.Int64N(int64(window))))
	}
	slices.Sort(at)
	resizeAt := time.Duration(r.o.Rand.Int64N(int64(window / 2)))
	resized := false
	var lastRestart time.Time
	for _, t := range at {
		if !resized && time.Since(r.created) < resizeAt {
			time.Sleep(resizeAt - time.Since(r.created))
		}
		if !resized {
			if err := resizeThird(r); err != nil {
				return false, 0, err
			}
			resized = true
		}
		if d := t - time.Since(r.created); d > 0 {
			time.Sleep(d)
		}
		r.op.Kill()
		_ = r.op.log.Close()
		if err := r.startOperator(); err != nil {
			return false, 0, fmt.Errorf("restart after SIGKILL: %w", err)
		}
		lastRestart = time.Now()
	}
	if !resized {
		if err := resizeThird(r); err != nil {
			return false, 0, err
		}
	}
	ok := true
	if err := r.waitConverged(5 * time.Minute); err != nil {
		s.Fail("kills at %s s: %v", durations(at), err)
		ok = false
	}
	took := time.Since(lastRestart)
	dup, missing, err := r.deploymentsPerCR()
	if err != nil {
		return false, 0, err
	}
	if dup > 0 || missing > 0 {
		s.Fail("kills at %s s: %d Memcacheds with two Deployments, %d with none", durations(at), dup, missing)
		ok = false
	}
	if reg := r.w.regressions(); len(reg) > 0 {
		s.Fail("kills at %s s: status went back to an older generation: %s", durations(at), short(reg))
		ok = false
	}
	return ok, took, nil
}

// resizeThird changes the size of every third Memcached (generation 2).
func resizeThird(r *opRun) error {
	for i := 0; i < r.n; i += 3 {
		key := benchKey(i)
		patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"size":%d}}`, benchSize(i)%3+1)))
		if err := r.k8s.Patch(r.ctx, &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}, patch); err != nil {
			return fmt.Errorf("resize %s: %w", key, err)
		}
	}
	return nil
}

// fightingWriter: once converged, another writer patches owned
// Deployments' labels, replicas and image every 100 ms for a minute; after
// it stops, every owned field is back within a bound, and no conflict
// reaches a status.
func fightingWriter(o reliabilityOptions) (scenario, error) {
	fight := time.Minute
	if o.Fast {
		fight = 10 * time.Second
	}
	s := scenario{Group: "operator", Name: fmt.Sprintf("another writer patches 10 owned Deployments' labels, replicas and image every 100 ms for %s", fight), Runs: 1}
	// Room for every Deployment at the writer's 7 replicas: a pod that cannot
	// be scheduled would make a Memcached Degraded for a reason of its own
	// (Unschedulable, "Too many pods": the first full run's finding).
	r, err := startOpRun(o, opRunOptions{Name: "rel-fight", N: faultN(o), Pods: 7 * faultN(o)})
	if err != nil {
		return s, err
	}
	defer r.stop()
	if err := r.waitConverged(5 * time.Minute); err != nil {
		return s, err
	}
	patches, err := fightFor(r, fight)
	if err != nil {
		return s, err
	}
	stopped := time.Now()
	var restored time.Duration
	err = wait.For(r.ctx, wait.Options{What: "every owned field restored", Timeout: 2 * time.Minute, Interval: 500 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			bad, err := driftedDeployments(r)
			return bad == 0, fmt.Sprintf("%d Deployments still drifted", bad), err
		})
	restored = time.Since(stopped)
	if err != nil {
		s.Fail("%v", err)
	}
	if degraded := r.w.degradedEver(); len(degraded) > 0 {
		s.Fail("a conflict or drift surfaced as Degraded in status: %s", short(degraded))
	}
	if err := r.waitConverged(2 * time.Minute); err != nil {
		s.Fail("not converged after the fight: %v", err)
	}
	conflicts := 0
	if req, err := scrape(r.op.metrics); err == nil {
		for k, v := range req {
			if strings.HasSuffix(k, " 409") {
				conflicts += v
			}
		}
	}
	if len(s.Failures) == 0 {
		s.Passed = 1
	}
	s.Figure = fmt.Sprintf("%d patches; every owned field back %.1f s after the writer stopped; %d conflicts met by the operator, retried, none in status", patches, restored.Seconds(), conflicts)
	return s, nil
}

// fightFor patches 10 random owned Deployments every 100 ms.
func fightFor(r *opRun, d time.Duration) (int, error) {
	patches := 0
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	end := time.Now().Add(d)
	for time.Now().Before(end) {
		<-tick.C
		for range 10 {
			i := r.o.Rand.IntN(r.n)
			key := benchKey(i)
			var body string
			switch r.o.Rand.IntN(3) {
			case 0:
				body = `{"metadata":{"labels":{"app.kubernetes.io/instance":"stolen","app.kubernetes.io/managed-by":"someone"}}}`
			case 1:
				body = `{"spec":{"replicas":7}}`
			default:
				body = `{"spec":{"template":{"spec":{"containers":[{"name":"memcached","image":"someone/else:1"}]}}}}`
			}
			err := r.k8s.Patch(r.ctx, &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}},
				client.RawPatch(types.StrategicMergePatchType, []byte(body)))
			if err != nil {
				return patches, fmt.Errorf("the other writer's patch of %s: %w", key, err)
			}
			patches++
		}
	}
	return patches, nil
}

// driftedDeployments counts owned Deployments whose operator-owned fields
// differ from their Memcached's.
func driftedDeployments(r *opRun) (int, error) {
	list := &appsv1.DeploymentList{}
	if err := r.k8s.List(r.ctx, list); err != nil {
		return 0, err
	}
	sizes := map[client.ObjectKey]int32{}
	mcs := &cachev1.MemcachedList{}
	if err := r.k8s.List(r.ctx, mcs); err != nil {
		return 0, err
	}
	for _, mc := range mcs.Items {
		sizes[client.ObjectKeyFromObject(&mc)] = mc.Spec.Size
	}
	bad := 0
	for _, d := range list.Items {
		want, ok := sizes[client.ObjectKeyFromObject(&d)]
		if !ok {
			continue
		}
		c := d.Spec.Template.Spec.Containers
		if ptr.Deref(d.Spec.Replicas, -1) != want || d.Labels["app.kubernetes.io/instance"] != d.Name ||
			d.Labels["app.kubernetes.io/managed-by"] != "memcached-operator" || len(c) != 1 || strings.HasPrefix(c[0].Image, "someone/") {
			bad++
		}
	}
	return bad, nil
}

// driftAtScale: once converged, 100 Deployments are deleted and 100 others
// scaled by hand, at once; the time until all are back.
func driftAtScale(o reliabilityOptions) (scenario, error) {
	n := faultN(o)
	k := min(100, n/3)
	s := scenario{Group: "operator", Name: fmt.Sprintf("%d Deployments deleted and %d scaled by hand at once (of %d)", k, k, n), Runs: 1}
	r, err := startOpRun(o, opRunOptions{Name: "rel-drift", N: n})
	if err != nil {
		return s, err
	}
	defer r.stop()
	if err := r.waitConverged(5 * time.Minute); err != nil {
		return s, err
	}
	perm := r.o.Rand.Perm(n)
	start := time.Now()
	var wg sync.WaitGroup
	errs := make(chan error, 2*k)
	for j, i := range perm[:2*k] {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := benchKey(i)
			d := &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}}
			if j < k {
				errs <- r.k8s.Delete(r.ctx, d)
				return
			}
			errs <- r.k8s.Patch(r.ctx, d, client.RawPatch(types.MergePatchType, []byte(`{"spec":{"replicas":9}}`)))
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			return s, err
		}
	}
	err = wait.For(r.ctx, wait.Options{What: "every Deployment back", Timeout: 3 * time.Minute, Interval: 500 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			bad, err := driftedDeployments(r)
			if err != nil {
				return false, "", err
			}
			dup, missing, err := r.deploymentsPerCR()
			return bad+dup+missing == 0, fmt.Sprintf("%d drifted, %d missing", bad, missing), err
		})
	back := time.Since(start)
	if err != nil {
		s.Fail("%v", err)
	}
	if err := r.waitConverged(3 * time.Minute); err != nil {
		s.Fail("not converged again: %v", err)
	}
	converged := time.Since(start)
	if len(s.Failures) == 0 {
		s.Passed = 1
	}
	s.Figure = fmt.Sprintf("every Deployment recreated or rescaled %.1f s after; every Memcached converged again %.1f s after", back.Seconds(), converged.Seconds())
	return s, nil
}

// crWatch follows every Memcached: converged for its generation, the
// highest generation its status has reported (a lower one later is a
// regression), and whether it was ever Degraded.
type crWatch struct {
	mu    sync.Mutex
	ready map[client.ObjectKey]bool
	seen  map[client.ObjectKey]int64
	back  []string
	// degraded is the first Degraded=True each Memcached showed ("reason: message").
	degraded map[client.ObjectKey]string
	cancel   context.CancelFunc
}

func watchMemcacheds(ctx context.Context, kubeconfig string) (*crWatch, error) {
	w := &crWatch{ready: map[client.ObjectKey]bool{}, seen: map[client.ObjectKey]int64{}, degraded: map[client.ObjectKey]string{}}
	cancel, err := watchAll(ctx, kubeconfig, map[client.Object]func(any){&cachev1.Memcached{}: w.observe})
	if err != nil {
		return nil, err
	}
	w.cancel = cancel
	return w, nil
}

func (w *crWatch) stop() { w.cancel() }

func (w *crWatch) observe(obj any) {
	mc, ok := obj.(*cachev1.Memcached)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(mc)
	ready, _ := readiness.Memcached(mc, readiness.AllFields)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ready[key] = ready
	g := mc.Status.ObservedGeneration
	if g < w.seen[key] {
		w.back = append(w.back, fmt.Sprintf("%s %d after %d", key, g, w.seen[key]))
	} else {
		w.seen[key] = g
	}
	for _, c := range mc.Status.Conditions {
		if _, seen := w.degraded[key]; !seen && c.Type == cachev1.ConditionDegraded && c.Status == metav1.ConditionTrue {
			w.degraded[key] = c.Reason + ": " + c.Message
		}
	}
}

func (w *crWatch) converged() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.ready {
		if r {
			n++
		}
	}
	return n
}

func (w *crWatch) regressions() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.back)
}

func (w *crWatch) degradedEver() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for k, why := range w.degraded {
		out = append(out, fmt.Sprintf("%s (%s)", k, why))
	}
	sort.Strings(out)
	return out
}

func durations(ds []time.Duration) string {
	parts := make([]string, len(ds))
	for i, d := range ds {
		parts[i] = fmt.Sprintf("%.1f", d.Seconds())
	}
	return strings.Join(parts, ", ")
}

func floats(fs []float64) string {
	parts := make([]string, len(fs))
	for i, f := range fs {
		parts[i] = fmt.Sprintf("%.1f", f)
	}
	return strings.Join(parts, " / ")
}
