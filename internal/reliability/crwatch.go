package reliability

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/localcluster"
	"github.com/example-inc/memcached-operator/internal/readiness"
)

// crWatch follows every Memcached: converged for its generation, the
// highest generation its status has reported (a lower one later is a
// regression), and whether it was ever Degraded.
type crWatch struct {
	mu    sync.Mutex
	ready map[client.ObjectKey]bool
	seen  map[client.ObjectKey]int64
	back  []string
	// degraded is the first Degraded=True each Memcached showed ("reason: message").
	degraded map[client.ObjectKey]string
	cancel   context.CancelFunc
}

func watchMemcacheds(ctx context.Context, c *localcluster.Cluster) (*crWatch, error) {
	w := &crWatch{ready: map[client.ObjectKey]bool{}, seen: map[client.ObjectKey]int64{}, degraded: map[client.ObjectKey]string{}}
	cancel, err := c.Watch(ctx, map[client.Object]func(any){&cachev1.Memcached{}: w.observe})
	if err != nil {
		return nil, err
	}
	w.cancel = cancel
	return w, nil
}

func (w *crWatch) stop() { w.cancel() }

func (w *crWatch) observe(obj any) {
	mc, ok := obj.(*cachev1.Memcached)
	if !ok {
		return
	}
	key := client.ObjectKeyFromObject(mc)
	ready, _ := readiness.Memcached(mc, readiness.AllFields)
	w.mu.Lock()
	defer w.mu.Unlock()
	w.ready[key] = ready
	g := mc.Status.ObservedGeneration
	if g < w.seen[key] {
		w.back = append(w.back, fmt.Sprintf("%s %d after %d", key, g, w.seen[key]))
	} else {
		w.seen[key] = g
	}
	for _, c := range mc.Status.Conditions {
		if _, seen := w.degraded[key]; !seen && c.Type == cachev1.ConditionDegraded && c.Status == metav1.ConditionTrue {
			w.degraded[key] = c.Reason + ": " + c.Message
		}
	}
}

func (w *crWatch) converged() int {
	w.mu.Lock()
	defer w.mu.Unlock()
	n := 0
	for _, r := range w.ready {
		if r {
			n++
		}
	}
	return n
}

func (w *crWatch) regressions() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return slices.Clone(w.back)
}

func (w *crWatch) degradedEver() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	var out []string
	for k, why := range w.degraded {
		out = append(out, fmt.Sprintf("%s (%s)", k, why))
	}
	sort.Strings(out)
	return out
}
