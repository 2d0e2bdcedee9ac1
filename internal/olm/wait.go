package olm

import (
	"context"
	"fmt"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/podstatus"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// WaitForCatalog waits until OLM is connected to the CatalogSource. A
// registry pod OLM runs for a catalog image that cannot be pulled ends the
// wait at once, naming the image.
func (c *Client) WaitForCatalog(ctx context.Context, ns, name string) error {
	diagnose := func(ctx context.Context) string { return c.describeCatalogSource(ctx, ns, name) }
	o := c.waitOptions(fmt.Sprintf("CatalogSource %s/%s to connect", ns, name), diagnose)
	return wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
		cs := &operatorsv1alpha1.CatalogSource{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cs); err != nil {
			return false, "not found", client.IgnoreNotFound(err)
		}
		state := "no connection state yet"
		if s := cs.Status.GRPCConnectionState; s != nil {
			if s.LastObservedState == "READY" {
				return true, "", nil
			}
			state = "connection " + s.LastObservedState
		}
		if cs.Spec.Image == "" {
			return false, state, nil
		}
		pods := &corev1.PodList{}
		if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabels{CatalogSourceLabel: name}); err != nil {
			return false, state, err
		}
		for _, p := range pods.Items {
			if why, stuck := podstatus.Stuck(&p); stuck {
				return false, state, wait.Failed("CatalogSource %s/%s: its registry pod %s cannot run the catalog image %s: %s", ns, name, p.Name, cs.Spec.Image, why)
			}
		}
		return false, state, nil
	})
}

// ApproveNext waits for the InstallPlan the Subscription names to need
// approval and approves that one only: after an update conflict OLM can
// leave a second plan for the same step. It returns the plan's name and
// the CSVs it installs. A plan named there already approved (automatic
// approval) is returned as is.
func (c *Client) ApproveNext(ctx context.Context, ns, sub, after string) (string, []string, error) {
	return c.NextInstallPlan(ctx, ns, sub, after, true)
}

// NextInstallPlan waits for the Subscription to name an InstallPlan other
// than after that is ready to run or waits for approval, and approves it
// when approve is set. A failed plan ends the wait with the diagnosis.
func (c *Client) NextInstallPlan(ctx context.Context, ns, sub, after string, approve bool) (string, []string, error) {
	var plan *operatorsv1alpha1.InstallPlan
	var touched time.Time
	o := c.waitOptions(fmt.Sprintf("an InstallPlan for Subscription %s/%s", ns, sub), c.diagnoseSubscription(ns, sub))
	err := wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
		ip, s, state, err := c.namedInstallPlan(ctx, ns, sub, after)
		if ip == nil && s != nil && err == nil && time.Since(touched) >= resolveAgainEvery {
			var again bool
			if again, err = c.resolveAgain(ctx, s); again {
				touched = time.Now()
				state += "; OLM's resolution failed on a replaced CSV that is gone: resolving again"
			}
		}
		if ip == nil || err != nil {
			return false, state, err
		}
		switch ip.Status.Phase {
		case operatorsv1alpha1.InstallPlanPhaseFailed:
			return false, state, wait.Failed("InstallPlan %s/%s failed", ns, ip.Name)
		case operatorsv1alpha1.InstallPlanPhaseRequiresApproval:
			if approve && !ip.Spec.Approved {
				if done, err := c.approve(ctx, ip); !done || err != nil {
					return false, state, err
				}
			}
			plan = ip
			return true, state, nil
		case operatorsv1alpha1.InstallPlanPhaseInstalling, operatorsv1alpha1.InstallPlanPhaseComplete:
			plan = ip
			return true, state, nil
		}
		return false, state, nil
	})
	if err != nil {
		return "", nil, err
	}
	return plan.Name, plan.Spec.ClusterServiceVersionNames, nil
}

// namedInstallPlan reads the Subscription and the InstallPlan it names,
// unless that is after; nil (and a state saying why) while there is none yet.
func (c *Client) namedInstallPlan(ctx context.Context, ns, sub, after string) (*operatorsv1alpha1.InstallPlan, *operatorsv1alpha1.Subscription, string, error) {
	s := &operatorsv1alpha1.Subscription{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: sub}, s); err != nil {
		return nil, nil, "", err
	}
	ref := s.Status.InstallPlanRef
	if ref == nil {
		return nil, s, "the Subscription names no InstallPlan", nil
	}
	if ref.Name == after {
		return nil, s, "the Subscription still names InstallPlan " + after, nil
	}
	ip := &operatorsv1alpha1.InstallPlan{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, ip); err != nil {
		return nil, s, "InstallPlan " + ref.Name + " not found", client.IgnoreNotFound(err)
	}
	return ip, s, fmt.Sprintf("InstallPlan %s phase %q", ip.Name, ip.Status.Phase), nil
}

