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
)

// Env is what a test may use.
type Env struct {
	// BundleDir is the bundle under test (/bundle in the test pod).
	BundleDir string
	Bundle    *manifests.Bundle
	// CatalogDir is the released catalog, for upgrade readiness.
	CatalogDir string
	// Client reaches the cluster; nil when none is configured.
	Client    client.Client
	Namespace string
}

// LoadEnv reads the bundle at dir.
func LoadEnv(bundleDir, catalogDir string, c client.Client, namespace string) (*Env, error) {
	b, err := manifests.GetBundleFromDir(bundleDir)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", bundleDir, err)
	}
	return &Env{BundleDir: bundleDir, Bundle: b, CatalogDir: catalogDir, Client: c, Namespace: namespace}, nil
}

// T records one test's outcome.
type T struct {
	Env *Env
	mu  sync.Mutex
	res v1alpha3.TestResult
	log strings.Builder
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

// Wait polls cond until it is done. On timeout it records an error that
// says what the test was waiting for and the last state it saw.
func (t *T) Wait(ctx context.Context, what string, cond func(context.Context) (bool, string, error)) bool {
	start := time.Now()
	last := "nothing observed yet"
	for {
		done, state, err := cond(ctx)
		if state != "" {
			last = state
		}
		if err == nil && done {
			t.Logf("%s after %s: %s", what, time.Since(start).Round(time.Millisecond), last)
			return true
		}
		if err != nil {
			last = err.Error()
		}
		select {
		case <-ctx.Done():
			t.Errorf("timed out after %s waiting for %s; last seen: %s", time.Since(start).Round(time.Second), what, last)
			return false
		case <-time.After(250 * time.Millisecond):
		}
	}
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

var registry = map[string]Test{}

func register(name string, cluster bool, f Func) {
	registry[name] = Test{Name: name, Cluster: cluster, Run: f}
}

// Names lists the registered tests.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Run runs the named test and returns its result; it never panics out.
func Run(ctx context.Context, name string, env *Env) v1alpha3.TestResult {
	t := &T{Env: env, res: v1alpha3.TestResult{Name: name, State: v1alpha3.PassState}}
	test, ok := registry[name]
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
			test.Run(ctx, t)
		}()
	}
	t.res.Log = t.log.String()
	t.res.CreationTimestamp.Time = time.Now().UTC().Truncate(time.Second)
	return t.res
}
