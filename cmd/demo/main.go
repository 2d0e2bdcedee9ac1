// Command demo shows the operator's whole OLM lifecycle on a cluster that
// runs OLM (make demo brings up the local one): it installs the oldest
// release of a channel from the repository's catalog through a
// Subscription, runs the operator, reconciles the sample, then approves one
// upgrade at a time up to the channel head, checking the Memcached after
// each hop. Running it again starts over in a fresh namespace.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"

	"github.com/go-logr/logr"
	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"github.com/sirupsen/logrus"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"
	"sigs.k8s.io/yaml"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/catalog"
	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/olm"
)

const pkg = "memcached-operator"

type demo struct {
	k8s     client.Client
	olm     *olm.Client
	ns      string
	state   string
	opm     string
	manager string
	steps   []string
}

func main() {
	logrus.SetLevel(logrus.WarnLevel)
	ctrllog.SetLogger(logr.Discard())
	d := &demo{}
	catalogDir := flag.String("catalog", ".work/catalog-local", "Local rendering of the catalog (make catalog).")
	sample := flag.String("sample", "config/samples/cache_v1_memcached.yaml", "The Memcached to create.")
	channel := flag.String("channel", "candidate", "Channel to install from and upgrade along.")
	flag.StringVar(&d.ns, "namespace", "memcached-demo", "Namespace of the demo (recreated on each run).")
	flag.StringVar(&d.state, "state-dir", ".work/demo", "Logs and pid files.")
	flag.StringVar(&d.opm, "opm", "bin/opm", "opm binary.")
	flag.StringVar(&d.manager, "manager", "bin/manager", "The operator binary, run as a local process.")
	timeout := flag.Duration("timeout", 5*time.Minute, "How long the whole demo may take.")
	flag.Parse()
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if err := d.run(ctx, *catalogDir, *sample, *channel); err != nil {
		fmt.Fprintln(os.Stderr, "\nerror:", err)
		os.Exit(1)
	}
}

func (d *demo) step(format string, args ...any) {
	fmt.Printf("\n\033[1m==> %s\033[0m\n", fmt.Sprintf(format, args...))
}

func (d *demo) record(start time.Time, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	d.steps = append(d.steps, fmt.Sprintf("%s\t%s", msg, time.Since(start).Round(100*time.Millisecond)))
	fmt.Printf("    %s (%s)\n", msg, time.Since(start).Round(100*time.Millisecond))
}

