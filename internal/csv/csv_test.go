package csv

import (
	"os"
	"strings"
	"testing"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"

	"github.com/example-inc/memcached-operator/internal/managerenv"
)

// fixture reads testdata/manifests.yaml: the CSV base and the rest.
func fixture(t *testing.T) (*v1alpha1.ClusterServiceVersion, []*unstructured.Unstructured) {
	t.Helper()
	f, err := os.Open("testdata/manifests.yaml")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	dec := utilyaml.NewYAMLOrJSONDecoder(f, 4096)
	var base *v1alpha1.ClusterServiceVersion
	var objs []*unstructured.Unstructured
	for {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			break
		}
		if u.GetKind() == "ClusterServiceVersion" {
			base = &v1alpha1.ClusterServiceVersion{}
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, base); err != nil {
				t.Fatal(err)
			}
			continue
		}
		objs = append(objs, u)
	}
	return base, objs
}

func build(t *testing.T, mutate func(*Inputs)) *Result {
	t.Helper()
	base, objs := fixture(t)
	in := Inputs{
		Package: "widget-operator", Base: base, Objects: objs,
		Version: semver.MustParse("1.2.3"), OperatorImage: "example.com/widget-operator:v1.2.3",
		CreatedAt: "2026-01-02T03:04:05Z",
	}
	if mutate != nil {
		mutate(&in)
	}
	r, err := Build(in)
	if err != nil {
		t.Fatalf("Build: %v", err)
	}
	return r
}

func TestBuildNamesAndVersions(t *testing.T) {
	r := build(t, func(in *Inputs) { in.Replaces = "widget-operator.v1.2.2"; in.SkipRange = ">=1.0.0 <1.2.3" })
	c := r.CSV
	if c.Name != "widget-operator.v1.2.3" || c.Spec.Version.String() != "1.2.3" {
		t.Errorf("name %s version %s, want widget-operator.v1.2.3 1.2.3", c.Name, c.Spec.Version.String())
	}
	if c.Spec.Replaces != "widget-operator.v1.2.2" {
		t.Errorf("replaces = %q", c.Spec.Replaces)
	}
	if c.Annotations["olm.skipRange"] != ">=1.0.0 <1.2.3" {
		t.Errorf("olm.skipRange = %q", c.Annotations["olm.skipRange"])
	}
	if c.Annotations["createdAt"] != "2026-01-02T03:04:05Z" || c.Annotations["containerImage"] != "example.com/widget-operator:v1.2.3" {
		t.Errorf("annotations = %v", c.Annotations)
	}

	plain := build(t, nil).CSV
	if plain.Spec.Replaces != "" {
		t.Errorf("replaces set without being given: %q", plain.Spec.Replaces)
	}
	if _, ok := plain.Annotations["olm.skipRange"]; ok {
		t.Error("olm.skipRange set without being given")
	}
}

// RBAC maps exactly as operator-sdk maps it.
func TestBuildPermissions(t *testing.T) {
	s := build(t, nil).CSV.Spec.InstallStrategy.StrategySpec
	if len(s.ClusterPermissions) != 1 || s.ClusterPermissions[0].ServiceAccountName != "widget-controller" ||
		s.ClusterPermissions[0].Rules[0].Resources[0] != "widgets" {
		t.Errorf("clusterPermissions = %+v, want the ClusterRoleBinding's rules for widget-controller", s.ClusterPermissions)
	}
	if len(s.Permissions) != 1 || s.Permissions[0].ServiceAccountName != "widget-controller" ||
		s.Permissions[0].Rules[0].Resources[0] != "leases" {
		t.Errorf("permissions = %+v, want the RoleBinding's rules for widget-controller", s.Permissions)
	}
}

func TestBuildOthers(t *testing.T) {
	var got []string
	for _, o := range build(t, nil).Others {
		got = append(got, o.GetKind()+"/"+o.GetName())
		// OLM installs them in the operator's namespace; a namespace in the
		// bundle fails operator-registry's bundle validation.
		if ns := o.GetNamespace(); ns != "" {
			t.Errorf("%s/%s keeps metadata.namespace %q", o.GetKind(), o.GetName(), ns)
		}
	}
	// Bound roles, bindings, service accounts and namespaces are consumed;
	// the unbound viewer role and the Service ship as they are.
	want := "ClusterRole/widget-viewer,Service/widget-metrics"
	if strings.Join(got, ",") != want {
		t.Errorf("others = %v, want %s", got, want)
	}
}

func TestBuildInstallStrategy(t *testing.T) {
	c := build(t, nil).CSV
	deps := c.Spec.InstallStrategy.StrategySpec.DeploymentSpecs
	if len(deps) != 1 || deps[0].Name != "widget-controller" {
		t.Fatalf("deployments = %+v", deps)
	}
	ctr := deps[0].Spec.Template.Spec.Containers[0]
	if ctr.Image != "example.com/widget-operator:v1.2.3" {
		t.Errorf("manager image = %s", ctr.Image)
	}
	env := ctr.Env[0]
	// The manager's variable, from the annotation OLM sets on its pods.
	const olmTargets = "metadata.annotations['olm.targetNamespaces']"
	if env.Name != managerenv.WatchNamespace || env.ValueFrom == nil || env.ValueFrom.FieldRef.FieldPath != olmTargets {
		t.Errorf("WATCH_NAMESPACE = %+v, want it from %s", env, olmTargets)
	}
	var images []string
	for _, ri := range c.Spec.RelatedImages {
		images = append(images, ri.Name+"="+ri.Image)
	}
	if len(images) != 2 || !strings.HasPrefix(images[0], "manager=example.com/widget-operator:v1.2.3") || !strings.HasPrefix(images[1], "widget=example.com/widget@sha256:") {
		t.Errorf("relatedImages = %v", images)
	}
}

func TestBuildOwnedCRDsAndExamples(t *testing.T) {
	c := build(t, nil).CSV
	owned := c.Spec.CustomResourceDefinitions.Owned
	if len(owned) != 1 || owned[0].Kind != "Widget" || len(owned[0].SpecDescriptors) != 1 {
		t.Fatalf("owned = %+v, want Widget with the base's descriptors", owned)
	}
	ex := c.Annotations[AnnotationAlmExamples]
	if !strings.Contains(ex, `"name": "widget-sample"`) || strings.Contains(ex, "namespace") {
		t.Errorf("alm-examples = %s, want the sample without its namespace", ex)
	}
}

func TestBuildErrors(t *testing.T) {
	base, objs := fixture(t)
	var noDeploy []*unstructured.Unstructured
	for _, o := range objs {
		if o.GetKind() != "Deployment" {
			noDeploy = append(noDeploy, o)
		}
	}
	_, err := Build(Inputs{Package: "p", Base: base, Objects: noDeploy, Version: semver.MustParse("1.0.0")})
	if err == nil || !strings.Contains(err.Error(), "no Deployment in the manifests") {
		t.Errorf("err = %v, want no Deployment", err)
	}
	_, err = Build(Inputs{Package: "p", Objects: objs})
	if err == nil || err.Error() != "no CSV base" {
		t.Errorf("err = %v, want no CSV base", err)
	}
}
