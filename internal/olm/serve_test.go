package olm

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// A server that exits at once fails StartServer without waiting out the
// health timeout, quoting the end of its log.
func TestStartServerReportsAnExitWithItsLog(t *testing.T) {
	dir := t.TempDir()
	opm := filepath.Join(dir, "opm")
	if err := os.WriteFile(opm, []byte("#!/bin/sh\necho first line\necho 'serve: no such directory' >&2\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	state := filepath.Join(dir, "state")
	_, err := StartServer(context.Background(), ServerOptions{OPM: opm, Dir: "catalog", StateDir: state, Name: "pkg"})
	var we *wait.Error
	if !errors.As(err, &we) {
		t.Fatalf("err = %v, want a *wait.Error", err)
	}
	if we.What != "opm exited: exit status 3" {
		t.Errorf("What = %q", we.What)
	}
	if !strings.Contains(we.Diagnosis, "first line\nserve: no such directory") {
		t.Errorf("Diagnosis %q does not quote the log", we.Diagnosis)
	}
	if !strings.HasPrefix(err.Error(), "opm serve catalog: opm exited") {
		t.Errorf("err = %q, want it to name what was served", err)
	}
}

func TestStopServerWithoutPIDFile(t *testing.T) {
	if err := StopServer(t.TempDir(), "nothing"); err != nil {
		t.Errorf("StopServer = %v, want nil when nothing runs", err)
	}
}

func TestServerAddr(t *testing.T) {
	if got, err := serverAddr("127.0.0.1:50051"); err != nil || got != "127.0.0.1:50051" {
		t.Errorf("serverAddr(127.0.0.1:50051) = %q, %v", got, err)
	}
	for _, in := range []string{"", "127.0.0.1:0"} {
		got, err := serverAddr(in)
		if err != nil || !strings.HasPrefix(got, "127.0.0.1:") || strings.HasSuffix(got, ":0") {
			t.Errorf("serverAddr(%q) = %q, %v, want a free port on 127.0.0.1", in, got, err)
		}
	}
}
