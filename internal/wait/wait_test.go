package wait

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestForDone(t *testing.T) {
	calls := 0
	err := For(context.Background(), Options{What: "three calls", Interval: time.Millisecond}, func(context.Context) (bool, string, error) {
		calls++
		return calls == 3, "", nil
	})
	if err != nil || calls != 3 {
		t.Fatalf("err %v after %d calls, want nil after 3", err, calls)
	}
}

func TestForTimeoutSaysWhatAndLastState(t *testing.T) {
	err := For(context.Background(), Options{
		What: "the thing to be ready", Interval: time.Millisecond, Timeout: 20 * time.Millisecond,
		Diagnose: func(ctx context.Context) string {
			if ctx.Err() != nil {
				t.Error("the diagnosis got a dead context")
			}
			return "  thing: not ready because of X"
		},
	}, func(context.Context) (bool, string, error) { return false, "2 of 3 ready", nil })
	var we *Error
	if !errors.As(err, &we) {
		t.Fatalf("got %T %v, want *Error", err, err)
	}
	msg := err.Error()
	for _, want := range []string{"timed out after ", "waiting for the thing to be ready", "; last seen: 2 of 3 ready", "\n  thing: not ready because of X"} {
		if !strings.Contains(msg, want) {
			t.Errorf("message %q lacks %q", msg, want)
		}
	}
}

func TestForFailedEndsEarlyWithDiagnosis(t *testing.T) {
	start := time.Now()
	err := For(context.Background(), Options{What: "x", Timeout: time.Minute, Diagnose: func(context.Context) string { return "  why" }},
		func(context.Context) (bool, string, error) {
			return false, "phase Failed", Failed("plan %s failed", "p1")
		})
	if time.Since(start) > 5*time.Second {
		t.Fatal("a failed condition did not end the wait")
	}
	if got, want := err.Error(), "plan p1 failed; last seen: phase Failed\n  why"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

func TestForOtherErrorsPassThrough(t *testing.T) {
	boom := errors.New("boom")
	err := For(context.Background(), Options{What: "x"}, func(context.Context) (bool, string, error) { return false, "", boom })
	if !errors.Is(err, boom) {
		t.Fatalf("got %v, want boom", err)
	}
}

// A check whose request is cut off by the timeout is a timeout, with the
// diagnosis, not the request's context error.
func TestForTimeoutDuringCheck(t *testing.T) {
	calls := 0
	err := For(context.Background(), Options{What: "x", Interval: time.Millisecond, Timeout: 30 * time.Millisecond,
		Diagnose: func(context.Context) string { return "  why" }},
		func(ctx context.Context) (bool, string, error) {
			calls++
			if calls == 1 {
				return false, "first look", nil
			}
			<-ctx.Done()
			return false, "not found", ctx.Err()
		})
	var we *Error
	if !errors.As(err, &we) || we.LastState != "first look" || we.Diagnosis != "  why" {
		t.Fatalf("got %T %v, want a timeout *Error with the last real state and the diagnosis", err, err)
	}
}
