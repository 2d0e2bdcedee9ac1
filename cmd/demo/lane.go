package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/csv"
	"github.com/example-inc/memcached-operator/internal/managerenv"
	"github.com/example-inc/memcached-operator/internal/readiness"
)

// What differs between the lanes: who runs the operator (OLM's pod on the
// real node, or a local process), the namespace's Pod Security, and whether
// memcached can answer.

// podSecurity labels the demo namespace: the operator and memcached pods of
// every release since 0.2.0 meet the restricted standard, 0.1.0's operator
// Deployment sets no security context (released bundles do not change), so
// the real lane enforces baseline and warns about anything not restricted.
func (d *demo) podSecurity() map[string]string {
	if d.catalogImage == "" {
		return nil
	}
	return map[string]string{
		"pod-security.kubernetes.io/enforce": "baseline", "pod-security.kubernetes.io/warn": "restricted",
	}
}

// runOperator waits for OLM's operator pod of the CSV (the real lane), or
// runs the manager here in its place.
func (d *demo) runOperator(ctx context.Context, csv string) error {
	if d.catalogImage == "" {
		return d.startOperator(ctx, csv)
	}
	start := time.Now()
	pods, err := d.olm.WaitForOperator(ctx, d.ns, csv)
	if err != nil {
		return err
	}
	d.record(start, stepOperator, "OLM runs %s's operator: pod %v", csv, pods)
	return nil
}

// waitReconciled waits until the operator of csv has reconciled the
// Memcached: ready by the fields the served CRD has and, on the real lane,
// every memcached pod running the operand image the CSV names (an upgrade
// that changes it replaces them).
func (d *demo) waitReconciled(ctx context.Context, mc *cachev1.Memcached, csvName string) error {
	image := ""
	if d.catalogImage != "" {
		c := &operatorsv1alpha1.ClusterServiceVersion{}
		if err := d.k8s.Get(ctx, client.ObjectKey{Namespace: d.ns, Name: csvName}, c); err != nil {
			return err
		}
		var ok bool
		if image, ok = csv.OperandImage(c); !ok {
			return fmt.Errorf("ClusterServiceVersion %s sets no %s", csvName, managerenv.RelatedImage)
		}
	}
	return d.waitReady(ctx, mc, image)
}

// answers sets a key in every memcached pod, through its IP on port 11211,
// and reads it back, as a client of the cache would.
func (d *demo) answers(ctx context.Context, mc *cachev1.Memcached) error {
	d.step("memcached answers: set and get a key on every pod")
	pods, err := readiness.ListedPods(ctx, d.k8s, client.ObjectKeyFromObject(mc))
	if err != nil {
		return err
	}
	for _, p := range pods {
		addr := net.JoinHostPort(p.Status.PodIP, "11211")
		c := memcache.New(addr)
		c.Timeout = 2 * time.Second
		key, value := "demo", "served by "+p.Name
		if err := c.Set(&memcache.Item{Key: key, Value: []byte(value)}); err != nil {
			return fmt.Errorf("memcached pod %s at %s: set: %w", p.Name, addr, err)
		}
		it, err := c.Get(key)
		if err != nil {
			return fmt.Errorf("memcached pod %s at %s: get: %w", p.Name, addr, err)
		}
		fmt.Printf("    %s: get %s = %q\n", addr, key, it.Value)
	}
	return nil
}
