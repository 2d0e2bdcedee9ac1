//go:build olmnode

package olmnode

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// catalogOperator is OLM's catalog operator Deployment (make olm-up).
const catalogOperator = "catalog-operator"

// TestUpgradeSurvivesFaults: the default channel's last hop (the release
// the head replaces, to the head) with the pieces it depends on failing
// under it: as the upgrade is approved, the catalog's registry pod is
// deleted; OLM's catalog operator is killed as the InstallPlan leaves
// RequiresApproval (it runs the plan); then the new operator pod is killed
// during its own rollout.
// The upgrade completes, the Memcached keeps its spec and its pods their
// data. Then, with the Subscription in place, its CatalogSource is deleted
// (the Subscription's condition names it) and recreated (the Subscription
// is healthy again); and a CatalogSource of a catalog image that does not
// exist is diagnosed by that image.
func TestUpgradeSurvivesFaults(t *testing.T) {
	_, e := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), channelTimeout)
	defer cancel()
	from := replacedByHead(t, framework.Env(t, "CATALOG_DIR", "test-olm-node"), e.channel, e.csv)
	u := &upgrade{env: *e, channel: e.channel}
	t.Cleanup(func() { e.waitCatalogOperator(context.Background(), t) })

	t.Run("upgrade", func(t *testing.T) { u.faultyHop(ctx, t, from) })
	t.Run("catalog source deleted", func(t *testing.T) { u.catalogSourceDeleted(ctx, t) })
	t.Run("catalog image missing", func(t *testing.T) { u.catalogImageMissing(ctx, t) })
}

// faultyHop installs from, then upgrades to the head with faults injected.
func (u *upgrade) faultyHop(ctx context.Context, t *testing.T, from string) {
	row := framework.Reliability(t, "olm", "upgrade to the head with the catalog's registry pod deleted, OLM's catalog operator killed and the new operator pod killed under it")
	next := u.csv
	plan := u.install(ctx, t, from)
	before := framework.BeforeHop(ctx, t, framework.BeforeHopInput{Lane: u.lane, Memcached: u.mc, CSV: from})

	start := time.Now()
	plan = framework.ApprovePlan(ctx, t, framework.ApproveNextHopInput{Lane: u.lane, Namespace: u.ns, Subscription: u.sub, After: plan, Want: next})
	registry := u.killPods(ctx, t, u.ns, client.MatchingLabels{catalogSourceLabel: u.pkg + "-catalog"})
	phase := u.waitPlanStarted(ctx, t, plan)
	killedOLM := u.killPods(ctx, t, olmNamespace, client.MatchingLabels{"app": catalogOperator})
	t.Logf("approved %s; killed registry pods %v at once, and catalog operator pods %v with the InstallPlan %s", plan, registry, killedOLM, phase)

	rolling, killedAt := u.killRolloutPod(ctx, t, next)
	t.Logf("killed the new operator pod %s during the rollout, %s after the approval", rolling, killedAt.Round(100*time.Millisecond))

	framework.WaitForInstalled(ctx, t, framework.WaitForInstalledInput{Lane: u.lane, Namespace: u.ns, Subscription: u.sub, CSV: next})
	rolled := time.Since(start)
	data := "its pods replaced (the release changes the operand) and serving"
	if framework.HopLanded(ctx, t, framework.HopLandedInput{Lane: u.lane, Memcached: u.mc, CSV: next, Before: before}) == before.Operand {
		data = "its pods kept, with their data"
	}
	u.waitCatalogOperator(ctx, t)
	if err := u.olm.WaitForCatalog(within(ctx, t, catalogTimeout), u.ns, u.pkg+"-catalog"); err != nil {
		t.Fatal(err)
	}
	// What the release before granted (cluster-wide, in 0.3.1) went with
	// its CSV: the upgraded operator holds what a fresh install does.
	checks, wrong := u.checkCanI(ctx, t, u.ns)
	t.Logf("after the upgrade: %d can-i checks, %d wrong", checks, wrong)
	row.Run(!t.Failed())
	row.Figuref("%s -> %s: registry pod killed at the approval, catalog operator as the InstallPlan left RequiresApproval (it was %s), the new operator pod %.1f s after; CSV Succeeded and OLM's operator pod running the new image %.1f s after the approval; the Memcached kept its spec, %s; the upgraded operator's ServiceAccount passes the %d can-i checks of a fresh install",
		from, next, phase, killedAt.Seconds(), rolled.Seconds(), data, checks)
}

