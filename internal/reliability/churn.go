package reliability

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/fleet"
	"github.com/example-inc/memcached-operator/internal/procstat"
	"github.com/example-inc/memcached-operator/internal/readiness"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// churnLimits are how far a later wave's footprint may sit above the
// baseline (the footprint after the first wave, once the operator's caches
// and client pools have reached their working size): per-CR memory left
// behind would grow with every wave past them (a wave of 2,500 leaking
// 1 KiB each adds 2.4 MiB). The event recorder's cache is left out of the
// comparison: it holds the events of the last minutes whatever happened to
// their objects, and goes by time.
const (
	churnHeapSlackMiB    = 2
	churnSlackRatio      = 0.15
	churnGoroutineSlack  = 5
	churnSettle          = 10 * time.Second
	churnWaveTimeout     = 8 * time.Minute
	churnDeletionTimeout = 5 * time.Minute
	// churnRSSSlackMiB is how far resident memory may sit above the
	// baseline's once the recorder's cache has drained (with
	// churnSlackRatio): the runtime hands freed pages back to the system
	// gradually, not at once.
	churnRSSSlackMiB = 5
	// churnEventsWindow is how long client-go's event recorder keeps an
	// event it sent: it drops those older than 6 minutes every 6 minutes
	// (tools/events, finishTime), so at most 12 minutes, plus a margin.
	churnEventsWindow = 12*time.Minute + 30*time.Second
	churnDrainPoll    = time.Minute
)

// churnWaves is what churn measured after each wave.
type churnWaves struct {
	idle    footprint
	after   []footprint
	took    []time.Duration
	peakRSS float64
}

// churn: Memcacheds of size 0 and 1 created and deleted in waves; after each
// wave the operator's heap and goroutines are back at the baseline.
func churn(o Options) (Row, error) {
	waves, per := 4, 2500
	if o.Fast {
		waves, per = 3, 200
	}
	s := Row{Group: "operator", Name: fmt.Sprintf("churn: %d Memcacheds (sizes 0 and 1) created and deleted in %d waves of %d", waves*per, waves, per)}
	// Each wave takes a little over 2 minutes to converge and go.
	r, err := startOpRun(o, opRunOptions{Name: "rel-churn", Pods: per / 2, Timeout: time.Duration(waves)*4*time.Minute + churnEventsWindow + 5*time.Minute})
	if err != nil {
		return s, err
	}
	defer r.stop()
	cw, err := r.churnWaves(waves, per)
	if err != nil {
		return s, err
	}
	base := cw.after[0]
	for i, f := range cw.after[1:] {
		s.Run(compare(&s, fmt.Sprintf("after wave %d", i+2), overBaseline(base, f, false)))
	}
	s.Figure = cw.figure()
	if o.Fast {
		return s, nil
	}
	start := time.Now()
	if err := r.drainEvents(); err != nil {
		return s, err
	}
	drained, err := r.footprint()
	if err != nil {
		return s, err
	}
	when := fmt.Sprintf("%d min after the last wave", int(time.Since(start).Minutes()))
	s.Run(compare(&s, when, overBaseline(base, drained, true)))
	s.Figure += fmt.Sprintf("; %s (the recorder's cache drained): %s", when, drained)
	return s, nil
}

// churnWaves creates and deletes waves of per Memcacheds, reading the
// operator's footprint before any and after each wave's deletion.
func (r *opRun) churnWaves(waves, per int) (churnWaves, error) {
	var cw churnWaves
	var err error
	if cw.idle, err = r.footprint(); err != nil {
		return cw, err
	}
	for w := 0; w < waves; w++ {
		start := time.Now()
		if _, err := fleet.Create(r.ctx, r.k8s, fleet.Batch{First: w * per, N: per, Size: func(i int) int32 { return int32(i % 2) }}); err != nil {
			return cw, err
		}
		if err := r.waitAllConverged(per); err != nil {
			return cw, fmt.Errorf("wave %d: %w", w+1, err)
		}
		cw.took = append(cw.took, time.Since(start))
		if rss, err := procstat.RSS(r.op.PID()); err == nil {
			cw.peakRSS = max(cw.peakRSS, rss)
		}
		if err := r.deleteAll(); err != nil {
			return cw, fmt.Errorf("wave %d: %w", w+1, err)
		}
		f, err := r.footprint()
		if err != nil {
			return cw, err
		}
		fmt.Printf("    churn wave %d: converged in %.1f s; after deletion %s\n", w+1, cw.took[w].Seconds(), f)
		cw.after = append(cw.after, f)
	}
	return cw, nil
}

func (cw churnWaves) figure() string {
	var heaps, events, gs, rss []string
	for _, f := range cw.after {
		heaps = append(heaps, fmt.Sprintf("%.1f", f.HeapMiB))
		events = append(events, fmt.Sprintf("%.1f", f.EventsMiB))
		gs = append(gs, strconv.Itoa(f.Goroutines))
		rss = append(rss, fmt.Sprintf("%.0f", f.RSSMiB))
	}
	return fmt.Sprintf("idle before any: %s; after each wave's deletion: heap %s MiB (plus the event recorder's cache of the last minutes' events: %s MiB), goroutines %s, RSS %s MiB (peak with a wave converged %.0f MiB); waves converged in %s s",
		cw.idle, strings.Join(heaps, " / "), strings.Join(events, " / "), strings.Join(gs, " / "), strings.Join(rss, " / "), cw.peakRSS, durations(cw.took))
}

