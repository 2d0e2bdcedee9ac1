package controllers

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/validation"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ParseWatchNamespace reads WATCH_NAMESPACE as OLM sets it from an
// OperatorGroup's target namespaces: "" watches every namespace, "a" one,
// "a,b" several.
func ParseWatchNamespace(v string) ([]string, error) {
	if strings.TrimSpace(v) == "" {
		return nil, nil
	}
	var out []string
	for _, ns := range strings.Split(v, ",") {
		ns = strings.TrimSpace(ns)
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			return nil, fmt.Errorf("WATCH_NAMESPACE=%q: %q is not a namespace name: %s", v, ns, strings.Join(errs, "; "))
		}
		out = append(out, ns)
	}
	return out, nil
}

// CacheOptions scopes the manager's cache to the watched namespaces and
// keeps only the operator's own Deployments and Pods in memory, which is
// most of what a cluster holds.
func CacheOptions(namespaces []string) cache.Options {
	owned := cache.ByObject{Label: labels.SelectorFromSet(labels.Set{LabelManagedBy: ManagerName})}
	opts := cache.Options{
		ByObject: map[client.Object]cache.ByObject{
			&appsv1.Deployment{}: owned,
			&corev1.Pod{}:        owned,
		},
	}
	if len(namespaces) > 0 {
		opts.DefaultNamespaces = make(map[string]cache.Config, len(namespaces))
		for _, ns := range namespaces {
			opts.DefaultNamespaces[ns] = cache.Config{}
		}
	}
	return opts
}
