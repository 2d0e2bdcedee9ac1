package bundle

import (
	stderrors "errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"

	"github.com/operator-framework/api/pkg/manifests"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"github.com/operator-framework/api/pkg/validation"
	"github.com/operator-framework/api/pkg/validation/errors"
	interfaces "github.com/operator-framework/api/pkg/validation/interfaces"
	registrybundle "github.com/operator-framework/operator-registry/pkg/lib/bundle"
	"github.com/sirupsen/logrus"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/csv"
	"github.com/example-inc/memcached-operator/internal/managerenv"
)

// Problem is one finding of a validator, tied to the file it is about.
type Problem struct {
	Error  bool // false: a warning
	File   string
	Field  string
	Detail string
}

func (p Problem) String() string {
	level := "warning"
	if p.Error {
		level = "error"
	}
	loc := p.File
	if p.Field != "" {
		loc += ": " + p.Field
	}
	return fmt.Sprintf("%s: %s: %s", loc, level, p.Detail)
}

// K8sTargetVersion is the Makefile's K8S_TARGET_VERSION: the Kubernetes
// version whose removed APIs the bundle must not use, for the checks that
// run without the Makefile.
const K8sTargetVersion = "1.37"

// Options select what Validate checks beyond the default validators.
type Options struct {
	// K8sVersion is the Kubernetes version whose removed APIs the bundle
	// must not use (e.g. K8sTargetVersion); empty falls back to the CSV's
	// minKubeVersion, as operator-sdk does.
	K8sVersion string
}

// Validators are the checks `make bundle` runs: operator-framework's
// default bundle validators, OperatorHub v2, good practices and the
// deprecated-API check (the ones operator-sdk's --select-optional offers),
// the OperatorHub listing's metadata as its reviewers check it, and this
// project's own rules.
func Validators() interfaces.Validators {
	return validation.DefaultBundleValidators.WithValidators(
		validation.OperatorHubV2Validator,
		validation.GoodPracticesValidator,
		validation.AlphaDeprecatedAPIsValidator,
		HubMetadataValidator,
		PolicyValidator,
	)
}

// Validate loads the bundle in dir as OLM does and runs Validators. A
// bundle that cannot be loaded is one error.
func Validate(dir string, opts Options) ([]Problem, error) {
	b, err := manifests.GetBundleFromDir(dir)
	if err != nil {
		return nil, fmt.Errorf("load bundle %s: %w", dir, err)
	}
	if b.CSV == nil {
		return nil, fmt.Errorf("load bundle %s: no ClusterServiceVersion in %s", dir, filepath.Join(dir, ManifestsDir))
	}
	files, err := objectFiles(dir)
	if err != nil {
		return nil, err
	}
	objs := b.ObjectsToValidate()
	if opts.K8sVersion != "" {
		objs = append(objs, map[string]string{"k8s-version": opts.K8sVersion})
	}
	// Bundle-wide findings (an owned CRD missing, bad related images) are
	// fixed in the CSV, so they point at its file.
	csvFile := files[b.CSV.Name]
	var out []Problem
	for _, r := range Validators().Validate(objs...) {
		file := files[r.Name]
		if file == "" {
			file = csvFile
		}
		for _, e := range r.Errors {
			out = append(out, problem(true, file, e))
		}
		for _, e := range r.Warnings {
			out = append(out, problem(false, file, e))
		}
	}
	out = append(out, registryContent(dir, files)...)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Error && !out[j].Error })
	return out, nil
}

// registryContent runs operator-registry's bundle content validation, which
// `operator-sdk bundle validate` and OperatorHub's pipelines run: every
// manifest must be an object a bundle may carry (for instance no
// metadata.namespace: OLM picks the namespace). Its errors name the object,
// which gives the file.
func registryContent(dir string, files map[string]string) []Problem {
	logger := logrus.New()
	logger.SetOutput(io.Discard)
	err := registrybundle.NewImageValidator(nil, logrus.NewEntry(logger)).ValidateBundleContent(filepath.Join(dir, ManifestsDir))
	if err == nil {
		return nil
	}
	errs := []error{err}
	var verr registrybundle.ValidationError
	if stderrors.As(err, &verr) {
		errs = verr.Errors
	}
	var out []Problem
	for _, e := range errs {
		msg, file, named := e.Error(), filepath.Join(dir, ManifestsDir), ""
		for name, f := range files {
			if strings.Contains(msg, name) && len(name) > len(named) {
				file, named = f, name
			}
		}
		// Upstream appends a Go dump of the object; the file names it.
		if i := strings.Index(msg, ". &{"); i >= 0 {
			msg = msg[:i]
		}
		out = append(out, Problem{Error: true, File: file, Detail: "operator-registry's bundle content validation: " + msg})
	}
	return out
}

func problem(isErr bool, file string, e errors.Error) Problem {
	detail := e.Detail
	if detail == "" {
		detail = e.Error()
	}
	return Problem{Error: isErr, File: file, Field: e.Field, Detail: detail}
}