// compare records each way f is over the baseline as a failure at when,
// and says whether there was none.
func compare(s *Row, when string, over []string) bool {
	for _, w := range over {
		s.Fail("%s: %s", when, w)
	}
	return len(over) == 0
}

// overBaseline says how far f is over the baseline footprint. Right after
// a wave the event recorder's cache is left out (it holds the last
// minutes' events whatever became of their objects), and so is resident
// memory, which follows it; once the cache has drained (drained), both
// count: what the operator holds after 10,000 Memcacheds came and went,
// against what it held after the first 2,500.
func overBaseline(base, f footprint, drained bool) []string {
	var over []string
	baseHeap, heap, of := base.HeapMiB, f.HeapMiB, "memory left behind per Memcached"
	if drained {
		baseHeap, heap = baseHeap+base.EventsMiB, heap+f.EventsMiB
		of = fmt.Sprintf("%.1f MiB of it the event recorder's", f.EventsMiB)
	}
	if limit := baseHeap*(1+churnSlackRatio) + churnHeapSlackMiB; heap > limit {
		over = append(over, fmt.Sprintf("the live heap is %.1f MiB (%s), over the baseline %.1f MiB (limit %.1f)", heap, of, baseHeap, limit))
	}
	if limit := base.RSSMiB*(1+churnSlackRatio) + churnRSSSlackMiB; drained && f.RSSMiB > limit {
		over = append(over, fmt.Sprintf("resident memory is %.0f MiB, over the baseline %.0f MiB (limit %.0f)", f.RSSMiB, base.RSSMiB, limit))
	}
	if f.Goroutines > base.Goroutines+churnGoroutineSlack {
		over = append(over, fmt.Sprintf("the operator runs %d goroutines, %d at the baseline", f.Goroutines, base.Goroutines))
	}
	return over
}

// drainEvents waits, idle, for the event recorder to drop the last wave's
// events, reading its cache every minute until it holds less than half a
// MiB. Running out of time is no error here: the comparison that follows
// reports the cache that stayed.
func (r *opRun) drainEvents() error {
	start := time.Now()
	err := wait.For(r.ctx, wait.Options{What: "the event recorder's cache to drain", Timeout: churnEventsWindow, Interval: churnDrainPoll},
		func(ctx context.Context) (bool, string, error) {
			heap, events, err := liveHeap(r.op.pprofURL + "/heap?gc=1")
			if err != nil {
				return false, "", err
			}
			fmt.Printf("    churn drain, %2.0f min: %.1f MiB heap, %.1f MiB of it the event recorder's\n", time.Since(start).Minutes(), heap/(1<<20), events/(1<<20))
			return events < 0.5*(1<<20), "", nil
		})
	if r.ctx.Err() != nil {
		return r.ctx.Err()
	}
	var timedOut *wait.Error
	if errors.As(err, &timedOut) {
		return nil
	}
	return err
}

// waitAllConverged waits until n Memcacheds exist and each is converged.
func (r *opRun) waitAllConverged(n int) error {
	return wait.For(r.ctx, wait.Options{What: fmt.Sprintf("%d Memcacheds to converge", n), Timeout: churnWaveTimeout, Interval: time.Second},
		func(ctx context.Context) (bool, string, error) {
			list := &cachev1.MemcachedList{}
			if err := r.k8s.List(ctx, list); err != nil {
				return false, err.Error(), nil
			}
			done := 0
			for i := range list.Items {
				if ok, _ := readiness.Memcached(&list.Items[i], readiness.AllFields); ok {
					done++
				}
			}
			return len(list.Items) == n && done == n, fmt.Sprintf("%d of %d converged", done, n), nil
		})
}

// deleteAll deletes every Memcached and waits until they and their
// Deployments are gone.
func (r *opRun) deleteAll() error {
	for i := 0; i < fleet.Namespaces; i++ {
		if err := r.k8s.DeleteAllOf(r.ctx, &cachev1.Memcached{}, client.InNamespace(fleet.Namespace(i))); err != nil {
			return err
		}
	}
	return wait.For(r.ctx, wait.Options{What: "every Memcached and its Deployment gone", Timeout: churnDeletionTimeout, Interval: time.Second},
		func(ctx context.Context) (bool, string, error) {
			mcs := &cachev1.MemcachedList{}
			deps := &appsv1.DeploymentList{}
			if err := r.k8s.List(ctx, mcs); err != nil {
				return false, err.Error(), nil
			}
			if err := r.k8s.List(ctx, deps); err != nil {
				return false, err.Error(), nil
			}
			return len(mcs.Items)+len(deps.Items) == 0, fmt.Sprintf("%d Memcacheds, %d Deployments left", len(mcs.Items), len(deps.Items)), nil
		})
}
