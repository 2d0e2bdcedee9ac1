package localcluster

import (
	"context"
	"fmt"

	toolscache "k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/kubeclient"
)

// Watch runs an informer per object type, calling its handler on every
// add and update, and returns once they have synced; cancel stops them.
// It is how a harness sees the cluster: watches, never polling (polling
// would add load the API server then reports).
func (c *Cluster) Watch(ctx context.Context, handlers map[client.Object]func(any)) (context.CancelFunc, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", c.Kubeconfig())
	if err != nil {
		return nil, err
	}
	ca, err := cache.New(cfg, cache.Options{Scheme: kubeclient.Scheme()})
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	for obj, handle := range handlers {
		inf, err := ca.GetInformer(ctx, obj)
		if err != nil {
			cancel()
			return nil, err
		}
		if _, err := inf.AddEventHandler(toolscache.ResourceEventHandlerFuncs{
			AddFunc: handle, UpdateFunc: func(_, obj any) { handle(obj) },
		}); err != nil {
			cancel()
			return nil, err
		}
	}
	go func() { _ = ca.Start(ctx) }()
	if !ca.WaitForCacheSync(ctx) {
		cancel()
		return nil, fmt.Errorf("the harness's watches did not sync")
	}
	return cancel, nil
}
