package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// component is a control-plane process kwokctl runs on this host (binary
// runtime), restartable as kwokctl started it.
type component struct {
	name, pidFile, log, dir string
	args, env               []string
}

// component reads how kwokctl started the named component of c.
func (c *cluster) component(name string) (*component, error) {
	base := filepath.Join(c.workdir, "kwok", "clusters", c.name)
	comp := &component{name: name, pidFile: filepath.Join(base, "pids", name+".pid"), log: filepath.Join(base, "logs", name+".log")}
	pid, err := comp.pid()
	if err != nil {
		return nil, err
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil {
		return nil, fmt.Errorf("%s (pid %d): %w", name, pid, err)
	}
	environ, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
	if err != nil {
		return nil, err
	}
	if comp.dir, err = os.Readlink(fmt.Sprintf("/proc/%d/cwd", pid)); err != nil {
		return nil, err
	}
	comp.args = strings.Split(strings.TrimRight(string(cmdline), "\x00"), "\x00")
	comp.env = strings.Split(strings.TrimRight(string(environ), "\x00"), "\x00")
	return comp, nil
}

func (comp *component) pid() (int, error) {
	b, err := os.ReadFile(comp.pidFile)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", comp.name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// controlPlane are the components kwokctl runs.
var controlPlane = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"}

// alive says whether the component's recorded process runs.
func (comp *component) alive() bool {
	pid, err := comp.pid()
	if err != nil {
		return false
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	return err == nil && !strings.Contains(string(b), ") Z ")
}

// kill SIGKILLs the component and waits until it is gone.
func (comp *component) kill() error {
	pid, err := comp.pid()
	if err != nil {
		return err
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		return fmt.Errorf("kill %s: %w", comp.name, err)
	}
	for range 100 {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); os.IsNotExist(err) {
			return nil
		}
		// A zombie of kwokctl's: gone for the cluster once it stopped.
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); strings.Contains(string(b), ") Z ") {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("%s (pid %d) did not die", comp.name, pid)
}

// start runs the component again, detached, logging where it did, and
// records its pid where kwokctl (cluster-down) looks.
func (comp *component) start() error {
	logf, err := os.OpenFile(comp.log, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(comp.args[0], comp.args[1:]...)
	cmd.Env, cmd.Dir, cmd.Stdout, cmd.Stderr = comp.env, comp.dir, logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("restart %s: %w", comp.name, err)
	}
	if err := os.WriteFile(comp.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return err
	}
	return cmd.Process.Release()
}

// componentKeeper restarts control-plane components that exit.
type componentKeeper struct {
	mu        sync.Mutex
	restarted []string
	stop      chan struct{}
	done      chan struct{}
	once      sync.Once
}

// restartExited checks every second that each component but those the
// scenario stops itself runs, and starts it again if not.
func restartExited(comps map[string]*component, except ...*component) *componentKeeper {
	k := &componentKeeper{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(k.done)
		for {
			select {
			case <-k.stop:
				return
			case <-time.After(time.Second):
			}
			for _, name := range controlPlane {
				comp := comps[name]
				if slices.Contains(except, comp) || comp.alive() {
					continue
				}
				if err := comp.start(); err == nil {
					k.mu.Lock()
					k.restarted = append(k.restarted, name)
					k.mu.Unlock()
				}
			}
		}
	}()
	return k
}

// end stops the loop and returns what it restarted.
func (k *componentKeeper) end() []string {
	k.once.Do(func() { close(k.stop) })
	<-k.done
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.restarted)
}

// supervisor restarts the operator when it exits, as the kubelet restarts
// a container, and counts the exits.
type supervisor struct {
	mu    sync.Mutex
	exits int
	stop  chan struct{}
	done  chan struct{}
}

func supervise(r *opRun) *supervisor {
	s := &supervisor{stop: make(chan struct{}), done: make(chan struct{})}
	go func() {
		defer close(s.done)
		for {
			select {
			case <-s.stop:
				return
			case <-r.op.Exited():
			}
			s.mu.Lock()
			s.exits++
			s.mu.Unlock()
			_ = r.op.log.Close()
			for {
				select {
				case <-s.stop:
					return
				case <-time.After(time.Second):
				}
				if err := r.startOperator(); err == nil {
					break
				}
			}
		}
	}()
	return s
}

func (s *supervisor) end() int {
	close(s.stop)
	<-s.done
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.exits
}

// apiServerOutage: the operator runs as OLM deploys it (leader election
// on); mid-convergence kube-apiserver is stopped for 30 s, then etcd is
// restarted. The operator reconnects and every Memcached converges.
func apiServerOutage(o reliabilityOptions) (scenario, error) {
	outage := 30 * time.Second
	if o.Fast {
		outage = 10 * time.Second
	}
	s := scenario{Group: "operator", Name: fmt.Sprintf("kube-apiserver stopped for %s mid-convergence, then etcd restarted (operator with leader election, as deployed)", outage), Runs: 1}
	r, err := startOpRun(o, opRunOptions{Name: "rel-apiserver", N: faultN(o), Args: []string{"--leader-elect", "--leader-election-namespace=default"}})
	if err != nil {
		return s, err
	}
	defer r.stop()
	sup := supervise(r)
	// How kwokctl started each component, read while they all run.
	comps := map[string]*component{}
	for _, name := range controlPlane {
		if comps[name], err = r.c.component(name); err != nil {
			return s, err
		}
	}
	apiserver, etcd := comps["kube-apiserver"], comps["etcd"]
	// The controller manager and the scheduler exit when they lose their
	// leases (during the outage or after it); a kubelet restarts such
	// static pods, so a loop here does too, from now to the end.
	kubelet := restartExited(comps, apiserver, etcd)
	defer kubelet.end()
	time.Sleep(3 * time.Second)
	if err := apiserver.kill(); err != nil {
		return s, err
	}
	time.Sleep(outage)
	before, _ := successfulRequests(r.op.metrics)
	if err := apiserver.start(); err != nil {
		return s, err
	}
	up := time.Now()
	var reconnect time.Duration
	err = wait.For(r.ctx, wait.Options{What: "the operator's first successful request after the outage", Timeout: 3 * time.Minute, Interval: 100 * time.Millisecond},
		func(context.Context) (bool, string, error) {
			n, err := successfulRequests(r.op.metrics)
			return err == nil && n > before, "no request answered yet", nil
		})
	reconnect = time.Since(up)
	if err != nil {
		s.Fail("no reconnect: %v", err)
	}
	if err := etcd.kill(); err != nil {
		return s, err
	}
	if err := etcd.start(); err != nil {
		return s, err
	}

	if err := r.waitConverged(5 * time.Minute); err != nil {
		s.Fail("%v", err)
	}
	converged := time.Since(up)
	exits := sup.end()
	restarted := kubelet.end()
	if exits > 1 {
		s.Fail("the operator exited %d times (a crash loop)", exits)
	}
	if dup, missing, err := r.deploymentsPerCR(); err != nil || dup+missing > 0 {
		s.Fail("%d Memcacheds with two Deployments, %d with none (%v)", dup, missing, err)
	}
	if len(s.Failures) == 0 {
		s.Passed = 1
	}
	s.Figure = fmt.Sprintf("first answered request %.1f s after kube-apiserver was back; all converged %.1f s after; operator exits: %d", reconnect.Seconds(), converged.Seconds(), exits)
	if exits == 1 {
		s.Figure += " (it lost its leader lease during the outage and exits by design, so that two replicas never reconcile at once; restarted, it waited for the lease)"
	}
	if len(restarted) > 0 {
		s.Figure += fmt.Sprintf("; control plane components restarted as a kubelet would (they exit on a lost lease too): %s", strings.Join(restarted, ", "))
	}
	return s, nil
}

// successfulRequests is how many of the operator's API requests were
// answered 2xx.
func successfulRequests(m metricsEndpoint) (int, error) {
	counts, err := scrape(m)
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
