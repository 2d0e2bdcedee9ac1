// Package scorecard holds the operator's scorecard tests and a runner for
// them. Each test speaks operator-sdk's contract (v1alpha3 TestStatus), so
// `operator-sdk scorecard` runs them from the test image unchanged, and our
// own runner runs the same code in-process where pods cannot run.
package scorecard

import (
	"context"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"github.com/operator-framework/api/pkg/manifests"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// Env is what a test may use.
type Env struct {
	// BundleDir is the bundle under test (/bundle in the test pod).
	BundleDir string
	Bundle    *manifests.Bundle
	// ReleasesDir holds the released bundles, one directory each, for
	// upgrade readiness.
	ReleasesDir string
	// Client reaches the cluster; nil when none is configured.
	Client    client.Client
	Namespace string
}

// LoadEnv reads the bundle at dir.
func LoadEnv(bundleDir, releasesDir string, c client.Client, namespace string) (*Env, error) {
	b, err := manifests.GetBundleFromDir(bundleDir)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", bundleDir, err)
	}
	return &Env{BundleDir: bundleDir, Bundle: b, ReleasesDir: releasesDir, Client: c, Namespace: namespace}, nil
}

// CleanupTimeout bounds a test's cleanups. They run after the test's context
// ended too (wait time over, SIGTERM from a deleted test pod), so it stays
// below the test pod's termination grace period (podGracePeriod).
const CleanupTimeout = 20 * time.Second

// T records one test's outcome.
type T struct {
	Env      *Env
	mu       sync.Mutex
	res      v1alpha3.TestResult
	log      strings.Builder
	cleanups []func(context.Context)
}

// Cleanup registers f to run when the test ends, however it ends; cleanups
// run last registered first, with a context of their own (CleanupTimeout).
func (t *T) Cleanup(f func(ctx context.Context)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.cleanups = append(t.cleanups, f)
}

// runCleanups runs the registered cleanups once the test body returned. The
// test's context may be over: they get one that outlives it, bounded.
func (t *T) runCleanups(ctx context.Context) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), CleanupTimeout)
	defer cancel()
	t.mu.Lock()
	cleanups := t.cleanups
	t.cleanups = nil
	t.mu.Unlock()
	for i := len(cleanups) - 1; i >= 0; i-- {
		cleanups[i](ctx)
	}
}

// Failf records a finding: the test fails.
func (t *T) Failf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.Errors = append(t.res.Errors, fmt.Sprintf(format, args...))
	if t.res.State != v1alpha3.ErrorState {
		t.res.State = v1alpha3.FailState
	}
}

// Errorf records that the test could not run to a verdict.
func (t *T) Errorf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.Errors = append(t.res.Errors, fmt.Sprintf(format, args...))
	t.res.State = v1alpha3.ErrorState
}

// Suggest records advice that does not fail the test.
func (t *T) Suggest(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.res.Suggestions = append(t.res.Suggestions, fmt.Sprintf(format, args...))
}

// Logf adds to the test's log.
func (t *T) Logf(format string, args ...any) {
	t.mu.Lock()
	defer t.mu.Unlock()
	fmt.Fprintf(&t.log, "%s "+format+"\n", append([]any{time.Now().UTC().Format("15:04:05.000")}, args...)...)
}

// Wait polls cond until it is done; an error of cond is a state seen, not the
// end of the wait (the cluster may still get there). On timeout it records an
// error that says what the test was waiting for and the last state it saw.
func (t *T) Wait(ctx context.Context, what string, cond func(context.Context) (bool, string, error)) bool {
	start := time.Now()
	last := "nothing observed yet"
	err := wait.For(ctx, wait.Options{What: what}, func(ctx context.Context) (bool, string, error) {
		done, state, err := cond(ctx)
		if state != "" {
			last = state
		}
		if err != nil {
			done, last = false, err.Error()
		}
		return done, last, nil
	})
	if err != nil {
		t.Errorf("%v", err)
		return false
	}
	t.Logf("%s after %s: %s", what, time.Since(start).Round(time.Millisecond), last)
	return true
}

// Func is a test body.
type Func func(ctx context.Context, t *T)

// Test is a named test with what it needs.
type Test struct {
	Name string
	// Cluster tests need a client and a namespace with the operator running.
	Cluster bool
	Run     Func
}

// Names lists the tests, sorted.
func Names() []string {
	var names []string
	for _, test := range Tests() {
		names = append(names, test.Name)
	}
	sort.Strings(names)
	return names
}

// lookup finds the test called name in Tests.
func lookup(name string) (Test, bool) {
	for _, test := range Tests() {
		if test.Name == name {
			return test, true
		}
	}
	return Test{}, false
}

// Run runs the named test, then its cleanups, and returns its result; it
// never panics out.
func Run(ctx context.Context, name string, env *Env) v1alpha3.TestResult {
	t := &T{Env: env, res: v1alpha3.TestResult{Name: name, State: v1alpha3.PassState}}
	test, ok := lookup(name)
	switch {
	case !ok:
		t.Errorf("no test named %q; the tests are %s", name, strings.Join(Names(), ", "))
	case test.Cluster && env.Client == nil:
		t.Errorf("%s needs a cluster: set KUBECONFIG or run it in the scorecard pod", name)
	default:
		func() {
			defer func() {
				if r := recover(); r != nil {
					t.Errorf("panic: %v", r)
				}
			}()
			defer t.runCleanups(ctx)
			test.Run(ctx, t)
		}()
	}
	t.res.Log = t.log.String()
	t.res.CreationTimestamp.Time = time.Now().UTC().Truncate(time.Second)
	return t.res
}
