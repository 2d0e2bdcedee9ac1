//go:build olmnode

package olmnode

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/wait"
	"github.com/example-inc/memcached-operator/test/framework"
)

// runBundleTimeout bounds one run bundle or bundle-upgrade, as --timeout does.
const runBundleTimeout = 4 * time.Minute

// TestRunBundleOnRealNode is operator-sdk's run bundle, bundle-upgrade and
// cleanup against bundle images in the local registry, with OLM in the
// cluster: the one-bundle catalog is served by a registry pod (restricted,
// on the real node) that the CatalogSource points at, OLM unpacks each
// bundle image with a Job and rolls the operator to the release's image;
// the upgrade's new registry pod replaces the old one; cleanup leaves
// nothing of the package in the namespace or the cluster.
func TestRunBundleOnRealNode(t *testing.T) {
	ctx, e := setup(t)
	indexImage := framework.Env(t, "OPM_IMAGE", "test-olm-node")
	base := framework.Env(t, "LOCAL_BUNDLE_IMG_BASE", "test-olm-node")
	from := replacedByHead(t, framework.Env(t, "CATALOG_DIR", "test-olm-node"), e.channel, e.csv)
	ref := func(csvName string) string { return base + ":v" + strings.TrimPrefix(csvName, e.pkg+".v") }
	t.Cleanup(func() {
		if t.Failed() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			t.Logf("what OLM reports:\n%s%s", e.olm.Diagnose(ctx, e.ns, e.pkg+"-sub"), e.describePods(ctx))
		}
	})
	opts := olm.RunOptions{Namespace: e.ns, IndexImage: indexImage, UseHTTP: true, Out: tlog{t}}

	opts.Bundle = ref(from)
	start := time.Now()
	inst, err := e.olm.RunBundle(within(ctx, t, runBundleTimeout), opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("run bundle %s: %s Succeeded after %s", opts.Bundle, inst.CSV, since(start))
	first := e.checkServedByPod(ctx, t, inst)
	e.checkRunBundleInstalled(ctx, t, inst, opts.Bundle)

	opts.Bundle = ref(e.csv)
	start = time.Now()
	if inst, err = e.olm.UpgradeBundle(within(ctx, t, runBundleTimeout), opts); err != nil {
		t.Fatal(err)
	}
	t.Logf("run bundle-upgrade %s: %s Succeeded after %s", opts.Bundle, inst.CSV, since(start))
	second := e.checkServedByPod(ctx, t, inst)
	if second.Name == first.Name {
		t.Errorf("bundle-upgrade kept registry pod %s; want a new one serving both bundles", first.Name)
	}
	e.checkGone(ctx, t, &corev1.Pod{}, first.Name)
	e.checkRunBundleInstalled(ctx, t, inst, opts.Bundle)

	start = time.Now()
	if err := e.olm.Cleanup(ctx, olm.CleanupOptions{Package: e.pkg, Namespace: e.ns, DeleteCRDs: true, Out: tlog{t}}); err != nil {
		t.Fatal(err)
	}
	t.Logf("cleanup took %s", since(start))
	framework.NothingLeft(ctx, t, framework.NothingLeftInput{Client: e.k8s, Package: e.pkg, Namespace: e.ns})
}

// A registry pod whose index image cannot be pulled ends run bundle at once
// with the kubelet's reason and the image, and leaves nothing behind: no
// pod, no ConfigMap, no CatalogSource.
func TestRunBundleNamesUnpullableIndexImage(t *testing.T) {
	ctx, e := setup(t)
	base := framework.Env(t, "LOCAL_BUNDLE_IMG_BASE", "test-olm-node")
	bad := "example.com/no-such-index:v0"
	opts := olm.RunOptions{Namespace: e.ns, IndexImage: bad, UseHTTP: true, Bundle: base + ":v" + strings.TrimPrefix(e.csv, e.pkg+".v"), Out: tlog{t}}
	start := time.Now()
	_, err := e.olm.RunBundle(within(ctx, t, runBundleTimeout), opts)
	var stalled *wait.Error
	if !errors.As(err, &stalled) || !strings.Contains(err.Error(), bad) || !strings.Contains(err.Error(), "ImagePullBackOff") && !strings.Contains(err.Error(), "ErrImagePull") {
		t.Fatalf("run bundle with index image %s: %v; want a stall naming the image pull", bad, err)
	}
	t.Logf("run bundle failed after %s: %v", since(start), err)
	err = wait.For(ctx, wait.Options{What: "run bundle's objects to go", Timeout: time.Minute}, func(ctx context.Context) (bool, string, error) {
		var left []string
		for _, list := range []client.ObjectList{&corev1.PodList{}, &corev1.ConfigMapList{}, &operatorsv1alpha1.CatalogSourceList{}} {
			if err := e.k8s.List(ctx, list, client.InNamespace(e.ns), client.HasLabels{"sdk.example.com/run-bundle"}); err != nil {
				return false, "", err
			}
			if n := meta.LenList(list); n != 0 {
				left = append(left, fmt.Sprintf("%T: %d", list, n))
			}
		}
		return len(left) == 0, strings.Join(left, ", "), nil
	})
	if err != nil {
		t.Error(err)
	}
}

