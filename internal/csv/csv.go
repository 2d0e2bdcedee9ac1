// Package csv builds an operator's ClusterServiceVersion from a hand-edited
// base and the manifests kustomize renders from config/, the way
// `operator-sdk generate bundle` does. Build is pure: no files, no clock.
package csv

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/lib/version"
	operatorsv1 "github.com/operator-framework/api/pkg/operators/v1"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/example-inc/memcached-operator/internal/managerenv"
)

// Annotation keys the builder writes.
const (
	AnnotationContainerImage = "containerImage"
	AnnotationCreatedAt      = "createdAt"
	// AnnotationAlmExamples holds the example CRs (a JSON array) OperatorHub
	// and scorecard read.
	AnnotationAlmExamples = "alm-examples"
	// TargetNamespacesField is where OLM puts the OperatorGroup's target
	// namespaces on the operator's pods; the manager's
	// managerenv.WatchNamespace reads it.
	TargetNamespacesField = "metadata.annotations['" + operatorsv1.OperatorGroupTargetsAnnotationKey + "']"
	// relatedImagePrefix marks env vars whose values are operand images.
	relatedImagePrefix = "RELATED_IMAGE_"
)

// Inputs are what one release of the bundle is made of.
type Inputs struct {
	// Package is the OLM package name; the CSV is named <Package>.v<Version>.
	Package string
	// Base is the hand-edited CSV (config/manifests/bases).
	Base *v1alpha1.ClusterServiceVersion
	// Objects are the rendered manifests of config/manifests, base CSV excluded.
	Objects []*unstructured.Unstructured
	Version semver.Version
	// Replaces is the CSV name this release replaces; empty for none.
	Replaces string
	// SkipRange is the olm.skipRange annotation; empty for none.
	SkipRange string
	// OperatorImage, when set, replaces the manager container's image.
	OperatorImage string
	// CreatedAt is the createdAt annotation (RFC 3339).
	CreatedAt string
}

// Result is a CSV and the manifests that go beside it in a bundle.
type Result struct {
	CSV  *v1alpha1.ClusterServiceVersion
	CRDs []*apiextensionsv1.CustomResourceDefinition
	// Others are the remaining objects OLM installs as they are (Services,
	// ClusterRoles not bound to the operator, ...), sorted by kind and name.
	Others []*unstructured.Unstructured
}

// Build turns inputs into a CSV. Errors name the object that caused them.
func Build(in Inputs) (*Result, error) {
	objs, err := checkInputs(in)
	if err != nil {
		return nil, err
	}
	csv := releaseOf(in)
	deployments := installDeployments(objs.deployments, in.OperatorImage)
	unbound := setInstallStrategy(csv, objs, deployments)
	csv.Spec.CustomResourceDefinitions.Owned = ownedCRDs(in.Base.Spec.CustomResourceDefinitions.Owned, objs.crds)
	if err := setExamples(csv, objs.samples); err != nil {
		return nil, err
	}
	setImages(csv, deployments)
	return &Result{CSV: csv, CRDs: objs.crds, Others: shippedAsIs(append(objs.others, unbound...))}, nil
}

// checkInputs refuses inputs no CSV can be made of, and sorts the manifests
// by the role they play in the bundle.
func checkInputs(in Inputs) (*objects, error) {
	if in.Base == nil {
		return nil, fmt.Errorf("no CSV base")
	}
	if in.Package == "" {
		return nil, fmt.Errorf("no package name")
	}
	objs, err := sortObjects(in.Objects)
	if err != nil {
		return nil, err
	}
	if len(objs.deployments) == 0 {
		return nil, fmt.Errorf("no Deployment in the manifests: the operator needs one to install")
	}
	return objs, nil
}

// releaseOf is a copy of the base named, versioned and annotated for this
// release.
func releaseOf(in Inputs) *v1alpha1.ClusterServiceVersion {
	csv := in.Base.DeepCopy()
	csv.Name = fmt.Sprintf("%s.v%s", in.Package, in.Version)
	// As operator-sdk does: OLM sets the real namespace at install time.
	csv.Namespace = "placeholder"
	csv.Spec.Version = version.OperatorVersion{Version: in.Version}
	csv.Spec.Replaces = in.Replaces
	if csv.Annotations == nil {
		csv.Annotations = map[string]string{}
	}
	delete(csv.Annotations, v1alpha1.SkipRangeAnnotationKey)
	if in.SkipRange != "" {
		csv.Annotations[v1alpha1.SkipRangeAnnotationKey] = in.SkipRange
	}
	if in.CreatedAt != "" {
		csv.Annotations[AnnotationCreatedAt] = in.CreatedAt
	}
	return csv
}