// objectFiles maps object names (what validators report) to the files in
// dir/manifests that hold them.
func objectFiles(dir string) (map[string]string, error) {
	out := map[string]string{}
	mdir := filepath.Join(dir, ManifestsDir)
	entries, err := os.ReadDir(mdir)
	if err != nil {
		return nil, err
	}
	for _, e := range entries {
		p := filepath.Join(mdir, e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, err
		}
		u := &unstructured.Unstructured{}
		if err := yaml.Unmarshal(b, &u.Object); err == nil && u.GetName() != "" {
			out[u.GetName()] = p
		}
	}
	return out, nil
}

// PolicyValidator holds this project's rules for its CSV, which the
// upstream validators do not check:
//   - the CSV is named <package>.v<spec.version>;
//   - no RBAC rule uses a wildcard;
//   - an install mode other than AllNamespaces is declared only if the
//     manager reads WATCH_NAMESPACE from olm.targetNamespaces;
//   - every owned CRD has spec and status descriptors, each with a path and
//     a display name.
var PolicyValidator interfaces.Validator = interfaces.ValidatorFunc(func(objs ...interface{}) []errors.ManifestResult {
	var results []errors.ManifestResult
	for _, o := range objs {
		if b, ok := o.(*manifests.Bundle); ok && b.CSV != nil {
			results = append(results, checkPolicy(b))
		}
	}
	return results
})

func checkPolicy(b *manifests.Bundle) errors.ManifestResult {
	c := b.CSV
	r := errors.ManifestResult{Name: c.Name}
	fail := func(field, format string, args ...any) {
		r.Add(errors.Error{Type: errors.ErrorInvalidCSV, Level: errors.LevelError, Field: field, BadValue: c.Name, Detail: fmt.Sprintf(format, args...)})
	}

	if want := fmt.Sprintf("%s.v%s", b.Package, c.Spec.Version.String()); b.Package != "" && c.Name != want {
		fail("metadata.name", "CSV name %q does not match package %q and spec.version %s: want %q", c.Name, b.Package, c.Spec.Version.String(), want)
	}

	strategy := c.Spec.InstallStrategy.StrategySpec
	for kind, perms := range map[string][]v1alpha1.StrategyDeploymentPermissions{"permissions": strategy.Permissions, "clusterPermissions": strategy.ClusterPermissions} {
		for i, p := range perms {
			for j, rule := range p.Rules {
				for what, values := range map[string][]string{"apiGroups": rule.APIGroups, "resources": rule.Resources, "verbs": rule.Verbs} {
					if slices.Contains(values, "*") {
						fail(fmt.Sprintf("spec.install.spec.%s[%d].rules[%d].%s", kind, i, j, what),
							"service account %s is granted %s \"*\": list exactly what the operator needs in its +kubebuilder:rbac markers", p.ServiceAccountName, what)
					}
				}
			}
		}
	}

	if scoped := scopedInstallModes(c); len(scoped) > 0 && !watchesTargetNamespaces(c) {
		fail("spec.installModes", "install modes %s are declared but no container reads %s from %s: the operator would watch every namespace; wire the env var or declare only AllNamespaces",
			strings.Join(scoped, ", "), managerenv.WatchNamespace, csv.TargetNamespacesField)
	}

	for i, crd := range c.Spec.CustomResourceDefinitions.Owned {
		base := fmt.Sprintf("spec.customresourcedefinitions.owned[%d]", i)
		if len(crd.SpecDescriptors) == 0 {
			fail(base+".specDescriptors", "owned CRD %s has no spec descriptors: describe its spec fields in the CSV base", crd.Name)
		}
		if len(crd.StatusDescriptors) == 0 {
			fail(base+".statusDescriptors", "owned CRD %s has no status descriptors: describe its status fields in the CSV base", crd.Name)
		}
		for j, d := range crd.SpecDescriptors {
			if d.Path == "" || d.DisplayName == "" {
				fail(fmt.Sprintf("%s.specDescriptors[%d]", base, j), "spec descriptor of %s needs a path and a displayName", crd.Name)
			}
		}
		for j, d := range crd.StatusDescriptors {
			if d.Path == "" || d.DisplayName == "" {
				fail(fmt.Sprintf("%s.statusDescriptors[%d]", base, j), "status descriptor of %s needs a path and a displayName", crd.Name)
			}
		}
	}
	return r
}

func scopedInstallModes(c *v1alpha1.ClusterServiceVersion) []string {
	var out []string
	for _, m := range c.Spec.InstallModes {
		if m.Supported && m.Type != v1alpha1.InstallModeTypeAllNamespaces {
			out = append(out, string(m.Type))
		}
	}
	return out
}

func watchesTargetNamespaces(c *v1alpha1.ClusterServiceVersion) bool {
	for _, d := range c.Spec.InstallStrategy.StrategySpec.DeploymentSpecs {
		for _, ctr := range d.Spec.Template.Spec.Containers {
			for _, e := range ctr.Env {
				if e.Name == managerenv.WatchNamespace && e.ValueFrom != nil && e.ValueFrom.FieldRef != nil &&
					e.ValueFrom.FieldRef.FieldPath == csv.TargetNamespacesField {
					return true
				}
			}
		}
	}
	return false
}
