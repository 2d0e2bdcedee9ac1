package main

import (
	"bytes"
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
	"sync"
	"syscall"
	"time"
)

// The paths `make bundle`, `make catalog` and `make catalog-release` write,
// relative to the checkout, controller-gen's outputs (make manifests, which
// make bundle runs first) included; a killed run must leave them old or new.
var generatedPaths = []string{"bundle", "bundle.Dockerfile", "catalog", "config/catalog", "config/crd/bases", "config/rbac/role.yaml"}

// makeTarget is one generating make invocation killed at random moments.
type makeTarget struct {
	name string
	// prepare turns a fresh clone into the state before the target runs,
	// committed, so that a reset returns to it.
	prepare func(c *clone) error
	args    []string
}

// release040 are the variables of the release the scenarios make.
var release040 = []string{"VERSION=0.4.0", "REPLACES=0.3.2", "CHANNELS=candidate,fast,stable"}

var killedTargets = []makeTarget{
	{name: "make bundle", args: append([]string{"bundle"}, release040...)},
	{name: "make catalog", args: []string{"catalog"}, prepare: func(c *clone) error {
		// A template change catalog/ does not have yet.
		return c.edit("config/catalog/template.yaml", "candidate takes every release one hop at a time", "candidate takes each release one hop at a time")
	}},
	{name: "make catalog-release", args: append([]string{"catalog-release"}, release040...), prepare: func(c *clone) error {
		// As a release is made: make bundle first, then catalog-release.
		return c.make(append([]string{"bundle"}, release040...)...)
	}},
}

// filesGroup kills each generating make target (its whole process group,
// as a closed terminal or an OOM kill would) at random moments, then runs
// `sdk recover` (what the next make does first) and checks that the
// generated paths are byte for byte the state before or the complete state
// after, with nothing left beside them. Then two releases at once.
func filesGroup(o reliabilityOptions) ([]scenario, error) {
	kills := 20
	if o.Fast {
		kills = 3
	}
	var rows []scenario
	for i, t := range killedTargets {
		c, err := newClone(o, fmt.Sprintf("files-%d", i))
		if err != nil {
			return nil, err
		}
		row, err := killRuns(c, o, t, kills)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", t.name, err)
		}
		rows = append(rows, row)
	}
	c, err := newClone(o, "files-concurrent")
	if err != nil {
		return nil, err
	}
	row, err := concurrentReleases(c, o)
	if err != nil {
		return nil, err
	}
	return append(rows, row), nil
}

func killRuns(c *clone, o reliabilityOptions, t makeTarget, kills int) (scenario, error) {
	s := scenario{Group: "files", Name: fmt.Sprintf("`%s` killed (SIGKILL to its process group) at a random moment", t.name)}
	if t.prepare != nil {
		if err := t.prepare(c); err != nil {
			return s, err
		}
		if err := c.commit("prepared " + t.name); err != nil {
			return s, err
		}
	}
	w, err := warmRun(c, t)
	if err != nil {
		return s, err
	}
	tally := killTally{outcomes: map[string]int{}}
	for attempt := 0; tally.interrupted < kills && attempt < 3*kills; attempt++ {
		if err := c.reset(); err != nil {
			return s, err
		}
		plan := w.moment(o, attempt)
		k, err := c.killAt(plan, t.args...)
		if err != nil {
			return s, err
		}
		tally.attempts++
		if !k.interrupted {
			continue // make had ended: nothing was killed, nothing to count
		}
		tally.interrupted++
		if k.midWrite {
			tally.midWrite++
		}
		s.Runs++
		if outcome, err := c.recovered(w); err != nil {
			s.Fail("kill %s: %v", plan, err)
		} else {
			tally.outcomes[outcome]++
			s.Passed++
		}
	}
	if tally.midWrite*2 < tally.interrupted {
		s.Fail("only %d of %d kills landed while files were being written: the scenario proves too little (draw the moments later)", tally.midWrite, tally.interrupted)
	}
	s.Figure = tally.figure(w)
	return s, nil
}

// warm is the uninterrupted run after a first one (which compiled bin/sdk
// and warmed the caches): the states before and after, how long it takes,
// and when it first wrote a generated path.
type warm struct {
	before, after    *snapshot
	took, firstWrite time.Duration
	// staging is how long its staging directory lived (the moments a
	// kill lands mid-write).
	staging time.Duration
}

