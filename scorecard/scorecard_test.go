package scorecard

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/csv"
)

var (
	ourBundle   = filepath.Join("..", "bundle")
	ourReleases = filepath.Join("..", "config", "catalog", "releases")
)

func TestMain(m *testing.M) {
	logrus.SetLevel(logrus.WarnLevel)
	os.Exit(m.Run())
}

// broken copies our bundle and edits its CSV or CRD.
func broken(t *testing.T, editCSV func(*v1alpha1.ClusterServiceVersion), editCRD func(*apiextensionsv1.CustomResourceDefinition)) string {
	t.Helper()
	files, err := atomicdir.Read(ourBundle)
	if err != nil {
		t.Fatal(err)
	}
	edit := func(name string, obj any, f func()) {
		if err := yaml.Unmarshal(files[name], obj); err != nil {
			t.Fatal(err)
		}
		f()
		b, err := yaml.Marshal(obj)
		if err != nil {
			t.Fatal(err)
		}
		files[name] = b
	}
	if editCSV != nil {
		manifest := &v1alpha1.ClusterServiceVersion{}
		edit("manifests/memcached-operator.clusterserviceversion.yaml", manifest, func() { editCSV(manifest) })
	}
	if editCRD != nil {
		crd := &apiextensionsv1.CustomResourceDefinition{}
		edit("manifests/cache.example.com_memcacheds.yaml", crd, func() { editCRD(crd) })
	}
	dir := filepath.Join(t.TempDir(), "bundle")
	if err := atomicdir.Replace(dir, files, nil); err != nil {
		t.Fatal(err)
	}
	return dir
}