// catalogSourceDeleted deletes the Subscription's CatalogSource and makes it
// again.
func (u *upgrade) catalogSourceDeleted(ctx context.Context, t *testing.T) {
	row := framework.Reliability(t, "olm", "CatalogSource deleted under a Subscription, then recreated")
	if u.sub == "" {
		t.Skip("the upgrade did not get as far as a Subscription")
	}
	source := u.pkg + "-catalog"
	start := time.Now()
	if err := u.k8s.Delete(ctx, &operatorsv1alpha1.CatalogSource{ObjectMeta: metav1.ObjectMeta{Name: source, Namespace: u.ns}}); err != nil {
		t.Fatal(err)
	}
	missing := u.waitSubscriptionCatalogHealth(ctx, t, source, true)
	noticed := time.Since(start)
	t.Logf("the Subscription says, %s after the deletion: %s", noticed.Round(100*time.Millisecond), missing)

	start = time.Now()
	u.lane.CreateCatalogSource(ctx, t, u.ns, source)
	if err := u.olm.WaitForCatalog(within(ctx, t, catalogTimeout), u.ns, source); err != nil {
		t.Fatal(err)
	}
	healthy := u.waitSubscriptionCatalogHealth(ctx, t, source, false)
	recovered := time.Since(start)
	sub := &operatorsv1alpha1.Subscription{}
	if err := u.k8s.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: u.sub}, sub); err != nil {
		t.Fatal(err)
	}
	if sub.Status.InstalledCSV != u.csv {
		t.Errorf("after the CatalogSource came back the Subscription has installed %q, want %q", sub.Status.InstalledCSV, u.csv)
	}
	t.Logf("recreated: %s after, the Subscription says %s (state %s)", recovered.Round(100*time.Millisecond), healthy, sub.Status.State)
	row.Run(!t.Failed())
	row.Figuref("the Subscription's CatalogSourcesUnhealthy said %q %.1f s after the deletion; recreated, the catalog connected and the condition cleared %.1f s after, the installed CSV unchanged",
		missing, noticed.Seconds(), recovered.Seconds())
}

// catalogImageMissing: a CatalogSource of an image the registry does not
// have never connects; the wait ends once the node has given up pulling
// (back-off), naming the image and the node's pull failure.
func (u *upgrade) catalogImageMissing(ctx context.Context, t *testing.T) {
	row := framework.Reliability(t, "olm", "a CatalogSource of a catalog image that does not exist")
	missing := u.catalogImage + "-no-such-tag"
	name := "missing-catalog"
	cs := &operatorsv1alpha1.CatalogSource{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: u.ns},
		Spec:       operatorsv1alpha1.CatalogSourceSpec{SourceType: operatorsv1alpha1.SourceTypeGrpc, Image: missing, DisplayName: "missing"},
	}
	if err := u.k8s.Create(ctx, cs); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = u.k8s.Delete(context.Background(), cs) })
	start := time.Now()
	err := u.olm.WaitForCatalog(within(ctx, t, diagnosisTimeout), u.ns, name)
	if err == nil {
		t.Fatalf("CatalogSource %s of %s connected", name, missing)
	}
	msg := err.Error()
	if !strings.Contains(msg, missing) || !strings.Contains(strings.ToLower(msg), "pull") {
		t.Errorf("the diagnosis does not name the image %s and the pull failure:\n%s", missing, msg)
	}
	line := ""
	for _, l := range strings.Split(msg, "\n") {
		if strings.Contains(l, "registry pod") {
			line = strings.TrimSpace(l)
			break
		}
	}
	row.Run(!t.Failed())
	row.Figuref("the wait ended after %.0f s: %s", time.Since(start).Seconds(), line)
}

// waitPlanStarted waits, polling fast, for the approved plan to leave
// RequiresApproval (the catalog operator runs it), and returns its phase.
func (u *upgrade) waitPlanStarted(ctx context.Context, t *testing.T, plan string) string {
	t.Helper()
	var phase operatorsv1alpha1.InstallPlanPhase
	err := wait.For(ctx, wait.Options{What: "InstallPlan " + plan + " to start", Timeout: installTimeout, Interval: 20 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			ip := &operatorsv1alpha1.InstallPlan{}
			if err := u.k8s.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: plan}, ip); err != nil {
				return false, "", err
			}
			phase = ip.Status.Phase
			return phase != operatorsv1alpha1.InstallPlanPhaseRequiresApproval, string(phase), nil
		})
	if err != nil {
		t.Fatal(err)
	}
	return string(phase)
}

