package scorecard

import (
	"context"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"k8s.io/apimachinery/pkg/labels"
	"sigs.k8s.io/yaml"
)

// LoadConfig reads a v1alpha3 Configuration (bundle/tests/scorecard/config.yaml).
func LoadConfig(path string) (*v1alpha3.Configuration, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	cfg := &v1alpha3.Configuration{}
	if err := yaml.UnmarshalStrict(b, cfg); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if cfg.Kind != v1alpha3.ConfigurationKind {
		return nil, fmt.Errorf("%s: kind %q, want %s", path, cfg.Kind, v1alpha3.ConfigurationKind)
	}
	for i, st := range cfg.Stages {
		for j, tc := range st.Tests {
			if len(tc.Entrypoint) == 0 {
				return nil, fmt.Errorf("%s: stages[%d].tests[%d] has no entrypoint", path, i, j)
			}
		}
	}
	return cfg, nil
}

// TestName is the test a configured entry runs: the last entrypoint word,
// as the test image reads it.
func TestName(tc v1alpha3.TestConfiguration) string {
	return tc.Entrypoint[len(tc.Entrypoint)-1]
}

// RunConfig runs the configured tests the selector picks in-process, stage by
// stage; the tests of a parallel stage run at once. Each test has waitTime.
func RunConfig(ctx context.Context, cfg *v1alpha3.Configuration, selector labels.Selector, waitTime time.Duration, env *Env) v1alpha3.TestList {
	return RunStages(ctx, cfg, selector, waitTime, func(ctx context.Context, tc v1alpha3.TestConfiguration) v1alpha3.TestStatus {
		return v1alpha3.TestStatus{Results: []v1alpha3.TestResult{Run(ctx, TestName(tc), env)}}
	})
}

// ErrWaitTime is the cause of a test's context ending at its wait time;
// any other cause means the whole run was stopped.
var ErrWaitTime = errors.New("the test's wait time is over")

// TestFunc runs one configured test and returns its status; its context ends
// at the test's wait time (cause ErrWaitTime) or when the run is stopped.
type TestFunc func(ctx context.Context, tc v1alpha3.TestConfiguration) v1alpha3.TestStatus

// RunStages is what every runner shares (in-process, pods): the tests the
// selector picks, stage by stage, a parallel stage's tests at once, each
// given waitTime, in the configuration's order.
func RunStages(ctx context.Context, cfg *v1alpha3.Configuration, selector labels.Selector, waitTime time.Duration, run TestFunc) v1alpha3.TestList {
	list := v1alpha3.NewTestList()
	for _, stage := range cfg.Stages {
		selected := Select(stage, selector)
		results := make([]v1alpha3.Test, len(selected))
		var wg sync.WaitGroup
		for i, tc := range selected {
			one := func() {
				tctx, cancel := context.WithTimeoutCause(ctx, waitTime, ErrWaitTime)
				defer cancel()
				test := v1alpha3.NewTest()
				test.Spec = tc
				test.Status = run(tctx, tc)
				results[i] = test
			}
			if stage.Parallel {
				wg.Add(1)
				go func() { defer wg.Done(); one() }()
			} else {
				one()
			}
		}
		wg.Wait()
		list.Items = append(list.Items, results...)
	}
	return list
}

// Select lists the tests of a stage the selector picks.
func Select(stage v1alpha3.StageConfiguration, selector labels.Selector) []v1alpha3.TestConfiguration {
	var selected []v1alpha3.TestConfiguration
	for _, tc := range stage.Tests {
		if selector.Matches(labels.Set(tc.Labels)) {
			selected = append(selected, tc)
		}
	}
	return selected
}

// Passed says whether every result passed.
func Passed(list v1alpha3.TestList) bool {
	for _, t := range list.Items {
		for _, r := range t.Status.Results {
			if r.State != v1alpha3.PassState {
				return false
			}
		}
	}
	return true
}

// Write prints a TestList as text, json (a v1alpha3 TestList) or xunit.
func Write(w io.Writer, list v1alpha3.TestList, format string) error {
	switch format {
	case "text":
		for _, t := range list.Items {
			fmt.Fprint(w, t.MarshalText())
		}
		return nil
	case "json":
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(list)
	case "xunit":
		return writeXUnit(w, list)
	}
	return fmt.Errorf("output %q: want text, json or xunit", format)
}

type xunitSuites struct {
	XMLName xml.Name     `xml:"testsuites"`
	Name    string       `xml:"name,attr"`
	Suites  []xunitSuite `xml:"testsuite"`
}

type xunitSuite struct {
	Name     string      `xml:"name,attr"`
	Tests    int         `xml:"tests,attr"`
	Failures int         `xml:"failures,attr"`
	Errors   int         `xml:"errors,attr"`
	Cases    []xunitCase `xml:"testcase"`
}

type xunitCase struct {
	Name      string        `xml:"name,attr"`
	ClassName string        `xml:"classname,attr"`
	Failure   *xunitMessage `xml:"failure,omitempty"`
	Error     *xunitMessage `xml:"error,omitempty"`
	SystemOut string        `xml:"system-out,omitempty"`
}

type xunitMessage struct {
	Message string `xml:"message,attr"`
	Text    string `xml:",chardata"`
}

// writeXUnit groups results into one testsuite per suite label.
func writeXUnit(w io.Writer, list v1alpha3.TestList) error {
	out := xunitSuites{Name: "scorecard"}
	index := map[string]int{}
	for _, t := range list.Items {
		suite := t.Spec.Labels["suite"]
		i, ok := index[suite]
		if !ok {
			i = len(out.Suites)
			index[suite] = i
			out.Suites = append(out.Suites, xunitSuite{Name: suite})
		}
		s := &out.Suites[i]
		for _, r := range t.Status.Results {
			c := xunitCase{Name: r.Name, ClassName: suite, SystemOut: r.Log}
			msg := &xunitMessage{Message: strings.Join(r.Errors, "; "), Text: strings.Join(append(r.Errors, r.Suggestions...), "\n")}
			switch r.State {
			case v1alpha3.FailState:
				c.Failure = msg
				s.Failures++
			case v1alpha3.ErrorState:
				c.Error = msg
				s.Errors++
			}
			s.Tests++
			s.Cases = append(s.Cases, c)
		}
	}
	if _, err := io.WriteString(w, xml.Header); err != nil {
		return err
	}
	enc := xml.NewEncoder(w)
	enc.Indent("", "  ")
	if err := enc.Encode(out); err != nil {
		return err
	}
	_, err := io.WriteString(w, "\n")
	return err
}
