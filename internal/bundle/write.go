package bundle

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/csv"
)

// Files renders a bundle as file contents keyed by path relative to the
// bundle directory. It is pure, so the golden tests read it directly.
func Files(r *csv.Result, m Metadata, scorecardConfig []byte) (map[string][]byte, error) {
	files := map[string][]byte{}
	add := func(name string, obj any) error {
		b, err := marshal(obj)
		if err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		if _, dup := files[name]; dup {
			return fmt.Errorf("two objects would be written to %s: rename one", name)
		}
		files[name] = b
		return nil
	}
	if err := add(ManifestsDir+m.Package+".clusterserviceversion.yaml", r.CSV); err != nil {
		return nil, err
	}
	for _, crd := range r.CRDs {
		if err := add(ManifestsDir+crdFileName(crd), crd); err != nil {
			return nil, err
		}
	}
	for _, o := range r.Others {
		if err := add(ManifestsDir+objectFileName(o), o); err != nil {
			return nil, err
		}
	}
	ann, err := yaml.Marshal(map[string]any{"annotations": m.Annotations()})
	if err != nil {
		return nil, err
	}
	files[MetadataDir+"annotations.yaml"] = ann
	if len(scorecardConfig) > 0 {
		files[ScorecardDir+"config.yaml"] = scorecardConfig
	}
	return files, nil
}

// crdFileName follows operator-sdk: <group>_<plural>.yaml.
func crdFileName(crd *apiextensionsv1.CustomResourceDefinition) string {
	return crd.Spec.Group + "_" + crd.Spec.Names.Plural + ".yaml"
}

// objectFileName follows operator-sdk: <name>_<group>_<version>_<kind>.yaml,
// with the group left out for the core group.
func objectFileName(u *unstructured.Unstructured) string {
	gvk := u.GroupVersionKind()
	parts := []string{u.GetName()}
	if gvk.Group != "" {
		parts = append(parts, gvk.Group)
	}
	parts = append(parts, gvk.Version, strings.ToLower(gvk.Kind))
	return strings.Join(parts, "_") + ".yaml"
}

// marshal writes an object as YAML without the empty creationTimestamp and
// status that typed objects carry.
func marshal(obj any) ([]byte, error) {
	var m map[string]any
	if u, ok := obj.(*unstructured.Unstructured); ok {
		m = u.DeepCopy().Object
	} else {
		var err error
		if m, err = runtime.DefaultUnstructuredConverter.ToUnstructured(obj); err != nil {
			return nil, err
		}
	}
	unstructured.RemoveNestedField(m, "metadata", "creationTimestamp")
	if st, ok := m["status"].(map[string]any); ok && isEmptyStatus(st) {
		delete(m, "status")
	}
	return yaml.Marshal(m)
}

func isEmptyStatus(st map[string]any) bool {
	for _, v := range st {
		switch x := v.(type) {
		case nil:
		case []any:
			if len(x) > 0 {
				return false
			}
		case map[string]any:
			if !isEmptyStatus(x) {
				return false
			}
		case string:
			if x != "" {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// ErrInvalid is returned by Write when validation found errors.
var ErrInvalid = fmt.Errorf("the bundle has errors; nothing was written")

// Write replaces dir with exactly files, validating them first. The files
// go to a sibling temporary directory, opts' validators run there, and only
// a bundle without errors is swapped in: a failure leaves the old bundle
// whole. Problems name files under dir, as if written.
func Write(dir string, files map[string][]byte, opts Options) ([]Problem, error) {
	dir = filepath.Clean(dir)
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, filepath.Base(dir)+".new-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	for name, b := range files {
		p := filepath.Join(tmp, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(p, b, 0o644); err != nil {
			return nil, err
		}
	}
	if err := os.Chmod(tmp, 0o755); err != nil {
		return nil, err
	}

	problems, err := Validate(tmp, opts)
	for i := range problems {
		if rel, rerr := filepath.Rel(tmp, problems[i].File); rerr == nil {
			problems[i].File = filepath.Join(dir, rel)
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%s: %w", dir, err)
	}
	for _, p := range problems {
		if p.Error {
			return problems, ErrInvalid
		}
	}

	old := tmp + ".old"
	if err := os.Rename(dir, old); err != nil && !os.IsNotExist(err) {
		return problems, err
	}
	if err := os.Rename(tmp, dir); err != nil {
		_ = os.Rename(old, dir)
		return problems, err
	}
	return problems, os.RemoveAll(old)
}

// WriteFile replaces one file atomically.
func WriteFile(path string, b []byte) error {
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, b, 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
