package main

import (
	"context"
	"fmt"
	"os"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// metricsReaderRole is the shipped role a scraper is bound to.
const metricsReaderRole = "config/rbac/metrics_reader_role.yaml"

// scraperName is the ServiceAccount the harness scrapes as.
const scraperName = "bench-metrics-scraper"

// scraperToken creates a ServiceAccount bound to the shipped metrics-reader
// ClusterRole and returns a token of it, as a Prometheus in the cluster
// would hold one.
func scraperToken(ctx context.Context, k8s client.Client, cs kubernetes.Interface) (string, error) {
	b, err := os.ReadFile(metricsReaderRole)
	if err != nil {
		return "", err
	}
	role := &rbacv1.ClusterRole{}
	if err := yaml.UnmarshalStrict(b, role); err != nil {
		return "", fmt.Errorf("%s: %w", metricsReaderRole, err)
	}
	ns := metav1.NamespaceDefault
	binding := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: scraperName},
		RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: role.Name},
		Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: scraperName, Namespace: ns}},
	}
	for _, obj := range []client.Object{role, binding, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: scraperName, Namespace: ns}}} {
		if err := k8s.Create(ctx, obj); err != nil && !apierrors.IsAlreadyExists(err) {
			return "", fmt.Errorf("create %T %s: %w", obj, obj.GetName(), err)
		}
	}
	tok, err := cs.CoreV1().ServiceAccounts(ns).CreateToken(ctx, scraperName,
		&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: ptr.To(int64(3600))}}, metav1.CreateOptions{})
	if err != nil {
		return "", fmt.Errorf("token of ServiceAccount %s/%s: %w", ns, scraperName, err)
	}
	return tok.Status.Token, nil
}