func run(t *testing.T, name, bundleDir string) v1alpha3.TestResult {
	t.Helper()
	env, err := LoadEnv(bundleDir, ourReleases, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	return Run(context.Background(), name, env)
}

func owned(csv *v1alpha1.ClusterServiceVersion) *v1alpha1.CRDDescription {
	return &csv.Spec.CustomResourceDefinitions.Owned[0]
}

func schema(crd *apiextensionsv1.CustomResourceDefinition) *apiextensionsv1.JSONSchemaProps {
	return crd.Spec.Versions[0].Schema.OpenAPIV3Schema
}

// Every static test passes on our bundle and fails on one broken in the
// way it guards against, saying what is wrong.
func TestStaticTestsCatchWhatTheyGuard(t *testing.T) {
	for _, tc := range []struct {
		test    string
		csv     func(*v1alpha1.ClusterServiceVersion)
		crd     func(*apiextensionsv1.CustomResourceDefinition)
		wantErr string
	}{
		{BasicCheckSpec, func(c *v1alpha1.ClusterServiceVersion) {
			c.Annotations[csv.AnnotationAlmExamples] = `[{"apiVersion":"cache.example.com/v1","kind":"Memcached","metadata":{"name":"m"}}]`
		}, nil, "example Memcached m has no spec"},
		{OLMBundleValidation, func(c *v1alpha1.ClusterServiceVersion) { c.Name = "memcached-operator.v9.9.9" }, nil,
			`CSV name "memcached-operator.v9.9.9" does not match package "memcached-operator" and spec.version 0.3.2`},
		{OLMCRDsHaveValidation, func(c *v1alpha1.ClusterServiceVersion) {
			c.Annotations[csv.AnnotationAlmExamples] = `[{"apiVersion":"cache.example.com/v1","kind":"Memcached","metadata":{"name":"m"},"spec":{"size":3,"memory":"64Mi"}}]`
		}, nil, "example Memcached m uses spec.memory, which the CRD's schema does not declare"},
		{OLMCRDsHaveResources, func(c *v1alpha1.ClusterServiceVersion) { owned(c).Resources = nil }, nil,
			"owned CRD memcacheds.cache.example.com v1 lists no resources"},
		{OLMSpecDescriptors, nil, func(crd *apiextensionsv1.CustomResourceDefinition) {
			spec := schema(crd).Properties["spec"]
			spec.Properties["memory"] = apiextensionsv1.JSONSchemaProps{Type: "string"}
			schema(crd).Properties["spec"] = spec
		}, "owned CRD memcacheds.cache.example.com v1: spec.memory has no spec descriptor in the CSV"},
		{OLMStatusDescriptors, func(c *v1alpha1.ClusterServiceVersion) { owned(c).StatusDescriptors = owned(c).StatusDescriptors[:1] }, nil,
			"owned CRD memcacheds.cache.example.com v1: status.conditions has no status descriptor in the CSV"},
		{OLMUpgradeReadiness, nil, func(crd *apiextensionsv1.CustomResourceDefinition) {
			spec := schema(crd).Properties["spec"]
			size := spec.Properties["size"]
			max := 2.0
			size.Maximum = &max
			spec.Properties["size"] = size
			schema(crd).Properties["spec"] = spec
		}, "upgrade from memcached-operator.v0.3.1: example Memcached memcached-sample no longer validates against CRD memcacheds.cache.example.com v1: spec.size: Invalid value: 3"},
	} {
		t.Run(tc.test, func(t *testing.T) {
			if res := run(t, tc.test, ourBundle); res.State != v1alpha3.PassState {
				t.Fatalf("fails on our bundle: %v", res.Errors)
			}
			res := run(t, tc.test, broken(t, tc.csv, tc.crd))
			if res.State != v1alpha3.FailState {
				t.Fatalf("state %s on the broken bundle, want fail (errors %v)", res.State, res.Errors)
			}
			if !strings.Contains(strings.Join(res.Errors, "\n"), tc.wantErr) {
				t.Errorf("errors %q do not say %q", res.Errors, tc.wantErr)
			}
		})
	}
}

func TestRestrictedViolations(t *testing.T) {
	restricted := &corev1.Pod{Spec: corev1.PodSpec{
		SecurityContext: &corev1.PodSecurityContext{RunAsNonRoot: boolPtr(true), SeccompProfile: &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault}},
		Containers: []corev1.Container{{Name: "c", Image: "i", SecurityContext: &corev1.SecurityContext{
			AllowPrivilegeEscalation: boolPtr(false), Capabilities: &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		}}},
	}}
	if v := RestrictedViolations(restricted); len(v) != 0 {
		t.Errorf("a restricted pod has violations: %v", v)
	}
	loose := restricted.DeepCopy()
	loose.Spec.Containers[0].SecurityContext.Privileged = boolPtr(true)
	loose.Spec.HostNetwork = true
	v := strings.Join(RestrictedViolations(loose), "; ")
	if !strings.Contains(v, "privileged") || !strings.Contains(v, "host namespaces") {
		t.Errorf("violations of a privileged host-network pod: %s", v)
	}
}

func boolPtr(b bool) *bool { return &b }

