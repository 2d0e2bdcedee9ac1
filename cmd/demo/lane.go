package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"github.com/bradfitz/gomemcache/memcache"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/controllers"
	"github.com/example-inc/memcached-operator/internal/wait"
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
	d.record(start, "OLM runs %s's operator: pod %v", csv, pods)
	return nil
}

// waitReconciled waits until the operator of csv has reconciled the
// Memcached: on the real lane its memcached pods run the operand image the
// CSV names (an upgrade that changes it replaces them), then it is ready.
func (d *demo) waitReconciled(ctx context.Context, mc *cachev1.Memcached, csvName string) error {
	if d.catalogImage != "" {
		image, err := d.operandImage(ctx, csvName)
		if err != nil {
			return err
		}
		if err := d.waitOperand(ctx, mc, image); err != nil {
			return err
		}
	}
	return d.waitReady(ctx, mc)
}

// operandImage is the memcached image the CSV gives its operator.
func (d *demo) operandImage(ctx context.Context, csvName string) (string, error) {
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := d.k8s.Get(ctx, client.ObjectKey{Namespace: d.ns, Name: csvName}, csv); err != nil {
		return "", err
	}
	for _, spec := range csv.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, c := range spec.Spec.Template.Spec.Containers {
			for _, v := range c.Env {
				if v.Name == controllers.RelatedImageEnv {
					return v.Value, nil
				}
			}
		}
	}
	return "", fmt.Errorf("ClusterServiceVersion %s sets no %s", csvName, controllers.RelatedImageEnv)
}

// waitOperand waits until status.nodes lists spec.size pods, all running image.
func (d *demo) waitOperand(ctx context.Context, mc *cachev1.Memcached, image string) error {
	what := fmt.Sprintf("the pods of Memcached %s/%s to run %s", mc.Namespace, mc.Name, image)
	return wait.For(ctx, wait.Options{What: what}, func(ctx context.Context) (bool, string, error) {
		pods, err := d.listed(ctx, mc)
		if err != nil {
			return false, "", client.IgnoreNotFound(err)
		}
		if len(pods) != int(mc.Spec.Size) {
			return false, fmt.Sprintf("%d pods listed, size %d", len(pods), mc.Spec.Size), nil
		}
		for _, p := range pods {
			if p.Spec.Containers[0].Image != image {
				return false, fmt.Sprintf("pod %s runs %s", p.Name, p.Spec.Containers[0].Image), nil
			}
		}
		return true, "", nil
	})
}

// listed are the pods status.nodes names.
func (d *demo) listed(ctx context.Context, mc *cachev1.Memcached) ([]corev1.Pod, error) {
	names, err := d.podNames(ctx, mc)
	if err != nil {
		return nil, err
	}
	pods := make([]corev1.Pod, len(names))
	for i, name := range names {
		if err := d.k8s.Get(ctx, client.ObjectKey{Namespace: mc.Namespace, Name: name}, &pods[i]); err != nil {
			return nil, err
		}
	}
	return pods, nil
}

// answers sets a key in every memcached pod, through its IP on port 11211,
// and reads it back, as a client of the cache would.
func (d *demo) answers(ctx context.Context, mc *cachev1.Memcached) error {
	d.step("memcached answers: set and get a key on every pod")
	pods, err := d.listed(ctx, mc)
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
