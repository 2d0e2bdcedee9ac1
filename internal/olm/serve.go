package olm

import (
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	registryclient "github.com/operator-framework/operator-registry/pkg/client"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/freeport"
	"github.com/example-inc/memcached-operator/internal/logtail"
	"github.com/example-inc/memcached-operator/internal/wait"
)

const (
	// healthTimeout bounds how long a new opm serve may take to answer.
	healthTimeout  = 60 * time.Second
	healthInterval = 100 * time.Millisecond
	// stopTimeout bounds how long StopServer waits for opm to exit.
	stopTimeout = 5 * time.Second
)

// Server is an `opm serve` process that outlives the command that started
// it (OLM keeps querying the catalog), tracked by a pid file.
type Server struct {
	Dir     string // the FBC directory served
	Addr    string // 127.0.0.1:port
	PIDFile string
}

// ServerOptions say what StartServer serves and where it keeps its files.
type ServerOptions struct {
	// OPM is the opm binary.
	OPM string
	// Dir is the FBC directory to serve.
	Dir string
	// StateDir keeps the server's log, termination log and pid file, all
	// named after Name (StopServer finds it there by Name).
	StateDir, Name string
	// Addr is host:port to serve on; empty or ":0" picks a free port on 127.0.0.1.
	Addr string
}

// StartServer serves o.Dir with opm in its own session, and waits until it
// answers health checks.
func StartServer(ctx context.Context, o ServerOptions) (*Server, error) {
	addr, err := serverAddr(o.Addr)
	if err != nil {
		return nil, err
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("catalog address %q: %w", addr, err)
	}
	if err := os.MkdirAll(o.StateDir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(o.StateDir, o.Name+".opm.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(o.OPM, "serve", o.Dir, "-p", port, "--pprof-addr=", "-t", filepath.Join(o.StateDir, o.Name+".termination.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	// Its own session: the server outlives the command that started it.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start opm serve: %w", err)
	}
	s := &Server{Dir: o.Dir, Addr: addr, PIDFile: filepath.Join(o.StateDir, o.Name+".pid")}
	if err := os.WriteFile(s.PIDFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitHealthy(ctx, addr, exited, logPath); err != nil {
		_ = cmd.Process.Kill()
		return nil, fmt.Errorf("opm serve %s: %w", o.Dir, err)
	}
	return s, nil
}

// serverAddr picks a free port on 127.0.0.1 unless addr names one.
func serverAddr(addr string) (string, error) {
	if addr != "" && !strings.HasSuffix(addr, ":0") {
		return addr, nil
	}
	return freeport.Local()
}

// StopServer ends the server whose pid file is in stateDir.
func StopServer(stateDir, name string) error {
	pidFile := filepath.Join(stateDir, name+".pid")
	b, err := os.ReadFile(pidFile)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err == nil {
		if p, err := os.FindProcess(pid); err == nil {
			_ = p.Signal(syscall.SIGTERM)
			// A server that does not exit in time is left to its pid file's removal.
			_ = wait.For(context.Background(), wait.Options{What: "opm to exit", Interval: 100 * time.Millisecond, Timeout: stopTimeout},
				func(context.Context) (bool, string, error) { return p.Signal(syscall.Signal(0)) != nil, "", nil })
		}
	}
	return os.Remove(pidFile)
}

// waitHealthy waits for opm to answer health checks on addr; opm exiting
// ends the wait at once. The end of its log explains a failure.
func waitHealthy(ctx context.Context, addr string, exited <-chan error, logPath string) error {
	c, err := registryclient.NewClient(addr)
	if err != nil {
		return fmt.Errorf("catalog client for %s: %w", addr, err)
	}
	defer c.Close()
	o := wait.Options{
		What:     fmt.Sprintf("opm serve on %s to answer health checks", addr),
		Interval: healthInterval,
		Timeout:  healthTimeout,
		Diagnose: func(context.Context) string {
			b, _ := os.ReadFile(logPath)
			return logtail.Lines(string(b), 10)
		},
	}
	return wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
		select {
		case err := <-exited:
			return false, "", wait.Failed("opm exited: %v", err)
		default:
		}
		ok, err := c.HealthCheck(ctx, time.Second)
		if err != nil {
			return false, err.Error(), nil
		}
		return ok, "not serving yet", nil
	})
}

// serveCatalog writes the catalog, checks it as opm would, and starts opm on
// a free port. A server already running for the package keeps serving until
// the new one is healthy, then stops: OLM moves to the new address without
// a gap and without waiting out a reconnect backoff.
func serveCatalog(ctx context.Context, o RunOptions, pkg string, fbc *declcfg.DeclarativeConfig) (*Server, error) {
	if err := catalog.Validate(ctx, fbc); err != nil {
		return nil, err
	}
	dir := filepath.Join(o.StateDir, pkg, "catalog")
	files, err := catalog.Files(fbc, nil)
	if err != nil {
		return nil, err
	}
	// opm reads the directory once at start-up, so a running server is
	// unaffected by the rewrite.
	if err := atomicdir.Replace(dir, files, nil); err != nil {
		return nil, err
	}
	next, err := StartServer(ctx, ServerOptions{OPM: o.OPM, Dir: dir, StateDir: o.StateDir, Name: pkg + ".next"})
	if err != nil {
		return nil, err
	}
	if err := StopServer(o.StateDir, pkg); err != nil {
		return nil, err
	}
	current := filepath.Join(o.StateDir, pkg+".pid")
	if err := os.Rename(next.PIDFile, current); err != nil {
		return nil, err
	}
	next.PIDFile = current
	return next, nil
}
