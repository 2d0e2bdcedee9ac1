//go:build scorecardnode

// Package scorecardnode runs the scorecard tests as pods on the local
// cluster's real node, as operator-sdk's scorecard runs them, against the
// operator that make deploy runs there, and holds them to the in-process
// runner: same tests, same states. It also checks what a user relies on:
// the outputs parse, the shipped RBAC is needed and enough, restricted test
// pods are admitted where legacy ones are not, and a test stopped at its wait
// time or by Ctrl-C leaves no Memcached, pod or ConfigMap behind.
//
// Run with make test-scorecard-node (it builds and pushes the scorecard image,
// then runs this with SDK, KUBECTL, UNTAR_IMAGE and KUBECONFIG set).
package scorecardnode

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/scorecard"
	"github.com/example-inc/memcached-operator/test/framework"
)

// repoRoot is where bin/sdk finds bundle/, catalog/ and config/.
var repoRoot = filepath.Join("..", "..")

// serviceAccount is the account config/scorecard/rbac creates.
const serviceAccount = "memcached-scorecard"

type lane struct {
	c          client.Client
	ns         string
	sdk        string
	untarImage string
}

func TestScorecardPods(t *testing.T) {
	l := setup(t)
	t.Run("pod logs are readable", l.podLogsReadable)
	t.Run("pods give the in-process results", l.sameResults)
	t.Run("text and xunit outputs parse", l.outputsParse)
	t.Run("the default account lacks the RBAC", l.defaultAccount)
	t.Run("legacy pods are refused in a restricted namespace", l.legacyRefused)
	t.Run("wait time over", l.waitTimeOver)
	t.Run("interrupted mid-test", l.interrupted)
	l.assertNothingLeft(t)
}

// setup makes a namespace that enforces the restricted Pod Security
// Standard and applies the shipped RBAC in it, as the README says.
func setup(t *testing.T) *lane {
	t.Helper()
	c, err := kubeclient.NewClient()
	if err != nil {
		t.Fatal(err)
	}
	l := &lane{c: c, sdk: framework.Env(t, "SDK", "test-scorecard-node"), untarImage: framework.Env(t, "UNTAR_IMAGE", "test-scorecard-node"), ns: fmt.Sprintf("scorecard-node-%d", time.Now().UnixNano()%100000)}
	ctx := context.Background()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: l.ns, Labels: map[string]string{
		"pod-security.kubernetes.io/enforce": "restricted", "pod-security.kubernetes.io/enforce-version": "latest",
	}}}
	if err := c.Create(ctx, ns); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Delete(context.Background(), ns) })
	out, err := exec.Command(framework.Env(t, "KUBECTL", "test-scorecard-node"), "apply", "-n", l.ns, "-k", filepath.Join(repoRoot, "config", "scorecard", "rbac")).CombinedOutput()
	if err != nil {
		t.Fatalf("apply config/scorecard/rbac: %v\n%s", err, out)
	}
	return l
}

// podLogsReadable: the pod runner reads results from pod logs, which the API
// server fetches from the kubelet with its client certificate. A cluster
// created without one (before hack/node/kwokctl.yaml gave it) gets 401.
func (l *lane) podLogsReadable(t *testing.T) {
	cs, err := kubeclient.NewClientset()
	if err != nil {
		t.Fatal(err)
	}
	pods, err := cs.CoreV1().Pods("kube-system").List(context.Background(), metav1.ListOptions{})
	if err != nil || len(pods.Items) == 0 {
		t.Fatalf("no kube-system pod to read a log of (%v)", err)
	}
	p := pods.Items[0]
	opts := &corev1.PodLogOptions{Container: p.Spec.Containers[0].Name, TailLines: ptr.To[int64](1)}
	_, err = cs.CoreV1().Pods(p.Namespace).GetLogs(p.Name, opts).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("the API server cannot read the log of pod %s/%s: %v; the pod runner cannot read results either: "+
			"recreate the cluster (make cluster-down cluster-up NODE_LANE=real), whose kube-apiserver then has the kubelet client certificate", p.Namespace, p.Name, err)
	}
}

// sameResults: every suite as pods, with the shipped account, gives the
// tests and states of the in-process runner on the same bundle and cluster.
func (l *lane) sameResults(t *testing.T) {
	inProcess := l.results(t, l.scorecard(t, "-o", "json"))
	asPods := l.results(t, l.scorecard(t, l.pods("-o", "json")...))
	if got, want := summary(asPods), summary(inProcess); got != want {
		t.Errorf("as pods:\n%s\nin-process:\n%s", got, want)
	}
	if !scorecard.Passed(asPods) {
		t.Errorf("not every test passes as pods:\n%s", summary(asPods))
	}
	if len(asPods.Items) != len(scorecard.Tests()) {
		t.Errorf("%d tests ran as pods, want all %d", len(asPods.Items), len(scorecard.Tests()))
	}
}

