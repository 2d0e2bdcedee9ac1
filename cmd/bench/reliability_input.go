package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// badInput is one generated Memcached: the object, and what a clear
// refusal must name (empty: it is valid and must be reconciled).
type badInput struct {
	kind  string
	obj   *unstructured.Unstructured
	names string
}

const inputNamespace = "input"

// genInput makes the i-th object: valid ones of size 0 to 2 (the cluster
// holds their pods), and every way users get a Memcached wrong: types,
// ranges, unknown fields, names, apiVersions, oversized metadata.
func genInput(r *rand.Rand, i int) badInput {
	name := fmt.Sprintf("in-%d", i)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cache.example.com/v1", "kind": "Memcached",
		"metadata": map[string]any{"name": name, "namespace": inputNamespace},
		"spec":     map[string]any{"size": int64(r.IntN(3))},
	}}
	spec := obj.Object["spec"].(map[string]any)
	meta := obj.Object["metadata"].(map[string]any)
	word := func() string {
		const letters = "abcdefghijklmnopqrstuvwxyz"
		b := make([]byte, 3+r.IntN(8))
		for j := range b {
			b[j] = letters[r.IntN(len(letters))]
		}
		return string(b)
	}
	switch i % 12 {
	case 0:
		return badInput{kind: "valid", obj: obj}
	case 1:
		spec["size"] = []any{int64(-1), int64(101), int64(1<<31 - 1), int64(-1 << 31), int64(1 << 40)}[r.IntN(5)]
		return badInput{kind: "size out of range", obj: obj, names: "spec.size"}
	case 2:
		spec["size"] = []any{"3", 2.5, true, []any{int64(1)}, map[string]any{"n": int64(1)}}[r.IntN(5)]
		return badInput{kind: "size of the wrong type", obj: obj, names: "spec.size"}
	case 3:
		delete(spec, "size")
		return badInput{kind: "size missing", obj: obj, names: "spec.size"}
	case 4:
		f := word()
		spec[f] = word()
		return badInput{kind: "unknown field in spec", obj: obj, names: "spec." + f}
	case 5:
		f := word()
		obj.Object[f] = map[string]any{"x": int64(1)}
		return badInput{kind: "unknown top-level field", obj: obj, names: f}
	case 6:
		meta["name"] = strings.Repeat("m", 254+r.IntN(100))
		return badInput{kind: "name over 253 characters", obj: obj, names: "metadata.name"}
	case 7:
		meta["name"] = []string{"Upper-" + name, name + "_x", "-" + name, name + "."}[r.IntN(4)]
		return badInput{kind: "name not a DNS subdomain", obj: obj, names: "metadata.name"}
	case 8:
		obj.SetAPIVersion([]string{"cache.example.com/v2", "cache.example.com/v1alpha1", "example.com/v1"}[r.IntN(3)])
		return badInput{kind: "wrong apiVersion", obj: obj, names: obj.GetAPIVersion()}
	case 9:
		meta["annotations"] = map[string]any{"big": strings.Repeat("a", 256*1024+r.IntN(1024))}
		return badInput{kind: "annotations over 256 KiB", obj: obj, names: "metadata.annotations"}
	case 10:
		// Status is the operator's: the API server drops it on create.
		obj.Object["status"] = map[string]any{"readyReplicas": int64(9), "nodes": []any{"forged"}}
		return badInput{kind: "status set by the user (dropped)", obj: obj}
	default:
		// A long but valid name: it names the Deployment and labels its pods.
		meta["name"] = name + "-" + strings.Repeat("n", 60+r.IntN(150))
		return badInput{kind: "name of 64 to 253 characters", obj: obj}
	}
}

