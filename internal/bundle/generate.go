package bundle

import (
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/blang/semver/v4"
	"github.com/operator-framework/api/pkg/apis/scorecard/v1alpha3"
	"github.com/operator-framework/api/pkg/operators/v1alpha1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
	"github.com/example-inc/memcached-operator/internal/csv"
)

// Release is one version's inputs to `make bundle`.
type Release struct {
	Metadata
	// Version is VERSION (MAJOR.MINOR.PATCH, a leading v allowed).
	Version string
	// Replaces is the version (or CSV name) this release replaces.
	Replaces string
	// SkipRange is the olm.skipRange annotation, e.g. ">=0.1.0 <0.3.0".
	SkipRange string
	// OperatorImage is the manager's image (IMG); empty keeps config/'s.
	OperatorImage string
	// ScorecardImage is the scorecard tests' image; empty keeps config/'s.
	ScorecardImage string
}

// Generate is `make bundle`: it turns rendered manifests (kustomize build
// config/manifests) into dir, validated, plus the Dockerfile. Now is used
// for createdAt only when the version is new, so regenerating the same
// release changes nothing.
func Generate(dir, dockerfile string, manifests io.Reader, scorecardConfig []byte, rel Release, opts Options, now time.Time) ([]Problem, error) {
	v, err := ParseVersion("VERSION", rel.Version)
	if err != nil {
		return nil, err
	}
	if err := rel.Metadata.Check(); err != nil {
		return nil, err
	}
	replaces, err := replacesName(rel, v)
	if err != nil {
		return nil, err
	}
	if rel.SkipRange != "" {
		r, err := semver.ParseRange(rel.SkipRange)
		if err != nil {
			return nil, fmt.Errorf("SKIP_RANGE=%q is not a semver range (e.g. \">=0.1.0 <0.3.0\"): %v", rel.SkipRange, err)
		}
		if r(v) {
			return nil, fmt.Errorf("SKIP_RANGE=%q includes VERSION %s itself: end it below %s", rel.SkipRange, v, v)
		}
	}

	objs, err := Decode(manifests)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	base, rest, err := splitBase(objs)
	if err != nil {
		return nil, err
	}
	result, err := csv.Build(csv.Inputs{
		Package:       rel.Package,
		Base:          base,
		Objects:       rest,
		Version:       v,
		Replaces:      replaces,
		SkipRange:     rel.SkipRange,
		OperatorImage: rel.OperatorImage,
		CreatedAt:     createdAt(dir, rel.Package, v, now),
	})
	if err != nil {
		return nil, fmt.Errorf("build CSV: %w", err)
	}
	if rel.ScorecardImage != "" && len(scorecardConfig) > 0 {
		if scorecardConfig, err = setScorecardImage(scorecardConfig, rel.ScorecardImage); err != nil {
			return nil, err
		}
	}
	files, err := Files(result, rel.Metadata, scorecardConfig)
	if err != nil {
		return nil, err
	}
	problems, err := Write(dir, files, opts)
	if err != nil {
		return problems, err
	}
	if dockerfile != "" {
		ctxDir, err := filepath.Rel(filepath.Dir(dockerfile), dir)
		if err != nil {
			ctxDir = dir
		}
		if err := atomicdir.ReplaceFile(dockerfile, []byte(rel.Metadata.Dockerfile(filepath.ToSlash(ctxDir)))); err != nil {
			return problems, err
		}
	}
	return problems, nil
}

// ParseVersion reads a semantic version from the named input.
func ParseVersion(name, s string) (semver.Version, error) {
	v, err := semver.Parse(strings.TrimPrefix(s, "v"))
	if err != nil {
		return v, fmt.Errorf("%s=%q is not a semantic version (MAJOR.MINOR.PATCH, e.g. 0.3.0): %v", name, s, err)
	}
	return v, nil
}

func replacesName(rel Release, v semver.Version) (string, error) {
	if rel.Replaces == "" {
		return "", nil
	}
	prefix := rel.Package + ".v"
	prev, err := ParseVersion("REPLACES", strings.TrimPrefix(rel.Replaces, prefix))
	if err != nil {
		return "", err
	}
	if !prev.LT(v) {
		return "", fmt.Errorf("REPLACES=%s is not older than VERSION=%s: an upgrade edge must go to a higher version", prev, v)
	}
	return prefix + prev.String(), nil
}

// createdAt keeps the timestamp of the bundle already in dir when it is the
// same version, so regenerating does not churn.
func createdAt(dir, pkg string, v semver.Version, now time.Time) string {
	b, err := os.ReadFile(filepath.Join(dir, ManifestsDir, pkg+".clusterserviceversion.yaml"))
	if err == nil {
		old := &v1alpha1.ClusterServiceVersion{}
		if yaml.Unmarshal(b, old) == nil && old.Spec.Version.Version.Equals(v) && old.Annotations[csv.AnnotationCreatedAt] != "" {
			return old.Annotations[csv.AnnotationCreatedAt]
		}
	}
	return now.UTC().Format(time.RFC3339)
}

// Decode reads a stream of YAML or JSON documents.
func Decode(r io.Reader) ([]*unstructured.Unstructured, error) {
	dec := utilyaml.NewYAMLOrJSONDecoder(r, 4096)
	var out []*unstructured.Unstructured
	for i := 1; ; i++ {
		u := &unstructured.Unstructured{}
		if err := dec.Decode(&u.Object); err != nil {
			if errors.Is(err, io.EOF) {
				return out, nil
			}
			return nil, fmt.Errorf("document %d: %w", i, err)
		}
		if len(u.Object) == 0 {
			continue
		}
		if u.GetKind() == "" || u.GetAPIVersion() == "" {
			return nil, fmt.Errorf("document %d (%q): no apiVersion or kind", i, u.GetName())
		}
		out = append(out, u)
	}
}

func splitBase(objs []*unstructured.Unstructured) (*v1alpha1.ClusterServiceVersion, []*unstructured.Unstructured, error) {
	var base *v1alpha1.ClusterServiceVersion
	var rest []*unstructured.Unstructured
	for _, u := range objs {
		if u.GetKind() != v1alpha1.ClusterServiceVersionKind {
			rest = append(rest, u)
			continue
		}
		if base != nil {
			return nil, nil, fmt.Errorf("two ClusterServiceVersions in the manifests (%s and %s): keep one base in config/manifests/bases", base.Name, u.GetName())
		}
		base = &v1alpha1.ClusterServiceVersion{}
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, base); err != nil {
			return nil, nil, fmt.Errorf("CSV base %s: %w", u.GetName(), err)
		}
	}
	if base == nil {
		return nil, nil, fmt.Errorf("no ClusterServiceVersion base in the manifests: add config/manifests/bases/<package>.clusterserviceversion.yaml to config/manifests")
	}
	return base, rest, nil
}

// setScorecardImage points every configured scorecard test at image.
func setScorecardImage(config []byte, image string) ([]byte, error) {
	cfg := &v1alpha3.Configuration{}
	if err := yaml.UnmarshalStrict(config, cfg); err != nil {
		return nil, fmt.Errorf("scorecard config: %w", err)
	}
	for i := range cfg.Stages {
		for j := range cfg.Stages[i].Tests {
			cfg.Stages[i].Tests[j].Image = image
		}
	}
	return yaml.Marshal(cfg)
}
