package reliability

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/fleet"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// OperatorScenarios: the operator under faults on the simulated lane
// (kwok: no pod runs, the operator is a host process), with N Memcacheds
// converging.
func OperatorScenarios() []Scenario {
	return []Scenario{
		{Name: "kill", Injects: "SIGKILL of the operator at five random moments while the Memcacheds converge, a third of them resized meanwhile; restarted each time",
			Checks: "every Memcached converges; none owns two Deployments or none; no status goes back to an older generation", Run: one(killDuringConvergence)},
		{Name: "apiserver", Injects: "kube-apiserver stopped mid-convergence, then etcd restarted, with leader election on as deployed",
			Checks: "the operator reconnects and every Memcached converges; no crash loop; one Deployment per Memcached", Run: one(apiServerOutage)},
		{Name: "fight", Injects: "another writer patching owned Deployments' labels, replicas and image every 100 ms",
			Checks: "every owned field is restored within a bound once it stops; no conflict reaches a status", Run: one(fightingWriter)},
		{Name: "drift", Injects: "a third of the Deployments deleted and another third scaled by hand, at once",
			Checks: "every Deployment is back and every Memcached converged again", Run: one(driftAtScale)},
		{Name: "churn", Injects: "Memcacheds of size 0 and 1 created and deleted in waves",
			Checks: "after each wave the operator's heap and goroutines are back at the first wave's; after the event recorder's cache drained, its heap and RSS too", Run: one(churn)},
	}
}

// faultN is how many Memcacheds converge while faults are injected.
func faultN(o Options) int {
	if o.Fast {
		return 60
	}
	return 300
}

// killDuringConvergence: SIGKILL the operator at five random moments while
// the Memcacheds converge (and a third of them change size), restarting it
// each time, as the kubelet would.
func killDuringConvergence(o Options) (Row, error) {
	s := Row{Group: "operator", Name: fmt.Sprintf("operator SIGKILLed 5 times while %d Memcacheds converge (a third resized meanwhile)", faultN(o))}
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

func killRun(r *opRun, s *Row) (bool, time.Duration, error) {
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
		key := fleet.Key(i)
		patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"size":%d}}`, fleet.Size(i)%3+1)))
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
func fightingWriter(o Options) (Row, error) {
	fight := time.Minute
	if o.Fast {
		fight = 10 * time.Second
	}
	s := Row{Group: "operator", Name: fmt.Sprintf("another writer patches 10 owned Deployments' labels, replicas and image every 100 ms for %s", fight), Runs: 1}
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
	if req, err := r.op.metrics.Requests(); err == nil {
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
			key := fleet.Key(i)
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
func driftAtScale(o Options) (Row, error) {
	n := faultN(o)
	k := min(100, n/3)
	s := Row{Group: "operator", Name: fmt.Sprintf("%d Deployments deleted and %d scaled by hand at once (of %d)", k, k, n), Runs: 1}
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
			key := fleet.Key(i)
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
