package reliability

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/localcluster"
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
// holds their pods), and every way users get a Memcached wrong (inputKinds).
func genInput(r *rand.Rand, i int) badInput {
	name := fmt.Sprintf("in-%d", i)
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "cache.example.com/v1", "kind": "Memcached",
		"metadata": map[string]any{"name": name, "namespace": inputNamespace},
		"spec":     map[string]any{"size": int64(r.IntN(3))},
	}}
	k := inputKinds[i%len(inputKinds)]
	in := badInput{kind: k.kind, obj: obj}
	in.names = k.make(inputDraw{r: r, obj: obj, name: name})
	return in
}

// inputDraw is what an input kind changes: the object, with its spec and
// metadata at hand, and the draws it makes.
type inputDraw struct {
	r    *rand.Rand
	obj  *unstructured.Unstructured
	name string
}

func (d inputDraw) spec() map[string]any { return d.obj.Object["spec"].(map[string]any) }
func (d inputDraw) meta() map[string]any { return d.obj.Object["metadata"].(map[string]any) }

// word is a random lower-case word of 3 to 10 letters.
func (d inputDraw) word() string {
	const letters = "abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 3+d.r.IntN(8))
	for j := range b {
		b[j] = letters[d.r.IntN(len(letters))]
	}
	return string(b)
}

// inputKinds are the 12 kinds of input, in turn: types, ranges, unknown
// fields, names, apiVersions, oversized metadata. make changes the object
// and returns what a clear refusal must name (empty: it is valid and must
// be reconciled).
var inputKinds = []struct {
	kind string
	make func(d inputDraw) string
}{
	{"valid", func(inputDraw) string { return "" }},
	{"size out of range", func(d inputDraw) string {
		d.spec()["size"] = []any{int64(-1), int64(101), int64(1<<31 - 1), int64(-1 << 31), int64(1 << 40)}[d.r.IntN(5)]
		return "spec.size"
	}},
	{"size of the wrong type", func(d inputDraw) string {
		d.spec()["size"] = []any{"3", 2.5, true, []any{int64(1)}, map[string]any{"n": int64(1)}}[d.r.IntN(5)]
		return "spec.size"
	}},
	{"size missing", func(d inputDraw) string { delete(d.spec(), "size"); return "spec.size" }},
	{"unknown field in spec", func(d inputDraw) string { f := d.word(); d.spec()[f] = d.word(); return "spec." + f }},
	{"unknown top-level field", func(d inputDraw) string { f := d.word(); d.obj.Object[f] = map[string]any{"x": int64(1)}; return f }},
	{"name over 253 characters", func(d inputDraw) string {
		d.meta()["name"] = strings.Repeat("m", 254+d.r.IntN(100))
		return "metadata.name"
	}},
	{"name not a DNS subdomain", func(d inputDraw) string {
		d.meta()["name"] = []string{"Upper-" + d.name, d.name + "_x", "-" + d.name, d.name + "."}[d.r.IntN(4)]
		return "metadata.name"
	}},
	{"wrong apiVersion", func(d inputDraw) string {
		d.obj.SetAPIVersion([]string{"cache.example.com/v2", "cache.example.com/v1alpha1", "example.com/v1"}[d.r.IntN(3)])
		return d.obj.GetAPIVersion()
	}},
	{"annotations over 256 KiB", func(d inputDraw) string {
		d.meta()["annotations"] = map[string]any{"big": strings.Repeat("a", 256*1024+d.r.IntN(1024))}
		return "metadata.annotations"
	}},
	// Status is the operator's: the API server drops it on create.
	{"status set by the user (dropped)", func(d inputDraw) string {
		d.obj.Object["status"] = map[string]any{"readyReplicas": int64(9), "nodes": []any{"forged"}}
		return ""
	}},
	// A long but valid name: it names the Deployment and labels its pods.
	{"name of 64 to 253 characters", func(d inputDraw) string {
		d.meta()["name"] = d.name + "-" + strings.Repeat("n", 60+d.r.IntN(150))
		return ""
	}},
}

// InputScenarios: bad input against the real API server.
func InputScenarios() []Scenario {
	return []Scenario{
		{Name: "generated", Injects: "generated Memcacheds of 12 kinds (wrong types, ranges, unknown fields, names, apiVersions, oversized metadata, and valid ones) created with strict field validation, the operator running",
			Checks: "each invalid one is refused naming the field; each valid one is reconciled (Available, or Degraded with a reason); afterwards the operator neither crashed nor hot-loops", Run: one(generatedInput)},
	}
}