// setInstallStrategy gives the CSV the deployments and the permissions of
// their service accounts, and returns the roles bound to none of them.
func setInstallStrategy(csv *v1alpha1.ClusterServiceVersion, objs *objects, deployments []v1alpha1.StrategyDeploymentSpec) (unbound []*unstructured.Unstructured) {
	perms, clusterPerms, unbound := permissions(objs, serviceAccounts(deployments))
	csv.Spec.InstallStrategy = v1alpha1.NamedInstallStrategy{
		StrategyName: v1alpha1.InstallStrategyNameDeployment,
		StrategySpec: v1alpha1.StrategyDetailsDeployment{
			DeploymentSpecs:    deployments,
			Permissions:        perms,
			ClusterPermissions: clusterPerms,
		},
	}
	return unbound
}

// setExamples puts the samples in the alm-examples annotation.
func setExamples(csv *v1alpha1.ClusterServiceVersion, samples []*unstructured.Unstructured) error {
	examples, err := almExamples(samples)
	if err != nil {
		return err
	}
	if examples != "" {
		csv.Annotations[AnnotationAlmExamples] = examples
	}
	return nil
}

// setImages lists the images the deployments use (spec.relatedImages) and
// names the operator's in the containerImage annotation.
func setImages(csv *v1alpha1.ClusterServiceVersion, deployments []v1alpha1.StrategyDeploymentSpec) {
	csv.Spec.RelatedImages = relatedImages(deployments)
	if img := managerImage(deployments); img != "" {
		csv.Annotations[AnnotationContainerImage] = img
	}
}

// shippedAsIs readies the objects OLM installs as they are: no namespace,
// sorted by kind and name.
func shippedAsIs(others []*unstructured.Unstructured) []*unstructured.Unstructured {
	for _, o := range others {
		// As operator-sdk's generator does: OLM creates them in the namespace
		// it installs the operator in, and operator-registry's bundle
		// validation refuses a namespace on them.
		o.SetNamespace("")
	}
	sort.Slice(others, func(i, j int) bool { return objectKey(others[i]) < objectKey(others[j]) })
	return others
}

// objects are the rendered manifests by the role they play in a bundle.
type objects struct {
	crds        []*apiextensionsv1.CustomResourceDefinition
	deployments []*appsv1.Deployment
	roles       map[string]*unstructured.Unstructured // "Role/name" or "ClusterRole/name"
	bindings    []*rbacv1.RoleBinding                 // ClusterRoleBindings have Namespace ""
	samples     []*unstructured.Unstructured
	others      []*unstructured.Unstructured
}

func sortObjects(in []*unstructured.Unstructured) (*objects, error) {
	o := &objects{roles: map[string]*unstructured.Unstructured{}}
	var candidates []*unstructured.Unstructured
	for _, u := range in {
		gvk := u.GroupVersionKind()
		switch {
		case gvk.Kind == "Namespace" && gvk.Group == "":
			// OLM installs into the namespace the user picks.
		case gvk.Kind == "ServiceAccount" && gvk.Group == "":
			// OLM creates the service accounts the install strategy names.
		case gvk.Kind == "ClusterServiceVersion":
			return nil, fmt.Errorf("%s: a second ClusterServiceVersion in the manifests; keep only the base in config/manifests/bases", u.GetName())
		case gvk.Kind == "CustomResourceDefinition" && gvk.Group == apiextensionsv1.GroupName:
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := fromUnstructured(u, crd); err != nil {
				return nil, err
			}
			o.crds = append(o.crds, crd)
		case gvk.Kind == "Deployment" && gvk.Group == appsv1.GroupName:
			d := &appsv1.Deployment{}
			if err := fromUnstructured(u, d); err != nil {
				return nil, err
			}
			o.deployments = append(o.deployments, d)
		case (gvk.Kind == "Role" || gvk.Kind == "ClusterRole") && gvk.Group == rbacv1.GroupName:
			o.roles[gvk.Kind+"/"+u.GetName()] = u
		case (gvk.Kind == "RoleBinding" || gvk.Kind == "ClusterRoleBinding") && gvk.Group == rbacv1.GroupName:
			b := &rbacv1.RoleBinding{}
			if err := fromUnstructured(u, b); err != nil {
				return nil, err
			}
			if gvk.Kind == "ClusterRoleBinding" {
				b.Namespace = ""
			}
			o.bindings = append(o.bindings, b)
		default:
			candidates = append(candidates, u)
		}
	}
	// Objects of an owned kind are samples (alm-examples); the rest ship as is.
	owned := map[string]bool{}
	for _, crd := range o.crds {
		for _, v := range crd.Spec.Versions {
			owned[crd.Spec.Group+"/"+v.Name+"/"+crd.Spec.Names.Kind] = true
		}
	}
	for _, u := range candidates {
		gvk := u.GroupVersionKind()
		if owned[gvk.Group+"/"+gvk.Version+"/"+gvk.Kind] {
			o.samples = append(o.samples, u)
		} else {
			o.others = append(o.others, u)
		}
	}
	return o, nil
}

