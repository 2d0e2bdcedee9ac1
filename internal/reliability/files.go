package reliability

import (
	"bytes"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
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

// FilesScenarios: each generating make target killed (its whole process
// group, as a closed terminal or an OOM kill would) at random moments, then
// `sdk recover` (what the next make does first); then two releases at once.
func FilesScenarios() []Scenario {
	var out []Scenario
	for i, t := range killedTargets {
		out = append(out, Scenario{Name: "kill-" + strings.TrimPrefix(t.name, "make "),
			Injects: "SIGKILL to `" + t.name + "`'s process group at random moments, most while it writes its files",
			Checks:  "after `sdk recover` the generated paths are byte for byte the state before or the complete state after, with nothing left beside them",
			Run:     one(func(o Options) (Row, error) { return killedTarget(o, i, t) })})
	}
	return append(out, Scenario{Name: "concurrent-release", Injects: "two `sdk catalog release` of the same bundle at the same moment",
		Checks: "exactly one releases, the other fails at once naming the lock, and the catalog is the complete release", Run: one(concurrentReleases)})
}

// killedTarget kills t in a clone of its own.
func killedTarget(o Options, i int, t makeTarget) (Row, error) {
	c, err := newClone(o, fmt.Sprintf("files-%d", i))
	if err != nil {
		return Row{}, err
	}
	row, err := killRuns(c, o, t, filesKills(o))
	if err != nil {
		return row, fmt.Errorf("%s: %w", t.name, err)
	}
	return row, nil
}

// filesKills is how many kills must land in a run of each target.
func filesKills(o Options) int {
	if o.Fast {
		return 3
	}
	return 20
}

func killRuns(c *clone, o Options, t makeTarget, kills int) (Row, error) {
	s := Row{Group: "files", Name: fmt.Sprintf("`%s` killed (SIGKILL to its process group) at a random moment", t.name)}
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
func (w warm) moment(o Options, attempt int) killPlan {
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

// releaseArgs are the arguments of `sdk catalog release` of bundle 0.4.0.
var releaseArgs = []string{"catalog", "release", "--image", "example.com/memcached-operator-bundle:v0.4.0", "--channels", "candidate,fast,stable", "--output", "catalog"}

// concurrentReleases starts two releases of the same bundle at the same
// moment: exactly one releases, the other fails at once saying another run
// is changing the catalog, and the result is the complete release.
func concurrentReleases(o Options) (Row, error) {
	s := Row{Group: "files", Name: "two `sdk catalog release` (what `make catalog-release` runs) at the same moment"}
	c, err := newClone(o, "files-concurrent")
	if err != nil {
		return s, err
	}
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
	var want *snapshot
	for k := 0; k < runs; k++ {
		if err := c.reset(); err != nil {
			return s, err
		}
		s.Runs++
		outs, errs := c.releaseTwice()
		got, err := c.snapshot()
		if err != nil {
			return s, err
		}
		if want == nil {
			want = got
		}
		if checkOneRelease(&s, got, want, outs, errs) {
			s.Passed++
		}
	}
	s.Figure = "one release wins, the other fails at once naming the lock; the catalog is the complete release"
	return s, nil
}

// releaseTwice runs two releases at once and returns their output and errors.
func (c *clone) releaseTwice() ([2]string, [2]error) {
	var wg sync.WaitGroup
	var outs [2]bytes.Buffer
	var errs [2]error
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			cmd := exec.Command(filepath.Join(c.o.Bin, "sdk"), releaseArgs...)
			cmd.Dir, cmd.Stdout, cmd.Stderr = c.dir, &outs[i], &outs[i]
			errs[i] = cmd.Run()
		}()
	}
	wg.Wait()
	return [2]string{outs[0].String(), outs[1].String()}, errs
}

// checkOneRelease records in s what did not hold of two releases at once
// (exactly one failed, naming the lock; the catalog is the release) and
// says whether the outcome was one release.
func checkOneRelease(s *Row, got, want *snapshot, outs [2]string, errs [2]error) bool {
	failed := 0
	for i := range 2 {
		if errs[i] != nil {
			failed++
			if !strings.Contains(outs[i], "another run is changing it") {
				s.Fail("the losing release's message does not say another run holds the catalog: %s", strings.TrimSpace(outs[i]))
			}
		}
	}
	switch {
	case failed != 1:
		s.Fail("%d of the 2 releases failed, want exactly 1: %q / %q", failed, outs[0], outs[1])
	case !got.equal(want):
		s.Fail("the result differs from the first run's: %s", got.mixDetail(want, want))
	case !strings.Contains(got.files["config/catalog/template.yaml"], "0.4.0"):
		s.Fail("the winning release is not in the template")
	default:
		return true
	}
	return false
}