// killPods deletes the pods sel picks in ns at once (no grace period: the
// process is killed) and names them.
func (u *upgrade) killPods(ctx context.Context, t *testing.T, ns string, sel client.MatchingLabels) []string {
	t.Helper()
	pods := &corev1.PodList{}
	if err := u.k8s.List(ctx, pods, client.InNamespace(ns), sel); err != nil {
		t.Fatal(err)
	}
	if len(pods.Items) == 0 {
		t.Fatalf("no pod %v in %s to kill", sel, ns)
	}
	var names []string
	for _, p := range pods.Items {
		if err := u.k8s.Delete(ctx, &p, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
			t.Fatal(err)
		}
		names = append(names, p.Name)
	}
	return names
}

// killRolloutPod waits for OLM's Deployment of csvName to start a pod of the
// new operator image and kills it; it returns the pod and when, after the
// test's start of the hop.
func (u *upgrade) killRolloutPod(ctx context.Context, t *testing.T, csvName string) (string, time.Duration) {
	t.Helper()
	start := time.Now()
	image := u.operatorImageOf(ctx, t, csvName)
	var pod *corev1.Pod
	err := wait.For(ctx, wait.Options{What: "a pod of " + image + " in the rollout", Timeout: installTimeout, Interval: 200 * time.Millisecond},
		func(ctx context.Context) (bool, string, error) {
			pods := &corev1.PodList{}
			if err := u.k8s.List(ctx, pods, client.InNamespace(u.ns), client.MatchingLabels{"control-plane": "controller-manager"}); err != nil {
				return false, "", err
			}
			for i := range pods.Items {
				if p := &pods.Items[i]; p.Spec.Containers[0].Image == image && p.DeletionTimestamp == nil {
					pod = p
					return true, "", nil
				}
			}
			return false, fmt.Sprintf("%d operator pods, none of %s", len(pods.Items), image), nil
		})
	if err != nil {
		t.Fatal(err)
	}
	if err := u.k8s.Delete(ctx, pod, client.GracePeriodSeconds(0)); client.IgnoreNotFound(err) != nil {
		t.Fatal(err)
	}
	return pod.Name, time.Since(start)
}

// operatorImageOf is the operator image the CSV deploys.
func (u *upgrade) operatorImageOf(ctx context.Context, t *testing.T, csvName string) string {
	t.Helper()
	var image string
	err := wait.For(ctx, wait.Options{What: "ClusterServiceVersion " + csvName, Timeout: installTimeout}, func(ctx context.Context) (bool, string, error) {
		c := &operatorsv1alpha1.ClusterServiceVersion{}
		if err := u.k8s.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: csvName}, c); err != nil {
			return false, err.Error(), nil
		}
		for _, d := range c.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
			image = d.Spec.Template.Spec.Containers[0].Image
			return true, "", nil
		}
		return false, "no deployment in the CSV", nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return image
}

// waitSubscriptionCatalogHealth waits for the Subscription's
// CatalogSourcesUnhealthy condition to be unhealthy (naming source) or
// healthy, and returns its message.
func (u *upgrade) waitSubscriptionCatalogHealth(ctx context.Context, t *testing.T, source string, unhealthy bool) string {
	t.Helper()
	want := corev1.ConditionFalse
	if unhealthy {
		want = corev1.ConditionTrue
	}
	var msg string
	what := fmt.Sprintf("Subscription %s condition %s=%s", u.sub, operatorsv1alpha1.SubscriptionCatalogSourcesUnhealthy, want)
	err := wait.For(ctx, wait.Options{What: what, Timeout: catalogTimeout}, func(ctx context.Context) (bool, string, error) {
		sub := &operatorsv1alpha1.Subscription{}
		if err := u.k8s.Get(ctx, client.ObjectKey{Namespace: u.ns, Name: u.sub}, sub); err != nil {
			return false, "", err
		}
		c := sub.Status.GetCondition(operatorsv1alpha1.SubscriptionCatalogSourcesUnhealthy)
		msg = c.Message
		ok := c.Status == want && (!unhealthy || strings.Contains(c.Message, source))
		return ok, fmt.Sprintf("%s %s: %s", c.Status, c.Reason, c.Message), nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return msg
}

// waitCatalogOperator waits until OLM's catalog operator is available again,
// for the tests after this one.
func (e *env) waitCatalogOperator(ctx context.Context, t *testing.T) {
	t.Helper()
	key := client.ObjectKey{Namespace: olmNamespace, Name: catalogOperator}
	if err := wait.DeploymentRolledOut(ctx, e.k8s, key, wait.Options{What: "OLM's catalog operator available", Timeout: catalogTimeout}); err != nil {
		t.Error(err)
	}
}