func fromUnstructured(u *unstructured.Unstructured, into any) error {
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, into); err != nil {
		return fmt.Errorf("%s %s: %w", u.GetKind(), u.GetName(), err)
	}
	return nil
}

// installDeployments makes the install strategy's deployments: the manager
// container takes the operator image, and WATCH_NAMESPACE follows the
// OperatorGroup's target namespaces so every install mode is honoured.
func installDeployments(deps []*appsv1.Deployment, operatorImage string) []v1alpha1.StrategyDeploymentSpec {
	var out []v1alpha1.StrategyDeploymentSpec
	for _, d := range deps {
		spec := *d.Spec.DeepCopy()
		for i := range spec.Template.Spec.Containers {
			c := &spec.Template.Spec.Containers[i]
			if c.Name == managerContainer && operatorImage != "" {
				c.Image = operatorImage
			}
			for j := range c.Env {
				if c.Env[j].Name == managerenv.WatchNamespace {
					c.Env[j] = corev1.EnvVar{Name: managerenv.WatchNamespace, ValueFrom: &corev1.EnvVarSource{
						FieldRef: &corev1.ObjectFieldSelector{FieldPath: TargetNamespacesField},
					}}
				}
			}
		}
		out = append(out, v1alpha1.StrategyDeploymentSpec{Name: d.Name, Spec: spec, Label: d.Labels})
	}
	return out
}

// managerContainer is the operator's container in the manager Deployment.
const managerContainer = "manager"

func managerImage(deps []v1alpha1.StrategyDeploymentSpec) string {
	for _, d := range deps {
		for _, c := range d.Spec.Template.Spec.Containers {
			if c.Name == managerContainer {
				return c.Image
			}
		}
	}
	return ""
}

func serviceAccounts(deps []v1alpha1.StrategyDeploymentSpec) map[string]bool {
	sas := map[string]bool{}
	for _, d := range deps {
		sa := d.Spec.Template.Spec.ServiceAccountName
		if sa == "" {
			sa = "default"
		}
		sas[sa] = true
	}
	return sas
}

// permissions maps RBAC to the install strategy as operator-sdk does: rules
// a RoleBinding grants an operator service account (from a Role or a
// ClusterRole) become permissions, rules a ClusterRoleBinding grants become
// clusterPermissions. Those roles and bindings are consumed; roles bound to
// nobody of ours ship as they are (e.g. aggregated editor/viewer roles).
func permissions(o *objects, sas map[string]bool) (perms, clusterPerms []v1alpha1.StrategyDeploymentPermissions, unbound []*unstructured.Unstructured) {
	nsRules := map[string][]rbacv1.PolicyRule{}
	clusterRules := map[string][]rbacv1.PolicyRule{}
	used := map[string]bool{}
	for _, b := range o.bindings {
		key := b.RoleRef.Kind + "/" + b.RoleRef.Name
		role, ok := o.roles[key]
		if !ok {
			continue
		}
		for _, s := range b.Subjects {
			if s.Kind != rbacv1.ServiceAccountKind || !sas[s.Name] {
				continue
			}
			rules := rulesOf(role)
			if b.Namespace == "" {
				clusterRules[s.Name] = append(clusterRules[s.Name], rules...)
			} else {
				nsRules[s.Name] = append(nsRules[s.Name], rules...)
			}
			used[key] = true
		}
	}
	for key, role := range o.roles {
		if !used[key] {
			unbound = append(unbound, role)
		}
	}
	return toPermissions(nsRules), toPermissions(clusterRules), unbound
}

