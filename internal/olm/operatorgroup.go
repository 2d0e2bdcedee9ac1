package olm

import (
	"context"
	"errors"
	"fmt"
	"strings"

	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	operatorsv1alpha1 "github.com/operator-framework/api/pkg/operators/v1alpha1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"
)

// ensureOperatorGroup reuses the namespace's OperatorGroup or creates one
// for the install mode: the one asked for, else the first the bundle
// supports of AllNamespaces and OwnNamespace (operator-sdk's order).
func (c *Client) ensureOperatorGroup(ctx context.Context, o RunOptions, rb *renderedBundle) error {
	supported := map[operatorsv1alpha1.InstallModeType]bool{}
	for _, m := range rb.modes {
		supported[m.Type] = m.Supported
	}
	groups := &operatorsv1.OperatorGroupList{}
	if err := c.List(ctx, groups, client.InNamespace(o.Namespace)); err != nil {
		return fmt.Errorf("list OperatorGroups in %s: %w", o.Namespace, err)
	}
	switch len(groups.Items) {
	case 0:
	case 1:
		og := groups.Items[0]
		say(o.Out, "using OperatorGroup %s/%s (targets %v)", o.Namespace, og.Name, targetsOrAll(og.Spec.TargetNamespaces))
		return nil
	default:
		return fmt.Errorf("namespace %s has %d OperatorGroups; OLM needs exactly one: delete all but one", o.Namespace, len(groups.Items))
	}

	mode, targets, err := chooseInstallMode(o.InstallMode, o.Namespace, supported)
	if err != nil {
		return fmt.Errorf("bundle %s: %w", rb.csvName, err)
	}
	og := &operatorsv1.OperatorGroup{
		ObjectMeta: metav1.ObjectMeta{Name: rb.pkg + "-og", Namespace: o.Namespace, Labels: map[string]string{managedLabel: rb.pkg}},
		Spec:       operatorsv1.OperatorGroupSpec{TargetNamespaces: targets},
	}
	if err := c.Create(ctx, og); err != nil {
		return fmt.Errorf("create OperatorGroup %s/%s: %w", o.Namespace, og.Name, err)
	}
	say(o.Out, "created OperatorGroup %s/%s for install mode %s (targets %v)", o.Namespace, og.Name, mode, targetsOrAll(targets))
	return nil
}

func targetsOrAll(t []string) string {
	if len(t) == 0 {
		return "all namespaces"
	}
	return strings.Join(t, ",")
}

// chooseInstallMode turns --install-mode (empty: operator-sdk's choice) into
// the OperatorGroup's target namespaces for a bundle that supports the modes
// marked true.
func chooseInstallMode(flag, ns string, supported map[operatorsv1alpha1.InstallModeType]bool) (operatorsv1alpha1.InstallModeType, []string, error) {
	if flag == "" {
		switch {
		case supported[operatorsv1alpha1.InstallModeTypeAllNamespaces]:
			return operatorsv1alpha1.InstallModeTypeAllNamespaces, nil, nil
		case supported[operatorsv1alpha1.InstallModeTypeOwnNamespace]:
			return operatorsv1alpha1.InstallModeTypeOwnNamespace, []string{ns}, nil
		}
		return "", nil, errors.New("supports neither AllNamespaces nor OwnNamespace: pass --install-mode SingleNamespace=NS or MultiNamespace=NS1,NS2")
	}
	name, value, _ := strings.Cut(flag, "=")
	mode := operatorsv1alpha1.InstallModeType(name)
	var targets []string
	switch mode {
	case operatorsv1alpha1.InstallModeTypeAllNamespaces:
	case operatorsv1alpha1.InstallModeTypeOwnNamespace:
		targets = []string{ns}
	case operatorsv1alpha1.InstallModeTypeSingleNamespace, operatorsv1alpha1.InstallModeTypeMultiNamespace:
		if value == "" {
			return "", nil, fmt.Errorf("--install-mode %s needs namespaces: %s=NS[,NS]", name, name)
		}
		targets = strings.Split(value, ",")
	default:
		return "", nil, fmt.Errorf("--install-mode %q: want AllNamespaces, OwnNamespace, SingleNamespace=NS or MultiNamespace=NS1,NS2", flag)
	}
	if !supported[mode] {
		return "", nil, fmt.Errorf("does not support install mode %s", mode)
	}
	return mode, targets, nil
}

// TargetNamespaces is what OLM's install mode gave a CSV (its
// olm.targetNamespaces annotation), as the operator reads it in
// WATCH_NAMESPACE ("" for all namespaces).
func (c *Client) TargetNamespaces(ctx context.Context, ns, csvName string) (string, error) {
	csv := &operatorsv1alpha1.ClusterServiceVersion{}
	if err := c.Get(ctx, types.NamespacedName{Namespace: ns, Name: csvName}, csv); err != nil {
		return "", fmt.Errorf("ClusterServiceVersion %s/%s: %w", ns, csvName, err)
	}
	v, ok := csv.Annotations[operatorsv1.OperatorGroupTargetsAnnotationKey]
	if !ok {
		return "", fmt.Errorf("ClusterServiceVersion %s/%s has no %s annotation yet", ns, csvName, operatorsv1.OperatorGroupTargetsAnnotationKey)
	}
	return v, nil
}
