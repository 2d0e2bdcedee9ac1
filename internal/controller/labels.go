package controller

import (
	"fmt"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"

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

// checkName refuses a Memcached whose name is not a label value: it labels
// the Deployment and the pods (LabelInstance), and a label value has at most
// 63 characters, while the API server accepts names of up to 253.
func checkName(mc *cachev1.Memcached) error {
	if errs := validation.IsValidLabelValue(mc.Name); len(errs) > 0 {
		return fmt.Errorf("the name %s... (%d characters) cannot label its pods (%s): %s: %w",
			mc.Name[:min(len(mc.Name), 20)], len(mc.Name), LabelInstance, strings.Join(errs, "; "), errNameTooLong)
	}
	return nil
}
