package framework

import (
	"context"
	"fmt"
	"strings"
	"time"

	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"

	cachev1 "github.com/example-inc/memcached-operator/api/v1"
	"github.com/example-inc/memcached-operator/internal/olm"
	"github.com/example-inc/memcached-operator/internal/wait"
)

// Leftovers lists what is left of a package that `run bundle` installed in
// ns once its cleanup (ours or operator-sdk's) ran: OLM's objects in the
// namespace (Subscriptions, CSVs, CatalogSources, InstallPlans,
// OperatorGroups, unpack Jobs), its pods and ConfigMaps (which OLM's garbage
// collection removes shortly after their owners, so they get a minute), the
// bundle's ClusterRoles and bindings (labelled olm.owner with one of the
// package's CSVs), the CRD and OLM's Operator object. Empty: nothing left.
func Leftovers(ctx context.Context, c client.Client, pkg, ns string) ([]string, error) {
	var left []string
	for _, list := range []client.ObjectList{&operatorsv1alpha1.SubscriptionList{}, &operatorsv1alpha1.ClusterServiceVersionList{},
		&operatorsv1alpha1.CatalogSourceList{}, &operatorsv1alpha1.InstallPlanList{}, &operatorsv1.OperatorGroupList{}, &batchv1.JobList{}} {
		if err := c.List(ctx, list, client.InNamespace(ns)); err != nil {
			return nil, err
		}
		left = append(left, names(list)...)
	}
	var inNamespace []string
	err := wait.For(ctx, wait.Options{What: "the namespace's pods and ConfigMaps to go", Timeout: time.Minute}, func(ctx context.Context) (bool, string, error) {
		var err error
		inNamespace, err = podsAndConfigMaps(ctx, c, ns)
		return len(inNamespace) == 0, strings.Join(inNamespace, ", "), err
	})
	if _, timedOut := err.(*wait.Error); err != nil && !timedOut {
		return nil, err
	}
	left = append(left, inNamespace...)
	for _, list := range []client.ObjectList{&rbacv1.ClusterRoleList{}, &rbacv1.ClusterRoleBindingList{}} {
		if err := c.List(ctx, list, client.HasLabels{"olm.owner"}); err != nil {
			return nil, err
		}
		for _, o := range olm.ListItems(list) {
			if olm.IsPackageCSV(o.GetLabels()["olm.owner"], pkg) {
				left = append(left, fmt.Sprintf("%s %s (olm.owner %s)", kind(list), o.GetName(), o.GetLabels()["olm.owner"]))
			}
		}
	}
	for name, obj := range map[string]client.Object{cachev1.CRDName: &apiextensionsv1.CustomResourceDefinition{}, pkg + "." + ns: &operatorsv1.Operator{}} {
		if err := c.Get(ctx, client.ObjectKey{Name: name}, obj); err == nil {
			left = append(left, fmt.Sprintf("%T %s", obj, name))
		} else if !apierrors.IsNotFound(err) {
			return nil, err
		}
	}
	return left, nil
}

func podsAndConfigMaps(ctx context.Context, c client.Client, ns string) ([]string, error) {
	pods, cms := &corev1.PodList{}, &corev1.ConfigMapList{}
	if err := c.List(ctx, pods, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	if err := c.List(ctx, cms, client.InNamespace(ns)); err != nil {
		return nil, err
	}
	left := names(pods)
	for _, cm := range cms.Items {
		if cm.Name != "kube-root-ca.crt" {
			left = append(left, "ConfigMap "+cm.Name)
		}
	}
	return left, nil
}

// names are "Kind name" for each item of a list.
func names(list client.ObjectList) []string {
	var out []string
	for _, o := range olm.ListItems(list) {
		out = append(out, kind(list)+" "+o.GetName())
	}
	return out
}

// kind is the kind a list holds, from its Go type (PodList -> Pod).
func kind(list client.ObjectList) string {
	return strings.TrimSuffix(fmt.Sprintf("%T", list)[strings.LastIndex(fmt.Sprintf("%T", list), ".")+1:], "List")
}
