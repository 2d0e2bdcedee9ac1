package olm

import (
	"context"
	"fmt"
	"sort"
	"strings"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/podstatus"
)

// Diagnose says what OLM reports about a Subscription and everything it
// leads to: the CatalogSource's connection, the Subscription's conditions,
// the InstallPlan's phase and failing steps, the CSV's phase, reason and
// message, and the install Deployments with their pods. This is what a
// person would look up by hand after "timed out waiting for CSV".
func (c *Client) Diagnose(ctx context.Context, ns, subName string) string {
	var b strings.Builder
	line := func(format string, args ...any) { fmt.Fprintf(&b, "  "+format+"\n", args...) }

	sub := &operatorsv1alpha1.Subscription{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: subName}, sub); err != nil {
		line("Subscription %s/%s: %v", ns, subName, err)
		return b.String()
	}
	b.WriteString(c.describeCatalogSource(ctx, sub.Spec.CatalogSourceNamespace, sub.Spec.CatalogSource))
	line("Subscription %s/%s: state %q, current CSV %q, installed CSV %q", ns, subName, sub.Status.State, sub.Status.CurrentCSV, sub.Status.InstalledCSV)
	for _, cond := range sub.Status.Conditions {
		if cond.Status == corev1.ConditionTrue || cond.Message != "" {
			line("  condition %s=%s %s: %s", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
	if sub.Status.InstallPlanRef == nil {
		line("  no InstallPlan yet: OLM has not resolved the Subscription (is there exactly one OperatorGroup in %s?)", ns)
	} else {
		c.describeInstallPlan(ctx, ns, sub.Status.InstallPlanRef.Name, line)
	}
	csvName := sub.Status.CurrentCSV
	if csvName == "" {
		return b.String()
	}
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: csvName}, csv); err != nil {
		line("ClusterServiceVersion %s: %v", csvName, err)
		return b.String()
	}
	line("ClusterServiceVersion %s: phase %s, reason %s: %s", csvName, csv.Status.Phase, csv.Status.Reason, csv.Status.Message)
	for _, r := range csv.Status.RequirementStatus {
		if r.Status != operatorsv1alpha1.RequirementStatusReasonPresent {
			line("  requirement %s %s: %s %s", r.Kind, r.Name, r.Status, r.Message)
		}
	}
	for _, d := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		c.describeDeployment(ctx, ns, d.Name, line)
	}
	return b.String()
}

func (c *Client) describeCatalogSource(ctx context.Context, ns, name string) string {
	cs := &operatorsv1alpha1.CatalogSource{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cs); err != nil {
		return fmt.Sprintf("  CatalogSource %s/%s: %v\n", ns, name, err)
	}
	state := "no connection state yet"
	if s := cs.Status.GRPCConnectionState; s != nil {
		state = fmt.Sprintf("connection %s to %s", s.LastObservedState, s.Address)
	}
	msg := ""
	if cs.Status.Message != "" {
		msg = ": " + cs.Status.Message
	}
	out := fmt.Sprintf("  CatalogSource %s/%s: %s%s\n", ns, name, state, msg)
	if cs.Spec.Image == "" {
		return out
	}
	// OLM runs the catalog image as registry pods: why they do not run
	// (an image that cannot be pulled) is why the connection is not READY.
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{CatalogSourceLabel: name}); err != nil {
		return out + fmt.Sprintf("    registry pods of %s: %v\n", cs.Spec.Image, err)
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for _, p := range pods.Items {
		out += fmt.Sprintf("    registry pod %s (%s): %s%s\n", p.Name, cs.Spec.Image, p.Status.Phase, podProblems(&p))
	}
	return out
}

// CatalogSourceLabel names the CatalogSource on the registry pods OLM runs
// for it.
const CatalogSourceLabel = "olm.catalogSource"

func (c *Client) describeInstallPlan(ctx context.Context, ns, name string, line func(string, ...any)) {
	ip := &operatorsv1alpha1.InstallPlan{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, ip); err != nil {
		line("InstallPlan %s/%s: %v", ns, name, err)
		return
	}
	line("InstallPlan %s/%s: phase %s, approved %t, installs %v", ns, name, ip.Status.Phase, ip.Spec.Approved, ip.Spec.ClusterServiceVersionNames)
	for _, cond := range ip.Status.Conditions {
		if cond.Status != corev1.ConditionTrue || cond.Message != "" {
			line("  condition %s=%s %s: %s", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
	if ip.Status.Phase == operatorsv1alpha1.InstallPlanPhaseRequiresApproval {
		line("  waiting for approval: approve it (spec.approved=true) or use automatic approval")
		return
	}
	for _, step := range ip.Status.Plan {
		if step == nil {
			continue
		}
		switch step.Status {
		case operatorsv1alpha1.StepStatusCreated, operatorsv1alpha1.StepStatusPresent:
		default:
			line("  step %s %s: %s", step.Resource.Kind, step.Resource.Name, step.Status)
		}
	}
}

func (c *Client) describeDeployment(ctx context.Context, ns, name string, line func(string, ...any)) {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d); err != nil {
		line("Deployment %s/%s: %v", ns, name, err)
		return
	}
	want := int32(1)
	if d.Spec.Replicas != nil {
		want = *d.Spec.Replicas
	}
	line("Deployment %s/%s: %d/%d available", ns, name, d.Status.AvailableReplicas, want)
	for _, cond := range d.Status.Conditions {
		if cond.Status != corev1.ConditionTrue {
			line("  condition %s=%s %s: %s", cond.Type, cond.Status, cond.Reason, cond.Message)
		}
	}
	sel, err := deploymentSelector(d)
	if err != nil {
		line("  pods: %v", err)
		return
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		line("  pods: %v", err)
		return
	}
	sort.Slice(pods.Items, func(i, j int) bool { return pods.Items[i].Name < pods.Items[j].Name })
	for _, p := range pods.Items {
		line("  pod %s: %s%s", p.Name, p.Status.Phase, podProblems(&p))
	}
}

// deploymentSelector selects the Deployment's pods by its whole selector,
// matchLabels and matchExpressions.
func deploymentSelector(d *appsv1.Deployment) (labels.Selector, error) {
	if d.Spec.Selector == nil {
		return labels.Everything(), nil
	}
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil {
		return nil, fmt.Errorf("Deployment %s/%s selector: %w", d.Namespace, d.Name, err)
	}
	return sel, nil
}

// podProblems lists why a pod is not ready (internal/podstatus), after "; ".
func podProblems(p *corev1.Pod) string {
	problems := podstatus.Problems(p)
	if len(problems) == 0 {
		return ""
	}
	return "; " + strings.Join(problems, "; ")
}
