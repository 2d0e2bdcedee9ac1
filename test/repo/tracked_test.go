// Package repo checks the repository itself: what git may track.
package repo

import (
	"bytes"
	"encoding/binary"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// script is hack/tracked-files.sh, which make verify runs.
var script, _ = filepath.Abs("../../hack/tracked-files.sh")

// check runs the script on repo and returns its exit code and stderr.
func check(t *testing.T, repo string) (int, string) {
	t.Helper()
	var stderr bytes.Buffer
	cmd := exec.Command("bash", script, repo)
	cmd.Stderr = &stderr
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode(), stderr.String()
	} else if err != nil {
		t.Fatal(err)
	}
	return 0, stderr.String()
}

// gitRepo makes a repository tracking files (path -> content).
func gitRepo(t *testing.T, files map[string][]byte) string {
	t.Helper()
	dir := t.TempDir()
	run := func(args ...string) {
		if out, err := exec.Command("git", append([]string{"-C", dir}, args...)...).CombinedOutput(); err != nil {
			t.Fatalf("git %v: %v\n%s", args, err, out)
		}
	}
	run("init", "-q")
	for p, b := range files {
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, p), b, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	run("add", "-A")
	return dir
}

func peFile() []byte {
	b := make([]byte, 256)
	copy(b, "MZ")
	binary.LittleEndian.PutUint32(b[0x3c:], 0x80)
	copy(b[0x80:], "PE\x00\x00")
	return b
}

func TestTrackedBuildOutputFails(t *testing.T) {
	big := bytes.Repeat([]byte("x"), 1<<20+1)
	cases := []struct {
		name  string
		files map[string][]byte
		want  string // in stderr; "" means the check passes
	}{
		{"sources only", map[string][]byte{"main.go": []byte("package main\n"), "README.md": []byte("MZ is not a PE header\n")}, ""},
		{"ELF binary", map[string][]byte{"demo": append([]byte("\x7fELF\x02\x01\x01"), make([]byte, 64)...)}, "demo is tracked by git and is an ELF executable"},
		{"Mach-O binary", map[string][]byte{"bin/tool": append([]byte{0xcf, 0xfa, 0xed, 0xfe}, make([]byte, 64)...)}, "bin/tool is tracked by git and is a Mach-O executable"},
		{"PE binary", map[string][]byte{"tool.exe": peFile()}, "tool.exe is tracked by git and is a PE (Windows) executable"},
		{"large file", map[string][]byte{"data/dump.json": big}, "data/dump.json is tracked by git and is larger than 1 MiB (1048577 bytes)"},
		{"large file allowed with a reason", map[string][]byte{
			"data/dump.json":           big,
			"hack/tracked-files.allow": []byte("# comment\ndata/dump.json the fixture of a public catalog\n"),
		}, ""},
		{"allow-list entry without a reason", map[string][]byte{
			"data/dump.json":           big,
			"hack/tracked-files.allow": []byte("data/dump.json\n"),
		}, "data/dump.json is tracked by git"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			code, stderr := check(t, gitRepo(t, c.files))
			if c.want == "" {
				if code != 0 {
					t.Fatalf("exit %d, want 0; stderr:\n%s", code, stderr)
				}
				return
			}
			if code == 0 || !strings.Contains(stderr, c.want) {
				t.Fatalf("exit %d, stderr:\n%s\nwant a failure saying %q", code, stderr, c.want)
			}
			if !strings.Contains(stderr, "git rm --cached") {
				t.Errorf("the error does not say how to fix it:\n%s", stderr)
			}
		})
	}
}

// TestThisRepositoryTracksNoBuildOutput is make verify's check on this checkout.
func TestThisRepositoryTracksNoBuildOutput(t *testing.T) {
	if code, stderr := check(t, "../.."); code != 0 {
		t.Fatalf("exit %d:\n%s", code, stderr)
	}
}
