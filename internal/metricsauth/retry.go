package metricsauth

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/apimachinery/pkg/util/wait"
)

// retry calls review until it answers, fails for good, or b's attempts or
// ctx run out, and returns the last answer or error. Only transient errors
// are retried: a refusal (403: the operator may not create reviews) or a bad
// request would only repeat.
func retry[T any](ctx context.Context, b wait.Backoff, review func(context.Context) (T, error)) (T, error) {
	var (
		out      T
		last     error
		attempts int
	)
	err := wait.ExponentialBackoffWithContext(ctx, b, func(ctx context.Context) (bool, error) {
		attempts++
		out, last = review(ctx)
		if last != nil && transient(last) {
			return false, nil
		}
		return true, last
	})
	switch {
	case err == nil:
		return out, nil
	case last == nil:
		// ctx ended before the first attempt.
		return out, err
	case attempts > 1:
		return out, fmt.Errorf("%d attempts: %w", attempts, last)
	default:
		return out, last
	}
}

// transient reports whether err may pass if the review is sent again: the
// API server is busy, restarting or changing leader, or the connection to
// it failed.
func transient(err error) bool {
	return apierrors.IsInternalError(err) ||
		apierrors.IsServerTimeout(err) ||
		apierrors.IsTooManyRequests(err) ||
		apierrors.IsTimeout(err) ||
		apierrors.IsServiceUnavailable(err) ||
		utilnet.IsConnectionRefused(err) ||
		utilnet.IsConnectionReset(err) ||
		utilnet.IsProbableEOF(err) ||
		utilnet.IsTimeout(err)
}