func warmRun(c *clone, t makeTarget) (warm, error) {
	var w warm
	if err := c.make(t.args...); err != nil {
		return w, fmt.Errorf("the uninterrupted run failed: %w", err)
	}
	if err := c.reset(); err != nil {
		return w, err
	}
	var err error
	if w.before, err = c.snapshot(); err != nil {
		return w, err
	}
	start := time.Now()
	cmd := c.makeCmd(t.args...)
	if err := cmd.Start(); err != nil {
		return w, err
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	seen, last, err := c.watchStaging(done)
	if err != nil {
		return w, fmt.Errorf("the uninterrupted run failed: %w", err)
	}
	w.took = time.Since(start)
	if !seen.IsZero() {
		w.staging = last.Sub(seen) + time.Millisecond
	}
	if w.after, err = c.snapshot(); err != nil {
		return w, err
	}
	if w.before.equal(w.after) {
		return w, fmt.Errorf("the run changed nothing: the scenario would prove nothing")
	}
	first, ok := c.firstWrite(start)
	if !ok {
		return w, fmt.Errorf("no generated path was written after the run began")
	}
	w.firstWrite = first.Sub(start)
	return w, nil
}

// killPlan is when one kill lands: at a moment of the run, or (staged)
// that long after the run's staging directory appears.
type killPlan struct {
	at     time.Duration
	staged bool
}

// moment draws a kill: three in four while the files are written (a
// moment within the warm run's staging time, after the staging directory
// appears; the warm run's last fifth when it staged nothing the watch
// saw), the rest anywhere in the run.
func (w warm) moment(o reliabilityOptions, attempt int) killPlan {
	if attempt%4 == 3 {
		return killPlan{at: time.Duration(o.Rand.Int64N(int64(w.took)))}
	}
	if w.staging > 0 {
		return killPlan{at: time.Duration(o.Rand.Int64N(int64(w.staging))), staged: true}
	}
	window := w.took - w.firstWrite
	return killPlan{at: w.firstWrite + time.Duration(o.Rand.Int64N(int64(max(window, time.Millisecond))))}
}

// recovered runs `sdk recover` (what the next make does first) and says
// whether the generated paths are the state before or after.
func (c *clone) recovered(w warm) (string, error) {
	if err := c.sdk("recover"); err != nil {
		return "", fmt.Errorf("sdk recover: %v", err)
	}
	got, err := c.snapshot()
	if err != nil {
		return "", err
	}
	switch {
	case got.equal(w.before):
		return "old", nil
	case got.equal(w.after):
		return "new", nil
	}
	return "", fmt.Errorf("a mix of old and new: %s", got.mixDetail(w.before, w.after))
}

// killTally counts the kills of one scenario.
type killTally struct {
	attempts, interrupted, midWrite int
	outcomes                        map[string]int
}

func (k killTally) figure(w warm) string {
	return fmt.Sprintf("a warm run takes %.1f s and stages its files for %.0f ms; interrupted %d of %d kills (the others came after make had ended and are not counted), %d of them while files were being written; afterwards: %d old, %d complete new state",
		w.took.Seconds(), float64(w.staging)/float64(time.Millisecond), k.interrupted, k.attempts, k.midWrite, k.outcomes["old"], k.outcomes["new"])
}

// concurrentReleases starts two releases of the same bundle at the same
// moment: exactly one releases, the other fails at once saying another run
// is changing the catalog, and the result is the complete release.
func concurrentReleases(c *clone, o reliabilityOptions) (scenario, error) {
	s := scenario{Group: "files", Name: "two `sdk catalog release` (what `make catalog-release` runs) at the same moment"}
	if err := c.make(append([]string{"bundle"}, release040...)...); err != nil {
		return s, err
	}
	if err := c.commit("bundle 0.4.0"); err != nil {
		return s, err
	}
	runs := 5
	if o.Fast {
		runs = 2
	}
	args := []string{"catalog", "release", "--image", "example.com/memcached-operator-bundle:v0.4.0", "--channels", "candidate,fast,stable", "--output", "catalog"}
	var want *snapshot
	for k := 0; k < runs; k++ {
		if err := c.reset(); err != nil {
			return s, err
		}
		s.Runs++
		var wg sync.WaitGroup
		var outs [2]bytes.Buffer
		var errs [2]error
		for i := range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				cmd := exec.Command(filepath.Join(c.o.Bin, "sdk"), args...)
				cmd.Dir, cmd.Stdout, cmd.Stderr = c.dir, &outs[i], &outs[i]
				errs[i] = cmd.Run()
			}()
		}
		wg.Wait()
		got, err := c.snapshot()
		if err != nil {
			return s, err
		}
		if want == nil {
			want = got
		}
		failed := 0
		for i := range 2 {
			if errs[i] != nil {
				failed++
				if !strings.Contains(outs[i].String(), "another run is changing it") {
					s.Fail("the losing release's message does not say another run holds the catalog: %s", strings.TrimSpace(outs[i].String()))
				}
			}
		}
		switch {
		case failed != 1:
			s.Fail("%d of the 2 releases failed, want exactly 1: %q / %q", failed, outs[0].String(), outs[1].String())
		case !got.equal(want):
			s.Fail("the result differs from the first run's: %s", got.mixDetail(want, want))
		case !strings.Contains(got.files["config/catalog/template.yaml"], "0.4.0"):
			s.Fail("the winning release is not in the template")
		default:
			s.Passed++
		}
	}
	s.Figure = "one release wins, the other fails at once naming the lock; the catalog is the complete release"
	return s, nil
}

// clone is a scratch clone of the checkout's HEAD, using the checkout's
// built tools.
type clone struct {
	o   reliabilityOptions
	dir string
}

func newClone(o reliabilityOptions, name string) (*clone, error) {
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
