// Package olm drives the Operator Lifecycle Manager the way operator-sdk's
// `run bundle`, `run bundle-upgrade` and `cleanup` do, and explains what
// OLM is doing when an install stalls.
package olm

import (
	"context"
	"fmt"
	"io"
	"time"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/example-inc/memcached-operator/internal/wait"
)

// Channel is the channel of the one-bundle catalogs run bundle serves,
// named as operator-sdk names its own.
const Channel = "operator-sdk-run-bundle"

// managedLabel marks what run bundle created, so cleanup removes only that.
const managedLabel = "sdk.example.com/run-bundle"

// defaultCleanupQuiet is CleanupQuiet when unset.
const defaultCleanupQuiet = 3 * time.Second

// defaultFailedGrace is FailedGrace when unset.
const defaultFailedGrace = 10 * time.Second

// Client talks to OLM's API on a cluster.
type Client struct {
	client.Client
	// Poll is how often waits look again (the wait's Interval);
	// wait.DefaultInterval when zero.
	Poll time.Duration
	// FailedGrace is how long a CSV may read Failed before a wait gives up:
	// during an upgrade the new CSV flickers through Failed while the old
	// one's RBAC goes away.
	FailedGrace time.Duration
	// CleanupQuiet is how long nothing of a package may come back before
	// Cleanup is done; defaultCleanupQuiet when zero.
	CleanupQuiet time.Duration
}

// waitOptions describe one of the client's waits: bounded by the caller's
// context, checked every Poll, explained by diagnose on timeout.
func (c *Client) waitOptions(what string, diagnose func(context.Context) string) wait.Options {
	return wait.Options{What: what, Interval: c.Poll, Diagnose: diagnose}
}

// diagnoseSubscription explains a stall of anything a Subscription leads to.
func (c *Client) diagnoseSubscription(ns, sub string) func(context.Context) string {
	return func(ctx context.Context) string { return c.Diagnose(ctx, ns, sub) }
}

// say reports progress to out, when there is one.
func say(out io.Writer, format string, args ...any) {
	if out != nil {
		fmt.Fprintf(out, format+"\n", args...)
	}
}
