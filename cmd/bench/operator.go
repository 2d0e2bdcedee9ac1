package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"

	coordinationv1 "k8s.io/api/coordination/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/controller"
	"github.com/example-inc/memcached-operator/internal/freeport"
	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/scrape"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// operatorOptions are how B1 runs the manager: with the Deployment's flags
// (leader election, metrics over https for an authenticated and authorized
// scraper, which the benchmark is through a ServiceAccount token bound to
// the shipped metrics-reader role, default workers), and Args beyond them.
type operatorOptions struct {
	// Manager is the operator binary.
	Manager string
	// Args are further flags: a B1 variant.
	Args []string
	// Pprof serves /debug/pprof (heap profiles), which the Deployment does not.
	Pprof bool
}

// leaseName is the operator's leader election Lease (cmd/main.go).
const leaseName = controller.LeaderElectionID

// benchOperator is the manager under measurement and where it reports.
type benchOperator struct {
	*localmanager.Process
	metrics scrape.Endpoint
	// pprofURL is the operator's /debug/pprof.
	pprofURL string
	log      *os.File
}

// startOperator runs the manager against the run's cluster, watching every
// namespace, and waits until its metrics answer and it holds the Lease.
func startOperator(ctx context.Context, c *localcluster.Cluster, o operatorOptions) (*benchOperator, error) {
	metricsAddr, err := freeport.Local()
	if err != nil {
		return nil, err
	}
	// Outside a pod there is no pod namespace for the Lease.
	args := append([]string{"--leader-elect", "--leader-election-namespace=" + metav1.NamespaceDefault}, o.Args...)
	why := "a local process: metrics on a free local port, the Lease in a namespace named by flag (no pod namespace), no health probes (no kubelet)"
	pprofAddr, pprofURL := "", ""
	if o.Pprof {
		if pprofAddr, err = freeport.Local(); err != nil {
			return nil, err
		}
		pprofURL = "http://" + pprofAddr + "/debug/pprof"
		why += "; pprof for heap profiles"
	}
	logf, err := os.OpenFile(filepath.Join(c.Workdir, "manager.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	p, err := localmanager.Start(localmanager.Options{Binary: o.Manager, Kubeconfig: c.Kubeconfig(), MetricsAddr: metricsAddr, PprofAddr: pprofAddr, Args: args, Log: logf, Why: why})
	if err != nil {
		logf.Close()
		return nil, err
	}
	op := &benchOperator{Process: p, pprofURL: pprofURL, log: logf}
	if err := op.ready(ctx, c, metricsAddr); err != nil {
		op.stop()
		return nil, fmt.Errorf("%w (operator log: %s)", err, logf.Name())
	}
	return op, nil
}

// ready gets a scraper's token, then waits for the metrics to answer and
// for the operator to hold its Lease.
func (op *benchOperator) ready(ctx context.Context, c *localcluster.Cluster, metricsAddr string) error {
	cfg, err := c.RestConfig()
	if err != nil {
		return err
	}
	cs, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	k8s, err := c.Client()
	if err != nil {
		return err
	}
	token, err := scraperToken(ctx, k8s, cs)
	if err != nil {
		return err
	}
	op.metrics = scrape.Secure(metricsAddr, token)
	return wait.For(ctx, wait.Options{What: "the operator's metrics at " + op.metrics.URL, Interval: pollInterval}, func(ctx context.Context) (bool, string, error) {
		select {
		case <-op.Exited():
			return false, "", wait.Failed("the operator exited")
		default:
		}
		if _, err := op.metrics.Requests(); err != nil {
			return false, err.Error(), nil
		}
		lease := &coordinationv1.Lease{}
		if err := k8s.Get(ctx, client.ObjectKey{Namespace: metav1.NamespaceDefault, Name: leaseName}, lease); err != nil {
			return false, "Lease: " + err.Error(), nil
		}
		held := lease.Spec.HolderIdentity != nil && *lease.Spec.HolderIdentity != ""
		return held, "the Lease names no holder", nil
	})
}

// heapProfile writes the operator's heap profile (after a GC) to path.
func (op *benchOperator) heapProfile(path string) error {
	if op.pprofURL == "" {
		return fmt.Errorf("heap profile: the operator serves no pprof")
	}
	resp, err := http.Get(op.pprofURL + "/heap?gc=1")
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("heap profile: %s from %s", resp.Status, op.pprofURL)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := io.Copy(f, resp.Body); err != nil {
		f.Close()
		return fmt.Errorf("heap profile %s: %w", path, err)
	}
	return f.Close()
}

// stop kills the manager, as the benchmark always has, and closes its log.
func (op *benchOperator) stop() {
	op.Kill()
	_ = op.log.Close()
}
