package controllers

import (
	cachev1 "github.com/example-inc/memcached-operator/api/v1"
)

// Label keys and values the operator puts on the objects it owns.
const (
	LabelName      = "app.kubernetes.io/name"
	LabelInstance  = "app.kubernetes.io/instance"
	LabelManagedBy = "app.kubernetes.io/managed-by"

	// AppName is the value of LabelName on every operand object.
	AppName = "memcached"
	// ManagerName is the value of LabelManagedBy; the operator's caches only
	// hold Deployments and Pods that carry it.
	ManagerName = "memcached-operator"
)

// selectorLabels select the pods of one Memcached. They are immutable on a
// Deployment, so nothing that can change belongs here.
func selectorLabels(mc *cachev1.Memcached) map[string]string {
	return map[string]string{
		LabelName:     AppName,
		LabelInstance: mc.Name,
	}
}

// objectLabels are selectorLabels plus the managed-by mark.
func objectLabels(mc *cachev1.Memcached) map[string]string {
	l := selectorLabels(mc)
	l[LabelManagedBy] = ManagerName
	return l
}
