// Package fleet is the Memcacheds a benchmark or the reliability harness
// creates: spread over Namespaces namespaces as users' would be, named by
// Key and sized by Size.
package fleet

import (
	"context"
	"fmt"
	"sync"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// Namespaces is how many namespaces the Memcacheds are spread over.
const Namespaces = 10

// Namespace is the i-th namespace (0 to Namespaces-1).
func Namespace(i int) string { return fmt.Sprintf("bench-%d", i) }

// CreateNamespaces creates the namespaces.
func CreateNamespaces(ctx context.Context, k8s client.Client) error {
	for i := 0; i < Namespaces; i++ {
		if err := k8s.Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: Namespace(i)}}); err != nil {
			return fmt.Errorf("create namespace %s: %w", Namespace(i), err)
		}
	}
	return nil
}

// Key names the i-th Memcached.
func Key(i int) client.ObjectKey {
	return client.ObjectKey{Namespace: Namespace(i % Namespaces), Name: fmt.Sprintf("mc-%d", i)}
}

// Size is the i-th Memcached's size: 1 to 3.
func Size(i int) int32 { return int32(i%3 + 1) }

// Batch is which Memcacheds Create makes: the indices [First, First+N),
// named by Key and sized by Size (the package's Size, 1 to 3, when nil).
type Batch struct {
	First, N int
	Size     func(i int) int32
}

// Create creates a batch of Memcacheds from 32 clients at once and returns
// when each was created (indexed from the batch's first).
func Create(ctx context.Context, k8s client.Client, b Batch) ([]time.Time, error) {
	if b.Size == nil {
		b.Size = Size
	}
	n := b.N
	created := make([]time.Time, n)
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for w := 0; w < 32; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				key := Key(b.First + i)
				mc := &cachev1.Memcached{ObjectMeta: metav1.ObjectMeta{Namespace: key.Namespace, Name: key.Name}, Spec: cachev1.MemcachedSpec{Size: b.Size(b.First + i)}}
				created[i] = time.Now()
				if err := k8s.Create(ctx, mc); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := 0; i < n; i++ {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, err
	}
	return created, nil
}