// outputsParse: the text output names every test with its state; the xunit
// output is XML with the three suites and no failures.
func (l *lane) outputsParse(t *testing.T) {
	text := l.scorecard(t, l.pods("-o", "text")...)
	var missing []string
	for _, name := range scorecard.Names() {
		if !strings.Contains(text.stdout, "Name: "+name+"\n\tState: pass") {
			missing = append(missing, name)
		}
	}
	if len(missing) > 0 {
		t.Errorf("text output does not say %s pass:\n%s", strings.Join(missing, ", "), text.stdout)
	}
	xunit := l.scorecard(t, l.pods("-o", "xunit")...)
	var suites struct {
		Suites []struct {
			Name     string `xml:"name,attr"`
			Tests    int    `xml:"tests,attr"`
			Failures int    `xml:"failures,attr"`
			Errors   int    `xml:"errors,attr"`
		} `xml:"testsuite"`
	}
	if err := xml.Unmarshal([]byte(xunit.stdout), &suites); err != nil {
		t.Fatalf("xunit output does not parse: %v\n%s", err, xunit.stdout)
	}
	tests := 0
	for _, s := range suites.Suites {
		tests += s.Tests
		if s.Failures+s.Errors != 0 {
			t.Errorf("xunit suite %s: %d failures, %d errors", s.Name, s.Failures, s.Errors)
		}
	}
	if len(suites.Suites) != 3 || tests != len(scorecard.Tests()) {
		t.Errorf("xunit: %d suites, %d tests; want 3 suites (basic, olm, memcached), %d tests", len(suites.Suites), tests, len(scorecard.Tests()))
	}
}

// defaultAccount: scorecards create no RBAC, so the memcached suite run as
// the namespace's default account fails, saying it is forbidden.
func (l *lane) defaultAccount(t *testing.T) {
	run := l.scorecard(t, "--pods", "--untar-image", l.untarImage, "--namespace", l.ns, "-s", "default", "-l", "suite=memcached", "-o", "json")
	for _, r := range l.someResults(t, run) {
		if r.State == v1alpha3.PassState || !strings.Contains(strings.Join(r.Errors, " "), "forbidden") {
			t.Errorf("%s as the default account: %s %q, want an error saying forbidden", r.Name, r.State, r.Errors)
		}
	}
	if run.err == nil {
		t.Errorf("exit 0 with failing tests")
	}
}

// legacyRefused: the namespace enforces restricted, so pods without a
// security context are not admitted; the result says so.
func (l *lane) legacyRefused(t *testing.T) {
	run := l.scorecard(t, l.pods("--pod-security", "legacy", "-l", "test=basic-check-spec", "-o", "json")...)
	for _, r := range l.someResults(t, run) {
		if r.State != v1alpha3.ErrorState || !strings.Contains(strings.Join(r.Errors, " "), "violates PodSecurity") {
			t.Errorf("%s as a legacy pod: %s %q, want an error saying the pod violates PodSecurity", r.Name, r.State, r.Errors)
		}
	}
}

// waitTimeOver: a wait time too short for the test: the result names the
// pod and its state, and the pod is deleted (its test, stopped by SIGTERM,
// deletes what it created).
func (l *lane) waitTimeOver(t *testing.T) {
	run := l.scorecard(t, l.pods("-l", "test=memcached-scaling", "--wait-time", "4s", "-o", "json")...)
	for _, r := range l.someResults(t, run) {
		msg := strings.Join(r.Errors, " ")
		if r.State != v1alpha3.ErrorState || !strings.Contains(msg, "timed out after") ||
			!strings.Contains(msg, "waiting for test pod "+l.ns+"/scorecard-memcached-scaling-") {
			t.Errorf("%s: %s %q, want a timeout naming the pod", r.Name, r.State, r.Errors)
		}
		t.Logf("%s", msg)
	}
	l.assertNothingLeft(t)
}

