package reliability

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"syscall"
	"time"
)

// clone is a scratch clone of the checkout's HEAD, using the checkout's
// built tools.
type clone struct {
	o   Options
	dir string
}

func newClone(o Options, name string) (*clone, error) {
	dir := filepath.Join(o.Work, name)
	if out, err := exec.Command("git", "clone", "-q", "--shared", o.Repo, dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("git clone: %v: %s", err, out)
	}
	c := &clone{o: o, dir: dir}
	// The tools' sources are as old as the checkout's built tools, so make
	// uses those instead of rebuilding them into the checkout.
	err := filepath.WalkDir(filepath.Join(dir, "hack", "tools"), func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		return os.Chtimes(p, time.Unix(0, 0), time.Unix(0, 0))
	})
	if err != nil {
		return nil, err
	}
	for _, args := range [][]string{{"config", "user.email", "reliability@example.com"}, {"config", "user.name", "reliability"}} {
		if err := c.git(args...); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *clone) git(args ...string) error {
	cmd := exec.Command("git", args...)
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("git %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

// makeCmd runs make in the clone with the checkout's tools, in a process
// group of its own.
func (c *clone) makeCmd(args ...string) *exec.Cmd {
	tools := []string{"SDK=" + filepath.Join(c.dir, "bin", "sdk")}
	for _, t := range []string{"CONTROLLER_GEN=controller-gen", "KUSTOMIZE=kustomize"} {
		v, bin, _ := strings.Cut(t, "=")
		tools = append(tools, v+"="+filepath.Join(c.o.Bin, bin))
	}
	cmd := exec.Command("make", append(append([]string{"-s"}, tools...), args...)...)
	cmd.Dir = c.dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	return cmd
}

func (c *clone) make(args ...string) error {
	if out, err := c.makeCmd(args...).CombinedOutput(); err != nil {
		return fmt.Errorf("make %s: %v: %s", strings.Join(args, " "), err, tail(string(out), 2000))
	}
	return nil
}

func (c *clone) sdk(args ...string) error {
	cmd := exec.Command(filepath.Join(c.dir, "bin", "sdk"), args...)
	cmd.Dir = c.dir
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("%v: %s", err, out)
	}
	return nil
}

// killed is what a kill found: make still running (interrupted), and
// writing under way (midWrite: a staging directory or journal at any
// depth, or a generated path written since the run began).
type killed struct {
	interrupted, midWrite bool
}

func (p killPlan) String() string {
	if p.staged {
		return fmt.Sprintf("%.0f ms after staging began", float64(p.at)/float64(time.Millisecond))
	}
	return fmt.Sprintf("at %.2fs", p.at.Seconds())
}

// killAt runs make and SIGKILLs its process group as p says, unless it
// ends first.
func (c *clone) killAt(p killPlan, args ...string) (killed, error) {
	var k killed
	cmd := c.makeCmd(args...)
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return k, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	trigger := time.After(p.at)
	stop := make(chan struct{})
	defer close(stop)
	if p.staged {
		trigger = c.afterStaging(stop, p.at)
	}
	select {
	case <-done:
	case <-trigger:
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-done
		k.interrupted = true
	}
	// Children that left the group (none should) would still write.
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	if k.interrupted {
		_, wrote := c.firstWrite(start)
		k.midWrite = wrote || c.staging()
	}
	return k, nil
}

// stagingPoll is how often the harness looks for a staging directory.
const stagingPoll = 500 * time.Microsecond

// stagingDirs are where the generating targets stage their changes
// (atomicdir: ".<anchor>.txn" beside the anchor: bundle, catalog, the
// catalog template).
var stagingDirs = []string{".", "config/catalog"}

// stagedNow says whether a staging directory exists where they are made.
func (c *clone) stagedNow() bool {
	for _, d := range stagingDirs {
		entries, _ := os.ReadDir(filepath.Join(c.dir, d))
		for _, e := range entries {
			if n := e.Name(); e.IsDir() && strings.HasPrefix(n, ".") && strings.HasSuffix(n, ".txn") {
				return true
			}
		}
	}
	return false
}

// watchStaging polls until the run ends (done): when a staging directory
// was first and last seen.
func (c *clone) watchStaging(done <-chan error) (first, last time.Time, err error) {
	for {
		select {
		case err := <-done:
			return first, last, err
		default:
		}
		if c.stagedNow() {
			if first.IsZero() {
				first = time.Now()
			}
			last = time.Now()
		}
		time.Sleep(stagingPoll)
	}
}

// afterStaging fires d after a staging directory appears, unless stop
// closes first.
func (c *clone) afterStaging(stop <-chan struct{}, d time.Duration) <-chan time.Time {
	fire := make(chan time.Time, 1)
	go func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			if c.stagedNow() {
				time.Sleep(d)
				fire <- time.Now()
				return
			}
			time.Sleep(stagingPoll)
		}
	}()
	return fire
}