// approve sets spec.approved; done is false after an update conflict, so the
// wait reads the plan again.
func (c *Client) approve(ctx context.Context, ip *operatorsv1alpha1.InstallPlan) (done bool, err error) {
	patch := client.MergeFrom(ip.DeepCopy())
	ip.Spec.Approved = true
	if err := c.Patch(ctx, ip, patch); err != nil {
		if apierrors.IsConflict(err) {
			return false, nil
		}
		return false, fmt.Errorf("approve InstallPlan %s/%s: %w", ip.Namespace, ip.Name, err)
	}
	return true, nil
}

// WaitForCSV waits for the CSV to reach Succeeded. A CSV that stays Failed
// for longer than FailedGrace ends the wait early with the diagnosis.
func (c *Client) WaitForCSV(ctx context.Context, ns, name, sub string) error {
	grace := c.FailedGrace
	if grace == 0 {
		grace = defaultFailedGrace
	}
	var failedSince time.Time
	o := c.waitOptions(fmt.Sprintf("ClusterServiceVersion %s/%s to succeed", ns, name), c.diagnoseSubscription(ns, sub))
	return wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
		csv := &operatorsv1alpha1.ClusterServiceVersion{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, csv); err != nil {
			return false, "not found", client.IgnoreNotFound(err)
		}
		state := fmt.Sprintf("phase %q, reason %q", csv.Status.Phase, csv.Status.Reason)
		switch csv.Status.Phase {
		case operatorsv1alpha1.CSVPhaseSucceeded:
			return true, state, nil
		case operatorsv1alpha1.CSVPhaseFailed:
			if failedSince.IsZero() {
				failedSince = time.Now()
			} else if time.Since(failedSince) > grace {
				return false, state, wait.Failed("ClusterServiceVersion %s/%s failed: %s: %s", ns, name, csv.Status.Reason, csv.Status.Message)
			}
		default:
			failedSince = time.Time{}
		}
		return false, state, nil
	})
}

// WaitForOperator waits until every Deployment of the CSV runs only pods of
// the CSV's own image, all ready: after an upgrade, OLM has rolled the
// operator. It returns the operator pods' names.
func (c *Client) WaitForOperator(ctx context.Context, ns, csvName string) ([]string, error) {
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: csvName}, csv); err != nil {
		return nil, fmt.Errorf("ClusterServiceVersion %s/%s: %w", ns, csvName, err)
	}
	var names []string
	for _, spec := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		image := spec.Spec.Template.Spec.Containers[0].Image
		o := c.waitOptions(fmt.Sprintf("Deployment %s/%s to run only %s, ready", ns, spec.Name, image), nil)
		err := wait.For(ctx, o, func(ctx context.Context) (bool, string, error) {
			pods, state, err := c.operatorPods(ctx, ns, spec.Name, image)
			if pods != nil {
				names = append(names, pods...)
			}
			return pods != nil, state, err
		})
		if err != nil {
			return nil, err
		}
	}
	return names, nil
}

// operatorPods are the Deployment's pods when all of them run image and are
// ready; nil and what is not yet so otherwise.
func (c *Client) operatorPods(ctx context.Context, ns, name, image string) ([]string, string, error) {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, d); err != nil {
		return nil, err.Error(), client.IgnoreNotFound(err)
	}
	sel, err := deploymentSelector(d)
	if err != nil {
		return nil, "", err
	}
	pods := &corev1.PodList{}
	if err := c.List(ctx, pods, client.InNamespace(ns), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return nil, "", err
	}
	var names []string
	for i := range pods.Items {
		p := &pods.Items[i]
		if got := p.Spec.Containers[0].Image; got != image {
			return nil, fmt.Sprintf("pod %s runs %s", p.Name, got), nil
		}
		if !podstatus.Ready(p) {
			return nil, fmt.Sprintf("pod %s: %s", p.Name, podstatus.Describe(p)), nil
		}
		names = append(names, p.Name)
	}
	if len(names) == 0 {
		return nil, "no pod yet", nil
	}
	return names, fmt.Sprintf("%d pods of %s ready", len(names), image), nil
}