// interrupted: Ctrl-C while a test waits for its Memcached: the scorecard
// deletes the test pod, the test deletes its Memcached on SIGTERM, the
// scorecard deletes its ConfigMap and exits.
func (l *lane) interrupted(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(l.sdk, append([]string{"scorecard", "bundle"}, l.pods("-l", "test=memcached-scaling", "-o", "json")...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = repoRoot, &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	err := wait.For(ctx, wait.Options{What: "the test pod to create a Memcached", Timeout: time.Minute}, func(ctx context.Context) (bool, string, error) {
		n, err := l.memcacheds(ctx)
		return n > 0, fmt.Sprintf("%d Memcacheds", n), err
	})
	if err != nil {
		t.Fatalf("%v\nstderr: %s", err, stderr.String())
	}
	interrupted := time.Now()
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait()
	t.Logf("scorecard exited %s after Ctrl-C", time.Since(interrupted).Round(time.Millisecond))
	var list v1alpha3.TestList
	if err := json.Unmarshal(stdout.Bytes(), &list); err != nil || len(results(list)) != 1 || results(list)[0].State != v1alpha3.ErrorState ||
		!strings.Contains(strings.Join(results(list)[0].Errors, " "), "run stopped") {
		t.Errorf("output after Ctrl-C: %v, want one test in error, run stopped\n%s\nstderr: %s", err, stdout.String(), stderr.String())
	}
	l.assertNothingLeft(t)
}

// assertNothingLeft: no Memcached, and no scorecard pod or ConfigMap, in the
// namespace. A Memcached may take a moment to go (the operator's finalizer).
func (l *lane) assertNothingLeft(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	err := wait.For(ctx, wait.Options{What: "the test Memcacheds to be gone", Timeout: 30 * time.Second}, func(ctx context.Context) (bool, string, error) {
		n, err := l.memcacheds(ctx)
		return n == 0, fmt.Sprintf("%d Memcacheds", n), err
	})
	if err != nil {
		t.Error(err)
	}
	pods, cms := &corev1.PodList{}, &corev1.ConfigMapList{}
	for _, list := range []client.ObjectList{pods, cms} {
		if err := l.c.List(ctx, list, client.InNamespace(l.ns), client.HasLabels{scorecard.LabelRun}); err != nil {
			t.Fatal(err)
		}
	}
	if len(pods.Items)+len(cms.Items) > 0 {
		t.Errorf("%d scorecard pods and %d ConfigMaps left in %s", len(pods.Items), len(cms.Items), l.ns)
	}
}

func (l *lane) memcacheds(ctx context.Context) (int, error) {
	list := &cachev1.MemcachedList{}
	err := l.c.List(ctx, list, client.InNamespace(l.ns))
	return len(list.Items), err
}

// pods are the flags of a pod run with the shipped account.
func (l *lane) pods(args ...string) []string {
	return append([]string{"--pods", "--untar-image", l.untarImage, "--namespace", l.ns, "-s", serviceAccount}, args...)
}

type run struct {
	args   []string
	stdout string
	stderr string
	err    error
}

// scorecard runs `sdk scorecard bundle ARGS` (in-process unless --pods) in
// the test namespace and says how long it took.
func (l *lane) scorecard(t *testing.T, args ...string) run {
	t.Helper()
	if !strings.Contains(strings.Join(args, " "), "--namespace") {
		args = append([]string{"--namespace", l.ns}, args...)
	}
	var stdout, stderr bytes.Buffer
	cmd := exec.Command(l.sdk, append([]string{"scorecard", "bundle"}, args...)...)
	cmd.Dir, cmd.Stdout, cmd.Stderr = repoRoot, &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	t.Logf("sdk scorecard bundle %s: %s (exit: %v)", strings.Join(args, " "), time.Since(start).Round(100*time.Millisecond), err)
	var exit *exec.ExitError
	if err != nil && !errors.As(err, &exit) {
		t.Fatal(err)
	}
	return run{args: args, stdout: stdout.String(), stderr: stderr.String(), err: err}
}

// results parses a json run's output as a v1alpha3 TestList.
func (l *lane) results(t *testing.T, r run) v1alpha3.TestList {
	t.Helper()
	var list v1alpha3.TestList
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != "TestList" {
		t.Fatalf("%v: output is not a TestList (%v)\nstdout: %s\nstderr: %s", r.args, err, r.stdout, r.stderr)
	}
	return list
}

// someResults is the results of a json run, which selected at least one
// test: a run that reports none would pass every check on its results.
func (l *lane) someResults(t *testing.T, r run) []v1alpha3.TestResult {
	t.Helper()
	rs := results(l.results(t, r))
	if len(rs) == 0 {
		t.Fatalf("%v: no test results\nstdout: %s\nstderr: %s", r.args, r.stdout, r.stderr)
	}
	return rs
}

func results(list v1alpha3.TestList) []v1alpha3.TestResult {
	var out []v1alpha3.TestResult
	for _, item := range list.Items {
		out = append(out, item.Status.Results...)
	}
	return out
}

// summary is one "name state" line per result, in order.
func summary(list v1alpha3.TestList) string {
	var b strings.Builder
	for _, r := range results(list) {
		fmt.Fprintf(&b, "%s %s\n", r.Name, r.State)
	}
	return b.String()
}