// staging says whether a transaction's staging directory (.NAME.txn, its
// journal inside) is left anywhere in the clone outside bin and .work.
func (c *clone) staging() bool {
	found := false
	_ = filepath.WalkDir(c.dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		switch name := d.Name(); {
		case path != c.dir && (name == ".git" || name == "bin" || name == ".work"):
			return filepath.SkipDir
		case strings.HasPrefix(name, ".") && strings.HasSuffix(name, ".txn"):
			found = true
			return filepath.SkipAll
		}
		return nil
	})
	return found
}

// firstWrite is the earliest modification at or after since of a file
// under the generated paths.
func (c *clone) firstWrite(since time.Time) (time.Time, bool) {
	var first time.Time
	for _, p := range generatedPaths {
		_ = filepath.WalkDir(filepath.Join(c.dir, p), func(_ string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			info, err := d.Info()
			if err == nil && !info.ModTime().Before(since) && (first.IsZero() || info.ModTime().Before(first)) {
				first = info.ModTime()
			}
			return nil
		})
	}
	return first, !first.IsZero()
}

// reset returns the clone to its last commit, generated paths included.
func (c *clone) reset() error {
	if err := c.git("checkout", "-q", "--", "."); err != nil {
		return err
	}
	return c.git("clean", "-q", "-fdx", "-e", "bin", "-e", ".work")
}

func (c *clone) commit(msg string) error {
	if err := c.git("add", "-A"); err != nil {
		return err
	}
	return c.git("commit", "-q", "--allow-empty", "-m", msg)
}

func (c *clone) edit(path, old, new string) error {
	p := filepath.Join(c.dir, path)
	b, err := os.ReadFile(p)
	if err != nil {
		return err
	}
	if !strings.Contains(string(b), old) {
		return fmt.Errorf("%s no longer contains %q: update the scenario", path, old)
	}
	return os.WriteFile(p, []byte(strings.Replace(string(b), old, new, 1)), 0o644)
}

// snapshot is the content of the generated paths, and anything hidden
// beside them (staging debris).
type snapshot struct {
	files map[string]string // path -> content (hashed when large)
}

func (c *clone) snapshot() (*snapshot, error) {
	s := &snapshot{files: map[string]string{}}
	for _, p := range generatedPaths {
		root := filepath.Join(c.dir, p)
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if os.IsNotExist(err) && path == root {
				s.files[p] = "(missing)"
				return nil
			}
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(c.dir, path)
			if strings.HasSuffix(path, ".clusterserviceversion.yaml") {
				// A new version's createdAt is the moment it was generated.
				b = createdAt.ReplaceAll(b, []byte("${1}(generation time)"))
			}
			s.files[filepath.ToSlash(rel)] = digest(b)
			return nil
		})
		if err != nil {
			return nil, err
		}
	}
	debris, _ := filepath.Glob(filepath.Join(c.dir, ".*.txn"))
	for _, d := range debris {
		s.files[filepath.Base(d)] = "(staging left behind)"
	}
	return s, nil
}

var createdAt = regexp.MustCompile(`(createdAt: )"?[0-9TZ:.-]+"?`)

// digest keeps small files readable (the template) and hashes the rest.
func digest(b []byte) string {
	if len(b) < 4096 {
		return string(b)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func (s *snapshot) equal(o *snapshot) bool {
	if len(s.files) != len(o.files) {
		return false
	}
	for k, v := range s.files {
		if o.files[k] != v {
			return false
		}
	}
	return true
}

// mixDetail names which paths are old, which new, which neither.
func (s *snapshot) mixDetail(before, after *snapshot) string {
	var old, new, neither []string
	seen := map[string]bool{}
	for _, m := range []map[string]string{s.files, before.files, after.files} {
		for k := range m {
			if seen[k] {
				continue
			}
			seen[k] = true
			switch v := s.files[k]; {
			case v == before.files[k] && v == after.files[k]:
			case v == before.files[k]:
				old = append(old, k)
			case v == after.files[k]:
				new = append(new, k)
			default:
				neither = append(neither, k)
			}
		}
	}
	sort.Strings(old)
	sort.Strings(new)
	sort.Strings(neither)
	return fmt.Sprintf("old: %s; new: %s; neither: %s", short(old), short(new), short(neither))
}

func short(l []string) string {
	if len(l) > 5 {
		return strings.Join(l[:5], ", ") + fmt.Sprintf(" and %d more", len(l)-5)
	}
	if len(l) == 0 {
		return "-"
	}
	return strings.Join(l, ", ")
}

func tail(s string, n int) string {
	if len(s) > n {
		return "..." + s[len(s)-n:]
	}
	return s
}
