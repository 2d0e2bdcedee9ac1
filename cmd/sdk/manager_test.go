package main

import (
	"bytes"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// run manager starts the manager as localmanager.Start does (saying how its flags
// depart from the shipped ones) and fails, naming its log, when it exits
// before sdk is stopped.
func TestRunManagerExited(t *testing.T) {
	dir := t.TempDir()
	bin := filepath.Join(dir, "manager")
	if err := os.WriteFile(bin, []byte("#!/bin/sh\necho \"flags: $*\"\nexit 3\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	log := filepath.Join(dir, "manager.log")
	var out bytes.Buffer
	err := run([]string{"run", "manager", "--manager", bin, "--log", log}, nil, &out, io.Discard)
	if err == nil || !strings.Contains(err.Error(), log) {
		t.Errorf("error %v, want one naming %s", err, log)
	}
	if !strings.HasPrefix(out.String(), "operator: not the shipped flags: ") {
		t.Errorf("output %q does not say how the flags depart from the shipped ones", out.String())
	}
	if b, _ := os.ReadFile(log); !strings.Contains(string(b), "--metrics-bind-address=0 --health-probe-bind-address=0") {
		t.Errorf("manager log %q: not the stand-in's flags", b)
	}
}
