package bundle

import (
	"fmt"
	"path/filepath"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
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

// Write replaces dir with exactly files, validating them first in a staged
// copy: only a bundle without errors is swapped in, so a failure leaves the
// old bundle whole. Problems name files under dir, as if written.
func Write(dir string, files map[string][]byte, opts Options) ([]Problem, error) {
	txn, err := atomicdir.Begin(dir, atomicdir.BeginOptions{})
	if err != nil {
		return nil, err
	}
	defer txn.Close()
	problems, err := stage(txn, dir, files, opts)
	if err != nil {
		return problems, err
	}
	return problems, txn.Commit()
}

// stage stages dir's new files in txn once they validate without errors.
func stage(txn *atomicdir.Txn, dir string, files map[string][]byte, opts Options) ([]Problem, error) {
	dir = filepath.Clean(dir)
	var problems []Problem
	_, err := txn.StageDir(dir, files, func(staged string) error {
		var err error
		problems, err = Validate(staged, opts)
		for i := range problems {
			if rel, rerr := filepath.Rel(staged, problems[i].File); rerr == nil {
				problems[i].File = filepath.Join(dir, rel)
			}
		}
		if err != nil {
			return fmt.Errorf("%s: %w", dir, err)
		}
		for _, p := range problems {
			if p.Error {
				return ErrInvalid
			}
		}
		return nil
	})
	return problems, err
}
