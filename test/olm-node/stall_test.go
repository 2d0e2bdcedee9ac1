//go:build olmnode

package olmnode

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// diagnosisTimeout bounds how long the node takes to show a broken
// operator pod's cause.
const diagnosisTimeout = 2 * time.Minute

// TestStallsNamePodCauses: an operator pod that cannot run, for a cause only
// a real node produces, is named in what OLM reports (olm.Diagnose, which run
// bundle, the demo and every OLM wait print on a stall): an image that does
// not exist, and a command that is not in the image.
func TestStallsNamePodCauses(t *testing.T) {
	ctx, e := setup(t)
	missing := e.operatorImage + "-no-such-tag"
	for _, tc := range []struct {
		name  string
		patch string // JSON patch of the CSV's operator container
		want  []string
	}{
		{name: "image that does not exist", patch: fmt.Sprintf(`[{"op":"replace","path":"%s/image","value":%q}]`, containerPath, missing),
			want: []string{"ImagePullBackOff", missing}},
		{name: "command not in the image", patch: fmt.Sprintf(`[{"op":"replace","path":"%s/command","value":["/no-such-manager"]}]`, containerPath),
			want: []string{"/no-such-manager", "no such file or directory"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			// An install of its own: OLM acts on a Failed CSV's changes only
			// at its next resync, minutes later, so a broken CSV is not
			// mended in place for the next case.
			ce := *e
			ce.ns = namespace(t, &ce, "restricted")
			sub := ce.install(ctx, t)
			ce.breakCSV(ctx, t, sub, tc.patch, tc.want)
		})
	}
}

// install subscribes to the channel at the version under test from the
// catalog image and waits for its CSV.
func (e *env) install(ctx context.Context, t *testing.T) string {
	t.Helper()
	cs, sub := e.lane.ServeCatalog(ctx, t, e.ns), e.pkg+"-sub"
	framework.Subscribe(ctx, t, framework.SubscribeInput{Lane: e.lane, Namespace: e.ns, CatalogSource: cs, Channel: e.channel, StartingCSV: e.csv, Approval: operatorsv1alpha1.ApprovalAutomatic})
	if err := e.olm.WaitForCSV(within(ctx, t, installTimeout), e.ns, e.csv, sub); err != nil {
		t.Fatal(err)
	}
	return sub
}

// containerPath is the operator container in the CSV, as a JSON pointer.
const containerPath = "/spec/install/spec/deployments/0/spec/template/spec/containers/0"

// breakCSV applies patch to the installed CSV (OLM rolls its Deployment to
// the change) and waits until OLM's report (olm.Diagnose) says every one of
// want.
func (e *env) breakCSV(ctx context.Context, t *testing.T, sub, patch string, want []string) {
	t.Helper()
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	csv.Name, csv.Namespace = e.csv, e.ns
	if err := e.k8s.Patch(ctx, csv, client.RawPatch(types.JSONPatchType, []byte(patch))); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	var report string
	err := wait.For(ctx, wait.Options{What: fmt.Sprintf("OLM's report to name %q", want), Timeout: diagnosisTimeout},
		func(ctx context.Context) (bool, string, error) {
			report = e.olm.Diagnose(ctx, e.ns, sub)
			for _, w := range want {
				if !strings.Contains(report, w) {
					return false, "", nil
				}
			}
			return true, "", nil
		})
	if err != nil {
		t.Fatalf("%v\nthe report:\n%s", err, report)
	}
	t.Logf("after %s, what OLM reports:\n%s", since(start), report)
}
