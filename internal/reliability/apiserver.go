package reliability

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/example-inc/memcached-operator/internal/scrape"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// supervisor restarts the operator when it exits, as the kubelet restarts
// a container, and counts the exits.
type supervisor struct {
	mu     sync.Mutex
	exits  int
	cancel context.CancelFunc
	done   chan struct{}
}

func supervise(r *opRun) *supervisor {
	ctx, cancel := context.WithCancel(r.ctx)
	s := &supervisor{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-ctx.Done():
				return
			case <-r.op.Exited():
			}
			s.mu.Lock()
			s.exits++
			s.mu.Unlock()
			_ = r.op.log.Close()
			if s.restart(ctx, r) != nil {
				return // ended meanwhile
			}
		}
	}()
	return s
}

// restart starts the operator again, a second after it exited and every
// second until it runs.
func (s *supervisor) restart(ctx context.Context, r *opRun) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(time.Second):
	}
	return wait.For(ctx, wait.Options{What: "the operator to run again", Interval: time.Second}, func(context.Context) (bool, string, error) {
		if err := r.startOperator(); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
}

func (s *supervisor) end() int {
	s.cancel()
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exits
}

// outage is what apiServerOutage measured.
type outage struct {
	reconnect, converged time.Duration
	exits                int
	restarted            []string
}

// apiServerOutage: the operator runs as OLM deploys it (leader election
// on); mid-convergence kube-apiserver is stopped for 30 s, then etcd is
// restarted. The operator reconnects and every Memcached converges.
func apiServerOutage(o Options) (Row, error) {
	down := 30 * time.Second
	if o.Fast {
		down = 10 * time.Second
	}
	s := Row{Group: "operator", Name: fmt.Sprintf("kube-apiserver stopped for %s mid-convergence, then etcd restarted (operator with leader election, as deployed)", down), Runs: 1}
	r, err := startOpRun(o, opRunOptions{Name: "rel-apiserver", N: faultN(o), Args: []string{"--leader-elect", "--leader-election-namespace=default"}})
	if err != nil {
		return s, err
	}
	defer r.stop()
	out, err := injectOutage(r, &s, down)
	if err != nil {
		return s, err
	}
	if out.exits > 1 {
		s.Fail("the operator exited %d times (a crash loop)", out.exits)
	}
	if dup, missing, err := r.deploymentsPerCR(); err != nil || dup+missing > 0 {
		s.Fail("%d Memcacheds with two Deployments, %d with none (%v)", dup, missing, err)
	}
	if len(s.Failures) == 0 {
		s.Passed = 1
	}
	s.Figure = out.figure()
	return s, nil
}

// injectOutage stops kube-apiserver for down, then restarts etcd, with the
// operator supervised and the other components kept up as a kubelet would;
// it records what did not hold in s.
func injectOutage(r *opRun, s *Row, down time.Duration) (outage, error) {
	var out outage
	sup := supervise(r)
	comps, err := controlPlaneOf(r.c)
	if err != nil {
		sup.end()
		return out, err
	}
	apiserver, etcd := comps["kube-apiserver"], comps["etcd"]
	// The controller manager and the scheduler exit when they lose their
	// leases (during the outage or after it); a kubelet restarts such
	// static pods, so a loop here does too, from now to the end.
	kubelet := restartExited(comps, apiserver, etcd)
	defer kubelet.end()
	defer sup.end()
	time.Sleep(3 * time.Second)
	if err := apiserver.kill(); err != nil {
		return out, err
	}
	time.Sleep(down)
	before, _ := successfulRequests(r.op.metrics)
	if err := apiserver.start(); err != nil {
		return out, err
	}
	up := time.Now()
	if err := waitReconnect(r, before); err != nil {
		s.Fail("no reconnect: %v", err)
	}
	out.reconnect = time.Since(up)
	if err := restart(etcd); err != nil {
		return out, err
	}
	if err := r.waitConverged(5 * time.Minute); err != nil {
		s.Fail("%v", err)
	}
	out.converged = time.Since(up)
	out.exits, out.restarted = sup.end(), kubelet.end()
	return out, nil
}

// waitReconnect waits for the operator's first request answered after
// before were.
func waitReconnect(r *opRun, before int) error {
	return wait.For(r.ctx, wait.Options{What: "the operator's first successful request after the outage", Timeout: 3 * time.Minute, Interval: 100 * time.Millisecond},
		func(context.Context) (bool, string, error) {
			n, err := successfulRequests(r.op.metrics)
			return err == nil && n > before, "no request answered yet", nil
		})
}

// restart kills a component and starts it again.
func restart(comp *component) error {
	if err := comp.kill(); err != nil {
		return err
	}
	return comp.start()
}

func (out outage) figure() string {
	f := fmt.Sprintf("first answered request %.1f s after kube-apiserver was back; all converged %.1f s after; operator exits: %d", out.reconnect.Seconds(), out.converged.Seconds(), out.exits)
	if out.exits == 1 {
		f += " (it lost its leader lease during the outage and exits by design, so that two replicas never reconcile at once; restarted, it waited for the lease)"
	}
	if len(out.restarted) > 0 {
		f += fmt.Sprintf("; control plane components restarted as a kubelet would (they exit on a lost lease too): %s", strings.Join(out.restarted, ", "))
	}
	return f
}

// successfulRequests is how many of the operator's API requests were
// answered 2xx.
func successfulRequests(m scrape.Endpoint) (int, error) {
	counts, err := m.Requests()
	if err != nil {
		return 0, err
	}
	n := 0
	for k, v := range counts {
		if strings.HasSuffix(k, " 200") || strings.HasSuffix(k, " 201") {
			n += v
		}
	}
	return n, nil
}
