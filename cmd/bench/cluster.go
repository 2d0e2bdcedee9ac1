package main

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

// cluster is a local cluster of the benchmark's own, started and stopped
// through the Makefile's targets so it is the same cluster as everywhere.
type cluster struct {
	name, workdir string
	vars          []string
}

func newCluster(name, workdir string, vars ...string) *cluster {
	abs, _ := filepath.Abs(workdir)
	return &cluster{name: name, workdir: abs, vars: append([]string{"CLUSTER_NAME=" + name, "WORKDIR=" + abs}, vars...)}
}

func (c *cluster) kubeconfig() string { return filepath.Join(c.workdir, "kubeconfig") }

// make runs targets with the cluster's variables, quietly unless they fail.
func (c *cluster) make(targets ...string) error {
	cmd := exec.Command("make", append(append([]string{"--no-print-directory"}, targets...), c.vars...)...)
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

// down stops the cluster, OLM and any catalog server run bundle left.
func (c *cluster) down() {
	pids, _ := filepath.Glob(filepath.Join(c.workdir, "run-bundle", "*.pid"))
	for _, p := range pids {
		_ = olm.StopServer(filepath.Dir(p), strings.TrimSuffix(filepath.Base(p), ".pid"))
	}
	_ = c.make("olm-down", "cluster-down")
}

func (c *cluster) restConfig() (*rest.Config, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.kubeconfig())
	if err != nil {
		return nil, err
	}
	// The benchmark's own client must not be what limits the cluster.
	cfg.QPS, cfg.Burst = 2000, 4000
	return cfg, nil
}

func (c *cluster) client() (client.Client, error) {
	cfg, err := c.restConfig()
	if err != nil {
		return nil, err
	}
	return client.New(cfg, client.Options{Scheme: kubeclient.Scheme()})
}
