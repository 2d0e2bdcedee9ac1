package reliability

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/example-inc/memcached-operator/internal/freeport"
	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/localmanager"
	"github.com/example-inc/memcached-operator/internal/scrape"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// pollInterval is how often the harness reads its own counters (the
// watches fill them) and waits for the operator's metrics.
const pollInterval = 200 * time.Millisecond

// manager is the operator a scenario runs: a host process started through
// internal/localmanager, its metrics over plain HTTP (the harness scrapes
// them) and its pprof on (the churn scenario reads heap profiles).
type manager struct {
	*localmanager.Process
	metrics scrape.Endpoint
	// pprofURL is the operator's /debug/pprof.
	pprofURL string
	log      *os.File
}

// managerWhy is why the harness runs the manager with other flags than the
// shipped Deployment's.
const managerWhy = "the reliability harness scrapes the operator's metrics over plain HTTP; leader election as the scenario asks; pprof for heap profiles"

// startManager runs bin/manager against c, watching every namespace, with
// args beyond the harness's own, and waits until its metrics answer. Its
// log is appended to: a restarted operator keeps the log before.
func startManager(ctx context.Context, c *localcluster.Cluster, bin string, args []string) (*manager, error) {
	metricsAddr, err := freeport.Local()
	if err != nil {
		return nil, err
	}
	pprofAddr, err := freeport.Local()
	if err != nil {
		return nil, err
	}
	logf, err := os.OpenFile(filepath.Join(c.Workdir, "manager.log"), os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return nil, err
	}
	p, err := localmanager.Start(localmanager.Options{
		Binary: filepath.Join(bin, "manager"), Kubeconfig: c.Kubeconfig(),
		MetricsAddr: metricsAddr, PprofAddr: pprofAddr,
		Args: append([]string{"--metrics-secure=false"}, args...),
		Log:  logf, Why: managerWhy,
	})
	if err != nil {
		logf.Close()
		return nil, err
	}
	m := &manager{Process: p, metrics: scrape.Plain(metricsAddr), pprofURL: "http://" + pprofAddr + "/debug/pprof", log: logf}
	if err := m.ready(ctx); err != nil {
		m.stop()
		return nil, fmt.Errorf("%w (operator log: %s)", err, logf.Name())
	}
	return m, nil
}

// ready waits for the metrics to answer.
func (m *manager) ready(ctx context.Context) error {
	return wait.For(ctx, wait.Options{What: "the operator's metrics at " + m.metrics.URL, Interval: pollInterval}, func(ctx context.Context) (bool, string, error) {
		select {
		case <-m.Exited():
			return false, "", wait.Failed("the operator exited")
		default:
		}
		if _, err := m.metrics.Requests(); err != nil {
			return false, err.Error(), nil
		}
		return true, "", nil
	})
}

// stop kills the manager and closes its log.
func (m *manager) stop() {
	m.Kill()
	_ = m.log.Close()
}
