// Package wait is the one way this repository waits for a cluster to reach a
// state: a condition polled on k8s.io/apimachinery's wait, and on timeout an
// error that says what was awaited, the last state seen and, when the caller
// can explain the stall, its diagnosis.
package wait

import (
	"context"
	"errors"
	"fmt"
	"time"

	kwait "k8s.io/apimachinery/pkg/util/wait"
)

// DefaultInterval is how often a condition is checked when Options leave it unset.
const DefaultInterval = 250 * time.Millisecond

// diagnoseTimeout bounds the diagnosis, which runs after the caller's context ended.
const diagnoseTimeout = 10 * time.Second

// Condition reports whether the wait is over. state is a short account of what it
// saw (kept for the timeout message); an error ends the wait at once.
type Condition func(ctx context.Context) (done bool, state string, err error)

// Options describe one wait.
type Options struct {
	// What completes "timed out waiting for ...", e.g. "CatalogSource ns/name to connect".
	What string
	// Interval between checks; DefaultInterval when zero.
	Interval time.Duration
	// Timeout bounds the wait in addition to the context; none when zero.
	Timeout time.Duration
	// Diagnose explains a timeout (what the cluster reports); it gets a fresh context.
	Diagnose func(ctx context.Context) string
}

// Error is a wait that did not finish: a timeout, or a condition that found the
// state can no longer be reached.
type Error struct {
	// What the message starts with: "timed out waiting for ..." or the failure.
	What string
	// LastState is the condition's last account of what it saw.
	LastState string
	// Diagnosis is what Options.Diagnose reported, one line per finding.
	Diagnosis string
}

func (e *Error) Error() string {
	msg := e.What
	if e.LastState != "" {
		msg += "; last seen: " + e.LastState
	}
	if e.Diagnosis != "" {
		msg += "\n" + e.Diagnosis
	}
	return msg
}

// Failed ends a wait early from inside a Condition: the state cannot be reached.
// The wait adds the diagnosis.
func Failed(format string, args ...any) error {
	return &Error{What: fmt.Sprintf(format, args...)}
}

// For checks cond at once and then every interval until it is done, it fails, or
// the context or the timeout ends. Timeouts and Failed errors come back as *Error
// carrying the diagnosis; other errors of cond come back as they are.
func For(ctx context.Context, o Options, cond Condition) error {
	interval := o.Interval
	if interval <= 0 {
		interval = DefaultInterval
	}
	if o.Timeout > 0 {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, o.Timeout)
		defer cancel()
	}
	start := time.Now()
	var last string
	err := kwait.PollUntilContextCancel(ctx, interval, true, func(ctx context.Context) (bool, error) {
		done, state, err := cond(ctx)
		if ctx.Err() != nil {
			// The time ran out during the check: what it saw, or the
			// error of its cut-off request, says nothing; the timeout does.
			return false, nil
		}
		if state != "" {
			last = state
		}
		return done, err
	})
	if err == nil {
		return nil
	}
	var failed *Error
	switch {
	case errors.As(err, &failed):
		failed.LastState = last
		failed.Diagnosis = diagnose(o)
		return failed
	case kwait.Interrupted(err):
		return &Error{
			What:      fmt.Sprintf("timed out after %s waiting for %s", time.Since(start).Round(time.Second), o.What),
			LastState: last,
			Diagnosis: diagnose(o),
		}
	}
	return err
}

func diagnose(o Options) string {
	if o.Diagnose == nil {
		return ""
	}
	// The caller's context has ended; the diagnosis needs one of its own.
	ctx, cancel := context.WithTimeout(context.Background(), diagnoseTimeout)
	defer cancel()
	return o.Diagnose(ctx)
}
