// Package localcluster is a kwok cluster of a benchmark's or the
// reliability harness's own, started and stopped through the Makefile's
// targets so that it is the same cluster as everywhere else.
package localcluster

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
	"github.com/example-inc/memcached-operator/internal/logtail"
	"github.com/example-inc/memcached-operator/internal/olm"
)

// Cluster is one named cluster and the directory that holds its state.
type Cluster struct {
	// Name is CLUSTER_NAME; Workdir (absolute) is WORKDIR.
	Name, Workdir string
	// Vars are the make variables every target runs with.
	Vars []string
}

// New names a cluster kept under workdir; vars are further make variables
// (CLUSTER_NODES=..., NODE_LANE=real, ...).
func New(name, workdir string, vars ...string) *Cluster {
	abs, _ := filepath.Abs(workdir)
	return &Cluster{Name: name, Workdir: abs, Vars: append([]string{"CLUSTER_NAME=" + name, "WORKDIR=" + abs}, vars...)}
}

// Kubeconfig is where cluster-up writes the cluster's kubeconfig.
func (c *Cluster) Kubeconfig() string { return filepath.Join(c.Workdir, "kubeconfig") }

// Make runs targets with the cluster's variables, quietly unless they fail.
func (c *Cluster) Make(targets ...string) error {
	cmd := exec.Command("make", append(append([]string{"--no-print-directory"}, targets...), c.Vars...)...)
	env := []string{}
	for _, e := range os.Environ() {
		if !strings.HasPrefix(e, "KUBECONFIG=") {
			env = append(env, e)
		}
	}
	cmd.Env = env
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("make %s: %w\n%s", strings.Join(targets, " "), err, logtail.Lines(string(out), 20))
	}
	return nil
}

// Up brings a fresh cluster up with the CRD installed and returns a client
// of it: what an earlier run left under the name is stopped first (Down).
func (c *Cluster) Up() (client.Client, error) {
	c.Down()
	if err := c.Make("cluster-up", "install"); err != nil {
		return nil, err
	}
	return c.Client()
}

// Down stops the cluster, OLM and any catalog server run bundle left.
func (c *Cluster) Down() {
	pids, _ := filepath.Glob(filepath.Join(c.Workdir, "run-bundle", "*.pid"))
	for _, p := range pids {
		_ = olm.StopServer(filepath.Dir(p), strings.TrimSuffix(filepath.Base(p), ".pid"))
	}
	_ = c.Make("olm-down", "cluster-down")
}

// RestConfig is the cluster's client configuration, without client-side
// rate limits: the harness's own client must not be what limits the cluster.
func (c *Cluster) RestConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, err
	}
	cfg.QPS, cfg.Burst = 2000, 4000
	return cfg, nil
}

// Client is a client of the cluster with the operator's types.
func (c *Cluster) Client() (client.Client, error) {
	cfg, err := c.RestConfig()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: kubeclient.Scheme()})
}

// PIDFile is the pid file kwokctl keeps for the control plane's
// components (binary runtime), by component name.
func (c *Cluster) PIDFile(component string) string {
	return filepath.Join(c.Workdir, "kwok", "clusters", c.Name, "pids", component+".pid")
}

// LogFile is where kwokctl has a component log.
func (c *Cluster) LogFile(component string) string {
	return filepath.Join(c.Workdir, "kwok", "clusters", c.Name, "logs", component+".log")
}
