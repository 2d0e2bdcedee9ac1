package olm

import (
	"context"
	"fmt"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Client talks to OLM's API on a cluster.
type Client struct {
	client.Client
	// Poll is how often waits look again.
	Poll time.Duration
	// FailedGrace is how long a CSV may read Failed before a wait gives up:
	// during an upgrade the new CSV flickers through Failed while the old
	// one's RBAC goes away.
	FailedGrace time.Duration
}

func (c *Client) poll() time.Duration {
	if c.Poll > 0 {
		return c.Poll
	}
	return 250 * time.Millisecond
}

// StalledError is a wait that did not finish, with OLM's own account of why.
type StalledError struct {
	What      string
	Diagnosis string
}

func (e *StalledError) Error() string {
	return fmt.Sprintf("%s\n%s", e.What, e.Diagnosis)
}

// until calls check every Poll until it is done or fails; on timeout it
// returns a StalledError carrying diagnose's report.
func (c *Client) until(ctx context.Context, what string, diagnose func(context.Context) string, check func(context.Context) (bool, error)) error {
	for {
		done, err := check(ctx)
		if err != nil {
			return err
		}
		if done {
			return nil
		}
		select {
		case <-ctx.Done():
			// The diagnosis needs a live context of its own.
			dctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			return &StalledError{What: "timed out waiting for " + what, Diagnosis: diagnose(dctx)}
		case <-time.After(c.poll()):
		}
	}
}

// WaitForCatalog waits until OLM is connected to the CatalogSource.
func (c *Client) WaitForCatalog(ctx context.Context, ns, name string) error {
	diag := func(ctx context.Context) string { return c.describeCatalogSource(ctx, ns, name) }
	return c.until(ctx, fmt.Sprintf("CatalogSource %s/%s to connect", ns, name), diag, func(ctx context.Context) (bool, error) {
		cs := &operatorsv1alpha1.CatalogSource{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, cs); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return cs.Status.GRPCConnectionState != nil && cs.Status.GRPCConnectionState.LastObservedState == "READY", nil
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
// when approve is set.
func (c *Client) NextInstallPlan(ctx context.Context, ns, sub, after string, approve bool) (string, []string, error) {
	var plan *operatorsv1alpha1.InstallPlan
	diag := func(ctx context.Context) string { return c.Diagnose(ctx, ns, sub) }
	err := c.until(ctx, fmt.Sprintf("an InstallPlan for Subscription %s/%s", ns, sub), diag, func(ctx context.Context) (bool, error) {
		s := &operatorsv1alpha1.Subscription{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: sub}, s); err != nil {
			return false, err
		}
		ref := s.Status.InstallPlanRef
		if ref == nil || ref.Name == after {
			return false, nil
		}
		ip := &operatorsv1alpha1.InstallPlan{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: ref.Name}, ip); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		switch ip.Status.Phase {
		case operatorsv1alpha1.InstallPlanPhaseFailed:
			return false, &StalledError{What: fmt.Sprintf("InstallPlan %s/%s failed", ns, ip.Name), Diagnosis: c.Diagnose(ctx, ns, sub)}
		case operatorsv1alpha1.InstallPlanPhaseRequiresApproval:
			if approve && !ip.Spec.Approved {
				patch := client.MergeFrom(ip.DeepCopy())
				ip.Spec.Approved = true
				if err := c.Patch(ctx, ip, patch); err != nil {
					if apierrors.IsConflict(err) {
						return false, nil
					}
					return false, fmt.Errorf("approve InstallPlan %s/%s: %w", ns, ip.Name, err)
				}
			}
			plan = ip
			return true, nil
		case operatorsv1alpha1.InstallPlanPhaseInstalling, operatorsv1alpha1.InstallPlanPhaseComplete:
			plan = ip
			return true, nil
		}
		return false, nil
	})
	if err != nil {
		return "", nil, err
	}
	return plan.Name, plan.Spec.ClusterServiceVersionNames, nil
}

// WaitForCSV waits for the CSV to reach Succeeded. A CSV that stays Failed
// for longer than FailedGrace ends the wait early with the diagnosis.
func (c *Client) WaitForCSV(ctx context.Context, ns, name, sub string) error {
	grace := c.FailedGrace
	if grace == 0 {
		grace = 10 * time.Second
	}
	var failedSince time.Time
	diag := func(ctx context.Context) string { return c.Diagnose(ctx, ns, sub) }
	return c.until(ctx, fmt.Sprintf("ClusterServiceVersion %s/%s to succeed", ns, name), diag, func(ctx context.Context) (bool, error) {
		csv := &operatorsv1alpha1.ClusterServiceVersion{}
		if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: name}, csv); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		switch csv.Status.Phase {
		case operatorsv1alpha1.CSVPhaseSucceeded:
			return true, nil
		case operatorsv1alpha1.CSVPhaseFailed:
			if failedSince.IsZero() {
				failedSince = time.Now()
			} else if time.Since(failedSince) > grace {
				return false, &StalledError{
					What:      fmt.Sprintf("ClusterServiceVersion %s/%s failed: %s: %s", ns, name, csv.Status.Reason, csv.Status.Message),
					Diagnosis: c.Diagnose(ctx, ns, sub),
				}
			}
		default:
			failedSince = time.Time{}
		}
		return false, nil
	})
}

// TargetNamespaces is what OLM's install mode gave a CSV, as the operator
// reads it in WATCH_NAMESPACE ("" for all namespaces).
func (c *Client) TargetNamespaces(ctx context.Context, ns, csvName string) (string, error) {
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: csvName}, csv); err != nil {
		return "", err
	}
	v, ok := csv.Annotations["olm.targetNamespaces"]
	if !ok {
		return "", fmt.Errorf("ClusterServiceVersion %s/%s has no olm.targetNamespaces annotation yet", ns, csvName)
	}
	return v, nil
}
