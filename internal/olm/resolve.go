package olm

import (
	"context"
	"fmt"
	"regexp"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// resolveAgainEvery is how often a Subscription stuck on a stale resolution
// failure is touched.
const resolveAgainEvery = 10 * time.Second

// staleCSV finds the CSV a failed resolution blamed: OLM resolves the next
// upgrade as soon as one succeeds, while the CSV it replaced still exists
// ("clusterserviceversion X exists and is not referenced by a
// subscription"), fails, and does not resolve again once X is deleted.
var staleCSV = regexp.MustCompile(`clusterserviceversion (\S+) exists and is not referenced by a subscription`)

// blamedCSV is the CSV the Subscription's ResolutionFailed condition blames
// for being left over, if any.
func blamedCSV(s *operatorsv1alpha1.Subscription) (string, bool) {
	for _, c := range s.Status.Conditions {
		if c.Type != operatorsv1alpha1.SubscriptionResolutionFailed || c.Status != "True" {
			continue
		}
		if m := staleCSV.FindStringSubmatch(c.Message); m != nil {
			return m[1], true
		}
	}
	return "", false
}

// resolveAgain touches the Subscription, which makes OLM resolve its
// namespace again, when its resolution failed because of a replaced CSV that
// is gone by now. It says whether it did.
func (c *Client) resolveAgain(ctx context.Context, s *operatorsv1alpha1.Subscription) (bool, error) {
	csv, ok := blamedCSV(s)
	if !ok {
		return false, nil
	}
	err := c.Get(ctx, types.NamespacedName{Namespace: s.Namespace, Name: csv}, &operatorsv1alpha1.ClusterServiceVersion{})
	if !apierrors.IsNotFound(err) {
		return false, client.IgnoreNotFound(err)
	}
	patch := client.RawPatch(types.MergePatchType, []byte(fmt.Sprintf(`{"metadata":{"annotations":{%q:%q}}}`,
		managedLabel+"-resolve", time.Now().UTC().Format(time.RFC3339Nano))))
	if err := c.Patch(ctx, s, patch); err != nil {
		return false, fmt.Errorf("touch Subscription %s/%s to resolve again: %w", s.Namespace, s.Name, err)
	}
	return true, nil
}