// inputTally counts per kind: tried, refused clearly, accepted and handled.
type inputTally map[string][3]int

func (t inputTally) add(kind string, field int) {
	v := t[kind]
	v[field]++
	t[kind] = v
}

// generatedInput sends generated Memcacheds to a real API server with the
// operator running: each is refused by the schema with a message naming
// the field, or reconciled; the operator does not crash or hot-loop.
func generatedInput(o Options) (Row, error) {
	n := 1000
	if o.Fast {
		n = 120
	}
	s := Row{Group: "input", Name: fmt.Sprintf("%d generated Memcacheds (12 kinds of input) against the real API server, operator running", n)}
	c := localcluster.New("reliability-input", o.Work+"/input", "CLUSTER_NODES=3")
	defer c.Down()
	k8s, err := c.Up()
	if err != nil {
		return s, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	op, err := startManager(ctx, c, o.Bin, nil)
	if err != nil {
		return s, err
	}
	defer op.stop()
	if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: inputNamespace}}); err != nil {
		return s, err
	}
	tally := inputTally{}
	accepted := createInputs(ctx, k8s, o, n, &s, tally)
	if err := checkReconciled(ctx, k8s, accepted, &s, tally); err != nil {
		return s, err
	}
	settled, err := checkSettled(op, len(accepted), &s)
	if err != nil {
		return s, err
	}
	var parts []string
	for _, k := range sortedKeys(tally) {
		t := tally[k]
		parts = append(parts, fmt.Sprintf("%s %d/%d/%d", k, t[0], t[1], t[2]))
	}
	s.Figure = fmt.Sprintf("tried/refused clearly/accepted and handled: %s; %s", strings.Join(parts, ", "), settled)
	return s, nil
}

// createInputs creates n generated objects, each refused naming its field
// or accepted when valid, and returns those accepted.
func createInputs(ctx context.Context, k8s client.Client, o Options, n int, s *Row, tally inputTally) []badInput {
	var accepted []badInput
	for i := 0; i < n; i++ {
		in := genInput(o.Rand, i)
		tally.add(in.kind, 0)
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
			tally.add(in.kind, 1)
			s.Passed++
		}
	}
	return accepted
}

// checkReconciled waits until every accepted one is reconciled: its status
// is for its generation and says Available, or Degraded with the reason.
// A timeout is a finding (the unreconciled ones fail); any other error
// ends the group.
func checkReconciled(ctx context.Context, k8s client.Client, accepted []badInput, s *Row, tally inputTally) error {
	handled := map[string]bool{}
	err := wait.For(ctx, wait.Options{What: "every accepted Memcached to be reconciled", Timeout: 5 * time.Minute, Interval: 2 * time.Second},
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
	var timedOut *wait.Error
	if err != nil && !errors.As(err, &timedOut) {
		return err
	}
	for _, in := range accepted {
		if handled[client.ObjectKeyFromObject(in.obj).String()] {
			tally.add(in.kind, 2)
			s.Passed++
		} else {
			s.Fail("%s (%s) was accepted but never reconciled", shortName(in.obj.GetName()), in.kind)
		}
	}
	return nil
}

// checkSettled: once every Memcached settled, the operator runs and does
// not reconcile in a loop; it says how many reconciles it counted.
func checkSettled(op *manager, accepted int, s *Row) (string, error) {
	const metric = "controller_runtime_reconcile_total"
	before, err := op.metrics.Sum(metric)
	if err != nil {
		return "", err
	}
	settle := 30 * time.Second
	time.Sleep(settle)
	after, err := op.metrics.Sum(metric)
	if err != nil {
		return "", fmt.Errorf("the operator stopped answering (crashed?): %w", err)
	}
	select {
	case <-op.Exited():
		s.Fail("the operator exited")
	default:
	}
	if reconciles := after - before; reconciles > float64(accepted)/10+10 {
		s.Fail("hot loop: %.0f reconciles in %s after every Memcached settled", reconciles, settle)
	}
	return fmt.Sprintf("%.0f reconciles in the %s after", after-before, settle), nil
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