// The runner honours selectors and stages; every output format parses.
func TestRunnerAndOutputs(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(ourBundle, "tests", "scorecard", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	env, err := LoadEnv(ourBundle, ourReleases, nil, "default")
	if err != nil {
		t.Fatal(err)
	}
	sel, _ := labels.Parse("suite=olm")
	list := RunConfig(context.Background(), cfg, sel, time.Minute, env)
	if len(list.Items) != 6 {
		t.Fatalf("suite=olm ran %d tests, want 6", len(list.Items))
	}
	if !Passed(list) {
		t.Errorf("suite=olm does not pass on our bundle")
	}
	all := RunConfig(context.Background(), cfg, labels.Everything(), time.Minute, env)
	if Passed(all) {
		t.Errorf("cluster tests passed without a cluster")
	}

	var js bytes.Buffer
	if err := Write(&js, all, "json"); err != nil {
		t.Fatal(err)
	}
	var back v1alpha3.TestList
	if err := json.Unmarshal(js.Bytes(), &back); err != nil || len(back.Items) != len(all.Items) || back.Kind != "TestList" {
		t.Errorf("json output does not parse back as a TestList: %v", err)
	}
	var xu bytes.Buffer
	if err := Write(&xu, all, "xunit"); err != nil {
		t.Fatal(err)
	}
	var suites xunitSuites
	if err := xml.Unmarshal(xu.Bytes(), &suites); err != nil {
		t.Fatalf("xunit output does not parse: %v", err)
	}
	errs := 0
	for _, s := range suites.Suites {
		errs += s.Errors
	}
	if len(suites.Suites) != 3 || errs != 4 {
		t.Errorf("xunit: %d suites, %d errors; want 3 suites (basic, olm, memcached) and the 4 cluster tests in error", len(suites.Suites), errs)
	}
	var txt bytes.Buffer
	if err := Write(&txt, all, "text"); err != nil || !strings.Contains(txt.String(), "olm-crd-upgrade-safe") {
		t.Errorf("text output: %v", err)
	}
}

// The table and the config agree: every configured entry runs a test of the
// table under its test= label, every test is configured once, and exactly the
// memcached suite needs a cluster.
func TestTableMatchesConfig(t *testing.T) {
	cfg, err := LoadConfig(filepath.Join(ourBundle, "tests", "scorecard", "config.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	configured := map[string]int{}
	for _, st := range cfg.Stages {
		for _, tc := range st.Tests {
			name := TestName(tc)
			configured[name]++
			if tc.Labels["test"] != name {
				t.Errorf("entry %s has label test=%s", name, tc.Labels["test"])
			}
			test, ok := lookup(name)
			if !ok {
				t.Errorf("config entry %s is not in Tests()", name)
				continue
			}
			if want := tc.Labels["suite"] == "memcached"; test.Cluster != want {
				t.Errorf("%s: Cluster %t, want %t (suite %s)", name, test.Cluster, want, tc.Labels["suite"])
			}
		}
	}
	seen := map[string]bool{}
	for _, test := range Tests() {
		if seen[test.Name] {
			t.Errorf("%s is twice in Tests()", test.Name)
		}
		seen[test.Name] = true
		if test.Run == nil {
			t.Errorf("%s has no body", test.Name)
		}
		if configured[test.Name] != 1 {
			t.Errorf("%s is configured %d times, want once", test.Name, configured[test.Name])
		}
	}
}

// An unknown name fails clearly, naming the tests there are.
func TestUnknownTest(t *testing.T) {
	res := run(t, "no-such-test", ourBundle)
	msg := strings.Join(res.Errors, "\n")
	if res.State != v1alpha3.ErrorState || !strings.Contains(msg, `no test named "no-such-test"`) || !strings.Contains(msg, OLMUpgradeReadiness) {
		t.Errorf("state %s, errors %q: want an error naming the unknown test and the known ones", res.State, res.Errors)
	}
}

// Wait treats a condition's error as a state seen and keeps waiting; on
// timeout the test errors with what it waited for and the last state.
func TestWait(t *testing.T) {
	calls := 0
	ok := &T{res: v1alpha3.TestResult{State: v1alpha3.PassState}}
	if !ok.Wait(context.Background(), "the third call", func(context.Context) (bool, string, error) {
		calls++
		if calls == 1 {
			return false, "", errors.New("transient")
		}
		return calls == 3, fmt.Sprintf("call %d", calls), nil
	}) || ok.res.State != v1alpha3.PassState || !strings.Contains(ok.log.String(), "the third call after ") {
		t.Errorf("Wait after a transient error: state %s, errors %v, log %q", ok.res.State, ok.res.Errors, ok.log.String())
	}

	ctx, cancel := context.WithTimeout(context.Background(), 600*time.Millisecond)
	defer cancel()
	late := &T{res: v1alpha3.TestResult{State: v1alpha3.PassState}}
	if late.Wait(ctx, "Godot", func(context.Context) (bool, string, error) { return false, "nobody on the road", nil }) {
		t.Fatal("Wait returned true for a condition that never holds")
	}
	want := "waiting for Godot; last seen: nobody on the road"
	if late.res.State != v1alpha3.ErrorState || len(late.res.Errors) != 1 || !strings.Contains(late.res.Errors[0], want) ||
		!strings.HasPrefix(late.res.Errors[0], "timed out after ") {
		t.Errorf("timeout: state %s, errors %q; want one error with %q", late.res.State, late.res.Errors, want)
	}
}
