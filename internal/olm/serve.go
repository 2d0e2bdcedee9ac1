// Package olm drives the Operator Lifecycle Manager the way operator-sdk's
// `run bundle`, `run bundle-upgrade` and `cleanup` do, and explains what
// OLM is doing when an install stalls.
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

	"github.com/operator-framework/operator-registry/pkg/client"
)

// Server is an `opm serve` process that outlives the command that started
// it (OLM keeps querying the catalog), tracked by a pid file.
type Server struct {
	Dir     string // the FBC directory served
	Addr    string // 127.0.0.1:port
	PIDFile string
}

// StartServer serves dir with opm on addr (127.0.0.1:0 picks a free port)
// in its own session, and waits until it answers health checks.
func StartServer(ctx context.Context, opm, dir, stateDir, name, addr string) (*Server, error) {
	if addr == "" || strings.HasSuffix(addr, ":0") {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		addr = l.Addr().String()
		l.Close()
	}
	_, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("catalog address %q: %w", addr, err)
	}
	if err := os.MkdirAll(stateDir, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(stateDir, name+".opm.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logf.Close()
	cmd := exec.Command(opm, "serve", dir, "-p", port, "--pprof-addr=", "-t", filepath.Join(stateDir, name+".termination.log"))
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start opm serve: %w", err)
	}
	s := &Server{Dir: dir, Addr: addr, PIDFile: filepath.Join(stateDir, name+".pid")}
	if err := os.WriteFile(s.PIDFile, []byte(strconv.Itoa(cmd.Process.Pid)), 0o644); err != nil {
		return nil, err
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	if err := waitHealthy(ctx, addr, exited); err != nil {
		_ = cmd.Process.Kill()
		b, _ := os.ReadFile(logPath)
		return nil, fmt.Errorf("opm serve %s: %w\n%s", dir, err, tail(string(b), 10))
	}
	return s, nil
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
			for i := 0; i < 50 && p.Signal(syscall.Signal(0)) == nil; i++ {
				time.Sleep(100 * time.Millisecond)
			}
		}
	}
	return os.Remove(pidFile)
}

func waitHealthy(ctx context.Context, addr string, exited <-chan error) error {
	c, err := client.NewClient(addr)
	if err != nil {
		return err
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	for {
		if ok, _ := c.HealthCheck(ctx, time.Second); ok {
			return nil
		}
		select {
		case err := <-exited:
			return fmt.Errorf("exited: %v", err)
		case <-ctx.Done():
			return fmt.Errorf("not healthy after 60s")
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
