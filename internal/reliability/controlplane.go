package reliability

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// component is a control-plane process kwokctl runs on this host (binary
// runtime), restartable as kwokctl started it.
type component struct {
	name, pidFile, log, dir string
	args, env               []string
}

// controlPlane are the components kwokctl runs.
var controlPlane = []string{"etcd", "kube-apiserver", "kube-controller-manager", "kube-scheduler", "kwok-controller"}

// componentOf reads how kwokctl started the named component of c.
func componentOf(c *localcluster.Cluster, name string) (*component, error) {
	comp := &component{name: name, pidFile: c.PIDFile(name), log: c.LogFile(name)}
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

// controlPlaneOf reads how kwokctl started each component, while they all run.
func controlPlaneOf(c *localcluster.Cluster) (map[string]*component, error) {
	comps := map[string]*component{}
	for _, name := range controlPlane {
		comp, err := componentOf(c, name)
		if err != nil {
			return nil, err
		}
		comps[name] = comp
	}
	return comps, nil
}

func (comp *component) pid() (int, error) {
	b, err := os.ReadFile(comp.pidFile)
	if err != nil {
		return 0, fmt.Errorf("%s: %w", comp.name, err)
	}
	return strconv.Atoi(strings.TrimSpace(string(b)))
}

// alive says whether the component's recorded process runs.
func (comp *component) alive() bool {
	pid, err := comp.pid()
	if err != nil {
		return false
	}
	return processRuns(pid)
}

// processRuns says whether pid runs: it exists and is no zombie (a zombie
// of kwokctl's is gone for the cluster once it stopped).
func processRuns(pid int) bool {
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
	return wait.For(context.Background(), wait.Options{What: fmt.Sprintf("%s (pid %d) to die", comp.name, pid), Timeout: 5 * time.Second, Interval: 50 * time.Millisecond},
		func(context.Context) (bool, string, error) {
			return !processRuns(pid), "still running", nil
		})
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

// componentKeeper restarts control-plane components that exit, as a
// kubelet restarts static pods.
type componentKeeper struct {
	mu        sync.Mutex
	restarted []string
	cancel    context.CancelFunc
	done      chan struct{}
}

// restartExited checks every second, until end, that each component but
// those the scenario stops itself runs, and starts it again if not.
func restartExited(comps map[string]*component, except ...*component) *componentKeeper {
	ctx, cancel := context.WithCancel(context.Background())
	k := &componentKeeper{cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(k.done)
		// Never done: it keeps the components up until end cancels it.
		_ = wait.For(ctx, wait.Options{What: "the scenario to end", Interval: time.Second}, func(context.Context) (bool, string, error) {
			k.restartDead(comps, except)
			return false, "", nil
		})
	}()
	return k
}

func (k *componentKeeper) restartDead(comps map[string]*component, except []*component) {
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

// end stops the loop and returns what it restarted; calling it again
// returns the same.
func (k *componentKeeper) end() []string {
	k.cancel()
	<-k.done
	k.mu.Lock()
	defer k.mu.Unlock()
	return slices.Clone(k.restarted)
}