// replacedByHead is the entry the channel's head replaces in the catalog.
func replacedByHead(t *testing.T, dir, channel, head string) string {
	t.Helper()
	fbc, err := declcfg.LoadFS(context.Background(), os.DirFS(dir))
	if err != nil {
		t.Fatal(err)
	}
	for _, ch := range fbc.Channels {
		for _, entry := range ch.Entries {
			if ch.Name == channel && entry.Name == head && entry.Replaces != "" {
				return entry.Replaces
			}
		}
	}
	t.Fatalf("%s: %s replaces nothing in channel %s", dir, head, channel)
	return ""
}

// checkServedByPod: the CatalogSource points at a registry pod of run bundle
// that runs on the real node, and OLM is connected to it.
func (e *env) checkServedByPod(ctx context.Context, t *testing.T, inst *olm.Installed) corev1.Pod {
	t.Helper()
	cs := &operatorsv1alpha1.CatalogSource{}
	if err := e.k8s.Get(ctx, client.ObjectKey{Namespace: e.ns, Name: inst.CatalogSource}, cs); err != nil {
		t.Fatal(err)
	}
	host, _, err := net.SplitHostPort(cs.Spec.Address)
	if err != nil {
		t.Fatalf("CatalogSource %s address %q: %v", cs.Name, cs.Spec.Address, err)
	}
	pods := e.pods(ctx, t, client.MatchingLabels{"sdk.example.com/run-bundle": e.pkg})
	i := slices.IndexFunc(pods, func(p corev1.Pod) bool { return p.Status.PodIP == host })
	if i < 0 {
		t.Fatalf("CatalogSource %s points at %s, no registry pod of run bundle has that IP", cs.Name, cs.Spec.Address)
	}
	e.lane.CheckOnRealNode(t, &pods[i], corev1.PodRunning)
	if state := cs.Status.GRPCConnectionState; state == nil || state.LastObservedState != "READY" {
		t.Errorf("CatalogSource %s: connection %+v, want READY", cs.Name, state)
	}
	t.Logf("registry pod %s serves %s at %s", pods[i].Name, inst.CSV, cs.Spec.Address)
	return pods[i]
}

// checkRunBundleInstalled: OLM unpacked the bundle image with a Job (the
// catalog names the bundle by image) and rolled the operator Deployment to
// the image the CSV names, every pod ready on the real node.
func (e *env) checkRunBundleInstalled(ctx context.Context, t *testing.T, inst *olm.Installed, bundleImage string) {
	t.Helper()
	installed := *e
	installed.bundleImage, installed.csv = bundleImage, inst.CSV
	installed.checkBundleUnpacked(ctx, t, inst.Subscription)
	pods, err := e.olm.WaitForOperator(within(ctx, t, time.Minute), e.ns, inst.CSV)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("operator of %s: pods %v ready", inst.CSV, pods)
}

// checkGone waits for an object in the test's namespace to be deleted.
func (e *env) checkGone(ctx context.Context, t *testing.T, obj client.Object, name string) {
	t.Helper()
	obj.SetNamespace(e.ns)
	obj.SetName(name)
	if err := wait.Gone(ctx, e.k8s, obj, wait.Options{Timeout: time.Minute}); err != nil {
		t.Error(err)
	}
}

// tlog writes run bundle's progress to the test log.
type tlog struct{ t *testing.T }

func (l tlog) Write(p []byte) (int, error) {
	l.t.Helper()
	l.t.Log(strings.TrimSuffix(string(p), "\n"))
	return len(p), nil
}