func rulesOf(role *unstructured.Unstructured) []rbacv1.PolicyRule {
	r := &rbacv1.ClusterRole{}
	// Role and ClusterRole share the rules field; a decoding error would
	// have failed kustomize already.
	_ = runtime.DefaultUnstructuredConverter.FromUnstructured(role.Object, r)
	return r.Rules
}

func toPermissions(rules map[string][]rbacv1.PolicyRule) []v1alpha1.StrategyDeploymentPermissions {
	var out []v1alpha1.StrategyDeploymentPermissions
	for sa, r := range rules {
		out = append(out, v1alpha1.StrategyDeploymentPermissions{ServiceAccountName: sa, Rules: r})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ServiceAccountName < out[j].ServiceAccountName })
	return out
}

// ownedCRDs lists every served version of every CRD, keeping the base's
// descriptors where it has an entry. Base entries with no CRD stay, so the
// bundle validator reports them instead of the builder hiding them.
func ownedCRDs(base []v1alpha1.CRDDescription, crds []*apiextensionsv1.CustomResourceDefinition) []v1alpha1.CRDDescription {
	byKey := map[string]v1alpha1.CRDDescription{}
	for _, d := range base {
		byKey[d.Name+"/"+d.Version] = d
	}
	var out []v1alpha1.CRDDescription
	seen := map[string]bool{}
	for _, crd := range crds {
		for _, v := range crd.Spec.Versions {
			if !v.Served {
				continue
			}
			key := crd.Name + "/" + v.Name
			d, ok := byKey[key]
			if !ok {
				d = v1alpha1.CRDDescription{Name: crd.Name, Version: v.Name}
			}
			d.Kind = crd.Spec.Names.Kind
			if d.DisplayName == "" {
				d.DisplayName = crd.Spec.Names.Kind
			}
			out = append(out, d)
			seen[key] = true
		}
	}
	for _, d := range base {
		if !seen[d.Name+"/"+d.Version] {
			out = append(out, d)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].Name+"/"+out[i].Version < out[j].Name+"/"+out[j].Version })
	return out
}

// almExamples is the JSON array OperatorHub shows as "create" templates.
func almExamples(samples []*unstructured.Unstructured) (string, error) {
	if len(samples) == 0 {
		return "", nil
	}
	sorted := append([]*unstructured.Unstructured(nil), samples...)
	sort.Slice(sorted, func(i, j int) bool { return objectKey(sorted[i]) < objectKey(sorted[j]) })
	var items []map[string]any
	for _, s := range sorted {
		c := s.DeepCopy()
		c.SetNamespace("")
		items = append(items, c.Object)
	}
	b, err := json.MarshalIndent(items, "", "  ")
	if err != nil {
		return "", fmt.Errorf("alm-examples: %w", err)
	}
	return string(b), nil
}

// relatedImages lists the operator image and every RELATED_IMAGE_* value,
// so disconnected mirrors copy all images the operator uses.
func relatedImages(deps []v1alpha1.StrategyDeploymentSpec) []v1alpha1.RelatedImage {
	seen := map[string]bool{}
	var out []v1alpha1.RelatedImage
	add := func(name, image string) {
		if image == "" || seen[name+"="+image] {
			return
		}
		seen[name+"="+image] = true
		out = append(out, v1alpha1.RelatedImage{Name: name, Image: image})
	}
	for _, d := range deps {
		for _, c := range d.Spec.Template.Spec.Containers {
			add(c.Name, c.Image)
			for _, e := range c.Env {
				if strings.HasPrefix(e.Name, relatedImagePrefix) {
					add(strings.ToLower(strings.TrimPrefix(e.Name, relatedImagePrefix)), e.Value)
				}
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

func objectKey(u *unstructured.Unstructured) string {
	return u.GetKind() + "/" + u.GetNamespace() + "/" + u.GetName()
}

// OperandImage is the memcached image the CSV gives its operator
// (managerenv.RelatedImage), and whether it sets one.
func OperandImage(c *v1alpha1.ClusterServiceVersion) (string, bool) {
	for _, d := range c.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			for _, v := range ctr.Env {
				if v.Name == managerenv.RelatedImage {
					return v.Value, true
				}
			}
		}
	}
	return "", false
}
