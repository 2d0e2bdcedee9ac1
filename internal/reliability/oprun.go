package reliability

import (
	"context"
	"fmt"
	"os"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/fleet"
	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/logtail"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// opRun is one run of an operator scenario: a fresh cluster, the operator
// binary as a host process, n Memcacheds, and a watch on them.
type opRun struct {
	o       Options
	c       *localcluster.Cluster
	k8s     client.Client
	op      *manager
	ctx     context.Context
	cancel  context.CancelFunc
	w       *crWatch
	n       int
	created time.Time
	// args are further manager flags.
	args []string
}

// opRunOptions say what an operator scenario starts with.
type opRunOptions struct {
	// Name names the cluster.
	Name string
	// N Memcacheds (sizes 1 to 3) are created once the operator runs.
	N int
	// Pods is the most pods the scenario runs at once (default 2N: the
	// cluster gets a fake node per 110).
	Pods int
	// Args are further manager flags.
	Args []string
	// Timeout bounds the whole run (default 15 minutes).
	Timeout time.Duration
}

// startOpRun brings up a cluster of its own, the operator, and ro.N
// Memcacheds.
func startOpRun(o Options, ro opRunOptions) (*opRun, error) {
	n, name := ro.N, ro.Name
	if ro.Pods == 0 {
		ro.Pods = 2 * n
	}
	nodes := (ro.Pods+109)/110 + 1
	c := localcluster.New(name, o.Work+"/"+name, fmt.Sprintf("CLUSTER_NODES=%d", nodes), "KWOKCTL_CREATE_FLAGS=--disable-qps-limits")
	r := &opRun{o: o, c: c, n: n, args: ro.Args}
	if ro.Timeout == 0 {
		ro.Timeout = 15 * time.Minute
	}
	r.ctx, r.cancel = context.WithTimeout(context.Background(), ro.Timeout)
	var err error
	if r.k8s, err = c.Up(); err != nil {
		r.stop()
		return nil, err
	}
	if err := r.startOperator(); err != nil {
		r.stop()
		return nil, err
	}
	if err := fleet.CreateNamespaces(r.ctx, r.k8s); err != nil {
		r.stop()
		return nil, err
	}
	if r.w, err = watchMemcacheds(r.ctx, c); err != nil {
		r.stop()
		return nil, err
	}
	r.created = time.Now()
	if _, err := fleet.Create(r.ctx, r.k8s, fleet.Batch{N: n}); err != nil {
		r.stop()
		return nil, err
	}
	return r, nil
}

func (r *opRun) startOperator() error {
	op, err := startManager(r.ctx, r.c, r.o.Bin, r.args)
	if err != nil {
		return err
	}
	r.op = op
	return nil
}

func (r *opRun) stop() {
	if r.w != nil {
		r.w.stop()
	}
	if r.op != nil {
		r.op.stop()
	}
	r.c.Down()
	r.cancel()
}

// waitConverged waits until every Memcached's status is complete for its
// current generation; on a timeout it says whether the control plane or
// the operator is behind.
func (r *opRun) waitConverged(timeout time.Duration) error {
	err := r.waitConvergedOnly(timeout)
	if err != nil {
		err = fmt.Errorf("%w (%s)", err, r.diagnose())
	}
	return err
}

// diagnose counts rolled-out Deployments and pods by phase, and quotes
// the operator's last log lines.
func (r *opRun) diagnose() string {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	deps := &appsv1.DeploymentList{}
	pods := &corev1.PodList{}
	if err := r.k8s.List(ctx, deps); err != nil {
		return err.Error()
	}
	if err := r.k8s.List(ctx, pods); err != nil {
		return err.Error()
	}
	ready := 0
	for i := range deps.Items {
		if done, _ := wait.RolledOut(&deps.Items[i], podsOf(&deps.Items[i], pods.Items)); done {
			ready++
		}
	}
	phases := map[string]int{}
	for _, p := range pods.Items {
		phases[string(p.Status.Phase)]++
	}
	log, _ := os.ReadFile(r.op.log.Name())
	return fmt.Sprintf("%d of %d Deployments rolled out; pods %v; operator log: %s", ready, len(deps.Items), phases, logtail.Lines(string(log), 5))
}

// podsOf are the pods of pods that d selects.
func podsOf(d *appsv1.Deployment, pods []corev1.Pod) []corev1.Pod {
	sel, err := metav1.LabelSelectorAsSelector(d.Spec.Selector)
	if err != nil || d.Spec.Selector == nil {
		return nil
	}
	var out []corev1.Pod
	for _, p := range pods {
		if p.Namespace == d.Namespace && sel.Matches(labels.Set(p.Labels)) {
			out = append(out, p)
		}
	}
	return out
}

func (r *opRun) waitConvergedOnly(timeout time.Duration) error {
	return wait.For(r.ctx, wait.Options{What: fmt.Sprintf("%d Memcacheds to converge", r.n), Timeout: timeout, Interval: pollInterval},
		func(context.Context) (bool, string, error) {
			done := r.w.converged()
			return done == r.n, fmt.Sprintf("%d of %d converged", done, r.n), nil
		})
}

// deploymentsPerCR counts the Memcacheds that own more than one
// Deployment, and those that own none.
func (r *opRun) deploymentsPerCR() (dup, missing int, err error) {
	list, mcs := &appsv1.DeploymentList{}, &cachev1.MemcachedList{}
	// The reads are retried: right after an API server or etcd restart a
	// request can fail on its connection (an HTTP/2 stream reset), which
	// says nothing of the operator (it failed a CI run once).
	err = wait.For(r.ctx, wait.Options{What: "Deployments and Memcacheds to be listed", Timeout: 30 * time.Second, Interval: time.Second},
		func(ctx context.Context) (bool, string, error) {
			if err := r.k8s.List(ctx, list); err != nil {
				return false, err.Error(), nil
			}
			if err := r.k8s.List(ctx, mcs); err != nil {
				return false, err.Error(), nil
			}
			return true, "", nil
		})
	if err != nil {
		return 0, 0, err
	}
	owned := map[types.UID]int{}
	for _, d := range list.Items {
		for _, ref := range d.OwnerReferences {
			if ref.Kind == "Memcached" && ptr.Deref(ref.Controller, false) {
				owned[ref.UID]++
			}
		}
	}
	for _, mc := range mcs.Items {
		switch owned[mc.UID] {
		case 0:
			missing++
		case 1:
		default:
			dup++
		}
	}
	return dup, missing, nil
}
