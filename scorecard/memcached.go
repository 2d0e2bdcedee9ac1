package scorecard

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/pod-security-admission/api"
	"k8s.io/pod-security-admission/policy"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/controller"
	"github.com/example-inc/memcached-operator/internal/readiness"
)

// newMemcached creates the CSV's Memcached example under a unique name in
// the test namespace, with size when size >= 0; a cleanup deletes it, also
// when the test is stopped (wait time over, test pod deleted).
func newMemcached(ctx context.Context, t *T, size int32) *cachev1.Memcached {
	var ex map[string]any
	for _, e := range examples(t) {
		if e.GetKind() == "Memcached" {
			ex = e.Object
		}
	}
	if ex == nil {
		t.Failf("alm-examples has no Memcached")
		return nil
	}
	b, _ := json.Marshal(ex)
	mc := &cachev1.Memcached{}
	if err := json.Unmarshal(b, mc); err != nil {
		t.Failf("the Memcached example does not decode: %v", err)
		return nil
	}
	mc.Name = fmt.Sprintf("%s-%04x", mc.Name, rand.IntN(1<<16))
	mc.Namespace = t.Env.Namespace
	if size >= 0 {
		mc.Spec.Size = size
	}
	if err := t.Env.Client.Create(ctx, mc); err != nil {
		t.Errorf("create Memcached %s/%s: %v", mc.Namespace, mc.Name, err)
		return nil
	}
	t.Logf("created Memcached %s/%s with size %d", mc.Namespace, mc.Name, mc.Spec.Size)
	t.Cleanup(func(ctx context.Context) {
		if err := t.Env.Client.Delete(ctx, mc); client.IgnoreNotFound(err) != nil {
			t.Errorf("delete Memcached %s/%s: %v", mc.Namespace, mc.Name, err)
			return
		}
		t.Logf("deleted Memcached %s/%s", mc.Namespace, mc.Name)
	})
	return mc
}

// waitReconciled waits until the Memcached is ready by the one definition
// (internal/readiness): the Deployment at size, that many pods Ready,
// status.nodes naming exactly them, Available true, for the current generation.
// The spec it is judged against is the one the test just wrote.
func waitReconciled(ctx context.Context, t *T, mc *cachev1.Memcached, size int32) bool {
	return t.Wait(ctx, fmt.Sprintf("Memcached %s to run %d ready pods", mc.Name, size), func(ctx context.Context) (bool, string, error) {
		return readiness.Check(ctx, t.Env.Client, client.ObjectKeyFromObject(mc), readiness.AllFields)
	})
}

func exampleReconciles(ctx context.Context, t *T) {
	mc := newMemcached(ctx, t, -1)
	if mc != nil {
		waitReconciled(ctx, t, mc, mc.Spec.Size)
	}
}

func scaling(ctx context.Context, t *T) {
	mc := newMemcached(ctx, t, 1)
	if mc == nil || !waitReconciled(ctx, t, mc, 1) {
		return
	}
	for _, size := range []int32{3, 0} {
		patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"spec":{"size":%d}}`, size)))
		if err := t.Env.Client.Patch(ctx, mc, patch); err != nil {
			t.Errorf("scale to %d: %v", size, err)
			return
		}
		if !waitReconciled(ctx, t, mc, size) {
			return
		}
	}
}

func recovers(ctx context.Context, t *T) {
	mc := newMemcached(ctx, t, 1)
	if mc == nil || !waitReconciled(ctx, t, mc, 1) {
		return
	}
	dep := &appsv1.Deployment{}
	if err := t.Env.Client.Get(ctx, client.ObjectKeyFromObject(mc), dep); err != nil {
		t.Errorf("%v", err)
		return
	}
	if err := t.Env.Client.Delete(ctx, dep); err != nil {
		t.Errorf("delete Deployment %s: %v", dep.Name, err)
		return
	}
	t.Wait(ctx, "the deleted Deployment to come back", func(ctx context.Context) (bool, string, error) {
		now := &appsv1.Deployment{}
		if err := t.Env.Client.Get(ctx, client.ObjectKeyFromObject(mc), now); err != nil {
			return false, "Deployment " + dep.Name + ": " + err.Error(), nil
		}
		return now.UID != dep.UID, "Deployment " + dep.Name + " is still the deleted one", nil
	})
	waitReconciled(ctx, t, mc, 1)
}

// podsRestricted evaluates the memcached pods with the Pod Security
// Admission library at the restricted level.
func podsRestricted(ctx context.Context, t *T) {
	mc := newMemcached(ctx, t, 1)
	if mc == nil || !waitReconciled(ctx, t, mc, 1) {
		return
	}
	pods := &corev1.PodList{}
	if err := t.Env.Client.List(ctx, pods, client.InNamespace(mc.Namespace), client.MatchingLabels{controller.LabelInstance: mc.Name}); err != nil {
		t.Errorf("%v", err)
		return
	}
	if len(pods.Items) == 0 {
		t.Failf("Memcached %s has no pods to check", mc.Name)
	}
	for _, p := range pods.Items {
		for _, msg := range RestrictedViolations(&p) {
			t.Failf("pod %s: %s", p.Name, msg)
		}
	}
}

// RestrictedViolations lists why a pod would not be admitted under the
// restricted Pod Security Standard (latest version).
func RestrictedViolations(p *corev1.Pod) []string {
	evaluator, err := policy.NewEvaluator(policy.DefaultChecks(), nil)
	if err != nil {
		return []string{err.Error()}
	}
	res := policy.AggregateCheckResults(evaluator.EvaluatePod(api.LevelVersion{Level: api.LevelRestricted, Version: api.LatestVersion()}, &p.ObjectMeta, &p.Spec))
	var out []string
	for i, reason := range res.ForbiddenReasons {
		out = append(out, strings.TrimSpace(reason+" "+res.ForbiddenDetails[i]))
	}
	return out
}