func (d *demo) run(ctx context.Context, catalogDir, samplePath, channel string) error {
	total := time.Now()
	if err := d.connect(); err != nil {
		return err
	}
	fbc, err := declcfg.LoadFS(ctx, os.DirFS(catalogDir))
	if err != nil {
		return fmt.Errorf("%s: %w (run make catalog)", catalogDir, err)
	}
	report, err := catalog.Check(ctx, fbc)
	if err != nil {
		return err
	}
	var from string
	var path []string
	for _, c := range report.Channels {
		if c.Name != channel {
			continue
		}
		for _, b := range c.Bundles() {
			p, _ := c.Path(b)
			if len(p) > len(path) || (len(p) == len(path) && b < from) {
				from, path = b, p
			}
		}
	}
	if from == "" {
		return fmt.Errorf("channel %q is not in the catalog", channel)
	}

	d.step("fresh namespace %s", d.ns)
	if err := d.reset(ctx); err != nil {
		return err
	}

	d.step("catalog: serving %s with opm; CatalogSource and OperatorGroup", catalogDir)
	start := time.Now()
	srv, err := olm.StartServer(ctx, d.opm, catalogDir, d.state, "catalog", "")
	if err != nil {
		return err
	}
	objs := []client.Object{
		&operatorsv1alpha1.CatalogSource{
			ObjectMeta: metav1.ObjectMeta{Name: "memcached-catalog", Namespace: d.ns},
			Spec:       operatorsv1alpha1.CatalogSourceSpec{SourceType: operatorsv1alpha1.SourceTypeGrpc, Address: srv.Addr, DisplayName: "Memcached Operator releases"},
		},
		&operatorsv1.OperatorGroup{
			ObjectMeta: metav1.ObjectMeta{Name: "memcached-demo", Namespace: d.ns},
			Spec:       operatorsv1.OperatorGroupSpec{TargetNamespaces: []string{d.ns}},
		},
	}
	for _, o := range objs {
		if err := d.k8s.Create(ctx, o); err != nil {
			return err
		}
	}
	if err := d.olm.WaitForCatalog(ctx, d.ns, "memcached-catalog"); err != nil {
		return err
	}
	d.record(start, "CatalogSource connected to opm at %s", srv.Addr)

	d.step("Subscription to %s, starting at %s, manual approval", channel, from)
	start = time.Now()
	sub := &operatorsv1alpha1.Subscription{
		ObjectMeta: metav1.ObjectMeta{Name: pkg, Namespace: d.ns},
		Spec: &operatorsv1alpha1.SubscriptionSpec{
			CatalogSource: "memcached-catalog", CatalogSourceNamespace: d.ns, Package: pkg, Channel: channel,
			StartingCSV: from, InstallPlanApproval: operatorsv1alpha1.ApprovalManual,
		},
	}
	if err := d.k8s.Create(ctx, sub); err != nil {
		return err
	}
	plan, _, err := d.olm.ApproveNext(ctx, d.ns, pkg, "")
	if err != nil {
		return err
	}
	if err := d.olm.WaitForCSV(ctx, d.ns, from, pkg); err != nil {
		return err
	}
	d.record(start, "installed %s (InstallPlan %s)", from, plan)

	d.step("the operator runs on this machine, watching what OLM's install mode gives it")
	stop, err := d.startOperator(ctx, from)
	if err != nil {
		return err
	}
	defer func() { stop() }()

	d.step("kubectl apply -f %s", samplePath)
	start = time.Now()
	mc, err := d.applySample(ctx, samplePath)
	if err != nil {
		return err
	}
	if err := d.waitReady(ctx, mc); err != nil {
		return err
	}
	d.record(start, "%s reconciled: %d pods ready", mc.Name, mc.Spec.Size)
	if err := d.show(ctx, mc); err != nil {
		return err
	}
	pods, err := d.podNames(ctx, mc)
	if err != nil {
		return err
	}

	for _, next := range path {
		d.step("upgrade to %s: approve the InstallPlan the Subscription names", next)
		start = time.Now()
		var csvs []string
		if plan, csvs, err = d.olm.ApproveNext(ctx, d.ns, pkg, plan); err != nil {
			return err
		}
		if !slices.Equal(csvs, []string{next}) {
			return fmt.Errorf("InstallPlan %s installs %v; the catalog analysis predicts %s", plan, csvs, next)
		}
		if err := d.olm.WaitForCSV(ctx, d.ns, next, pkg); err != nil {
			return err
		}
		// OLM rolled out the new operator Deployment; the local process
		// stands for its pod, so it restarts too.
		stop()
		if stop, err = d.startOperator(ctx, next); err != nil {
			return err
		}
		if err := d.waitReady(ctx, mc); err != nil {
			return err
		}
		now, err := d.podNames(ctx, mc)
		if err != nil {
			return err
		}
		kept := "memcached pods untouched"
		if !slices.Equal(now, pods) {
			kept = "memcached pods replaced"
		}
		d.record(start, "upgraded to %s; %s still reconciled, %s", next, mc.Name, kept)
	}
	if err := d.show(ctx, mc); err != nil {
		return err
	}

	d.step("summary")
	w := tabwriter.NewWriter(os.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "    step\ttook")
	for _, s := range d.steps {
		fmt.Fprintf(w, "    %s\n", s)
	}
	w.Flush()
	fmt.Printf("    whole demo: %s; OLM keeps running (make demo-down stops everything)\n", time.Since(total).Round(100*time.Millisecond))
	return nil
}

func (d *demo) connect() error {
	c, err := kubeclient.NewClient()
	if err != nil {
		return err
	}
	d.k8s, d.olm = c, &olm.Client{Client: c}
	return nil
}