// inputGroup sends generated Memcacheds to a real API server with the
// operator running: each is refused by the schema with a message naming
// the field, or reconciled; the operator does not crash or hot-loop.
func inputGroup(o reliabilityOptions) ([]scenario, error) {
	n := 1000
	if o.Fast {
		n = 120
	}
	s := scenario{Group: "input", Name: fmt.Sprintf("%d generated Memcacheds (12 kinds of input) against the real API server, operator running", n)}
	c := newCluster("reliability-input", o.Work+"/input", "CLUSTER_NODES=3")
	c.down()
	defer c.down()
	k8s, err := startCluster(c)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	op, err := startOperator(ctx, c, operatorOptions{Manager: o.Bin + "/manager"})
	if err != nil {
		return nil, err
	}
	defer op.stop()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: inputNamespace}}); err != nil {
		return nil, err
	}

	tally := map[string][3]int{} // kind -> tried, refused clearly, accepted and handled
	var accepted []badInput
	for i := 0; i < n; i++ {
		in := genInput(o.Rand, i)
		t := tally[in.kind]
		t[0]++
		s.Runs++
		err := k8s.Create(ctx, in.obj, client.FieldValidation(metav1.FieldValidationStrict))
		switch {
		case err == nil && in.names == "":
			accepted = append(accepted, in)
		case err == nil:
			s.Fail("%s (%s) was accepted; it should be refused naming %s", in.obj.GetName(), in.kind, in.names)
		case in.names == "":
			s.Fail("%s (%s) is valid but was refused: %v", shortName(in.obj.GetName()), in.kind, err)
		case !strings.Contains(err.Error(), in.names):
			s.Fail("%s (%s): the refusal does not name %s: %v", shortName(in.obj.GetName()), in.kind, in.names, err)
		default:
			t[1]++
			s.Passed++
		}
		tally[in.kind] = t
	}

	// Every accepted one is reconciled: its status is for its generation and
	// says Available, or Degraded with the reason.
	handled := map[string]bool{}
	err = wait.For(ctx, wait.Options{What: "every accepted Memcached to be reconciled", Timeout: 5 * time.Minute, Interval: 2 * time.Second},
		func(ctx context.Context) (bool, string, error) {
			for _, in := range accepted {
				key := client.ObjectKeyFromObject(in.obj)
				if handled[key.String()] {
					continue
				}
				mc := &cachev1.Memcached{}
				if err := k8s.Get(ctx, key, mc); err != nil {
					return false, "", err
				}
				if reconciledOrDegraded(mc) {
					handled[key.String()] = true
				}
			}
			return len(handled) == len(accepted), fmt.Sprintf("%d of %d reconciled", len(handled), len(accepted)), nil
		})
	// A timeout is a finding (the unreconciled ones fail below); any other
	// error ends the group.
	var timedOut *wait.Error
	if err != nil && !errors.As(err, &timedOut) {
		return nil, err
	}
	for _, in := range accepted {
		if handled[client.ObjectKeyFromObject(in.obj).String()] {
			t := tally[in.kind]
			t[2]++
			tally[in.kind] = t
			s.Passed++
		} else {
			s.Fail("%s (%s) was accepted but never reconciled", shortName(in.obj.GetName()), in.kind)
		}
	}

	// Settled: no crash, no hot loop.
	before, err := metricSum(op.metrics, "controller_runtime_reconcile_total")
	if err != nil {
		return nil, err
	}
	settle := 30 * time.Second
	time.Sleep(settle)
	after, err := metricSum(op.metrics, "controller_runtime_reconcile_total")
	if err != nil {
		return nil, fmt.Errorf("the operator stopped answering (crashed?): %w", err)
	}
	select {
	case <-op.Exited():
		s.Fail("the operator exited")
	default:
	}
	if reconciles := after - before; reconciles > float64(len(accepted))/10+10 {
		s.Fail("hot loop: %.0f reconciles in %s after every Memcached settled", reconciles, settle)
	}

	var parts []string
	for _, k := range sortedKeys(tally) {
		t := tally[k]
		parts = append(parts, fmt.Sprintf("%s %d/%d/%d", k, t[0], t[1], t[2]))
	}
	s.Figure = fmt.Sprintf("tried/refused clearly/accepted and handled: %s; %.0f reconciles in the %s after", strings.Join(parts, ", "), after-before, settle)
	return []scenario{s}, nil
}

// reconciledOrDegraded: status for the current generation, with Available
// True, or Degraded True with a reason.
func reconciledOrDegraded(mc *cachev1.Memcached) bool {
	if mc.Status.ObservedGeneration != mc.Generation {
		return false
	}
	if meta.IsStatusConditionTrue(mc.Status.Conditions, cachev1.ConditionAvailable) {
		return true
	}
	d := meta.FindStatusCondition(mc.Status.Conditions, cachev1.ConditionDegraded)
	return d != nil && d.Status == metav1.ConditionTrue && d.Reason != "" && d.Message != ""
}

func shortName(n string) string {
	if len(n) > 40 {
		return fmt.Sprintf("%s...(%d characters)", n[:20], len(n))
	}
	return n
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// metricSum is the sum of every series of a metric the operator serves.
func metricSum(m metricsEndpoint, name string) (float64, error) {
	resp, err := m.get()
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	var sum float64
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		l := sc.Text()
		if !strings.HasPrefix(l, name+"{") && !strings.HasPrefix(l, name+" ") {
			continue
		}
		f := strings.Fields(l)
		v, err := strconv.ParseFloat(f[len(f)-1], 64)
		if err == nil {
			sum += v
		}
	}
	return sum, sc.Err()
}
