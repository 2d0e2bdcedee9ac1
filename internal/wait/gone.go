package wait

import (
	"context"
	"fmt"
	"reflect"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// Gone waits until obj (its kind, namespace and name) is no longer found:
// deleted and, where it had finalizers, finalized. obj is overwritten with
// what each read returns. What in o is filled in when empty.
func Gone(ctx context.Context, c client.Reader, obj client.Object, o Options) error {
	key := client.ObjectKeyFromObject(obj)
	if o.What == "" {
		o.What = fmt.Sprintf("%s %s to be gone", reflect.TypeOf(obj).Elem().Name(), key)
	}
	return For(ctx, o, func(ctx context.Context) (bool, string, error) {
		err := c.Get(ctx, key, obj)
		switch {
		case apierrors.IsNotFound(err):
			return true, "", nil
		case err != nil:
			// A read that fails for another cause is retried: the
			// timeout says what was awaited and this last error.
			return false, err.Error(), nil
		}
		state := "still there"
		if ts := obj.GetDeletionTimestamp(); ts != nil {
			state = fmt.Sprintf("deleting since %s, finalizers %v", ts.UTC().Format("15:04:05"), obj.GetFinalizers())
		}
		return false, state, nil
	})
}