// reset removes a previous run: its namespace, its catalog server, the CRD.
func (d *demo) reset(ctx context.Context) error {
	_ = olm.StopServer(d.state, "catalog")
	for _, o := range []client.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns}},
		&apiextensionsv1.CustomResourceDefinition{ObjectMeta: metav1.ObjectMeta{Name: "memcacheds.cache.example.com"}},
	} {
		if err := d.k8s.Delete(ctx, o); err != nil && !apierrors.IsNotFound(err) {
			return err
		}
		for {
			err := d.k8s.Get(ctx, client.ObjectKeyFromObject(o), o)
			if apierrors.IsNotFound(err) {
				break
			}
			if err != nil {
				return err
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("%s is still being deleted", o.GetName())
			case <-time.After(250 * time.Millisecond):
			}
		}
	}
	return d.k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: d.ns}})
}

func (d *demo) startOperator(ctx context.Context, csv string) (func(), error) {
	watch, err := d.olm.TargetNamespaces(ctx, d.ns, csv)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(d.state, 0o755); err != nil {
		return nil, err
	}
	logPath := filepath.Join(d.state, "manager.log")
	logf, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(d.manager, "--health-probe-bind-address=0", "--metrics-bind-address=0")
	cmd.Env = append(os.Environ(), "WATCH_NAMESPACE="+watch)
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	fmt.Printf("    %s with WATCH_NAMESPACE=%q (log: %s)\n", d.manager, watch, logPath)
	return func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		logf.Close()
	}, nil
}

func (d *demo) applySample(ctx context.Context, path string) (*cachev1.Memcached, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	mc := &cachev1.Memcached{}
	if err := yaml.UnmarshalStrict(b, mc); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	mc.Namespace = d.ns
	if err := d.k8s.Create(ctx, mc); err != nil {
		return nil, err
	}
	return mc, nil
}

// waitReady waits for spec.size pods in status.nodes, and for Available
// when the installed CRD has conditions (0.1.0's has not).
func (d *demo) waitReady(ctx context.Context, mc *cachev1.Memcached) error {
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := d.k8s.Get(ctx, types.NamespacedName{Name: "memcacheds.cache.example.com"}, crd); err != nil {
		return err
	}
	available := false
	for _, v := range crd.Spec.Versions {
		if v.Schema != nil && v.Schema.OpenAPIV3Schema != nil {
			_, available = v.Schema.OpenAPIV3Schema.Properties["status"].Properties["conditions"]
		}
	}
	for {
		got := &cachev1.Memcached{}
		if err := d.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got); err != nil {
			return err
		}
		ok := len(got.Status.Nodes) == int(got.Spec.Size)
		if available {
			ok = ok && meta.IsStatusConditionTrue(got.Status.Conditions, cachev1.ConditionAvailable)
		}
		if ok {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("Memcached %s/%s: %d of %d pods in status.nodes", mc.Namespace, mc.Name, len(got.Status.Nodes), got.Spec.Size)
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (d *demo) podNames(ctx context.Context, mc *cachev1.Memcached) ([]string, error) {
	got := &cachev1.Memcached{}
	if err := d.k8s.Get(ctx, types.NamespacedName{Namespace: mc.Namespace, Name: mc.Name}, got); err != nil {
		return nil, err
	}
	return got.Status.Nodes, nil
}

func (d *demo) show(ctx context.Context, mc *cachev1.Memcached) error {
	got := &cachev1.Memcached{}
	if err := d.k8s.Get(ctx, client.ObjectKeyFromObject(mc), got); err != nil {
		return err
	}
	csvs := &operatorsv1alpha1.ClusterServiceVersionList{}
	if err := d.k8s.List(ctx, csvs, client.InNamespace(d.ns)); err != nil {
		return err
	}
	for _, c := range csvs.Items {
		fmt.Printf("    ClusterServiceVersion %s: %s\n", c.Name, c.Status.Phase)
	}
	available := "-"
	if c := meta.FindStatusCondition(got.Status.Conditions, cachev1.ConditionAvailable); c != nil {
		available = string(c.Status)
	}
	fmt.Printf("    Memcached %s: size %d, available %s\n", got.Name, got.Spec.Size, available)
	for _, n := range got.Status.Nodes {
		fmt.Printf("      status.nodes: %s\n", n)
	}
	return nil
}
