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

// GenerateOptions are what Generate turns into a bundle.
type GenerateOptions struct {
	// Release is the version to build.
	Release Release
	// Manifests are the rendered manifests (kustomize build config/manifests).
	Manifests io.Reader
	// ScorecardConfig becomes tests/scorecard/config.yaml (kustomize build
	// config/scorecard); empty for none.
	ScorecardConfig []byte
	// Dir is the bundle directory to replace.
	Dir string
	// Dockerfile is the bundle Dockerfile to write; empty for none.
	Dockerfile string
	// Validation selects what the new bundle is validated against.
	Validation Options
	// Now is the createdAt of a new version; regenerating the version in
	// Dir keeps its createdAt, so the same release changes nothing.
	Now time.Time
}

// Generate is `make bundle`: it turns the rendered manifests into the
// bundle in o.Dir, validated, plus its Dockerfile.
func Generate(o GenerateOptions) ([]Problem, error) {
	v, replaces, err := checkRelease(o.Release)
	if err != nil {
		return nil, err
	}
	result, err := buildCSV(o, v, replaces)
	if err != nil {
		return nil, err
	}
	scorecardConfig := o.ScorecardConfig
	if o.Release.ScorecardImage != "" && len(scorecardConfig) > 0 {
		if scorecardConfig, err = setScorecardImage(scorecardConfig, o.Release.ScorecardImage); err != nil {
			return nil, err
		}
	}
	files, err := Files(result, o.Release.Metadata, scorecardConfig)
	if err != nil {
		return nil, err
	}
	// The bundle and its Dockerfile change together (a kill leaves both
	// old or both new).
	txn, err := atomicdir.Begin(o.Dir, atomicdir.BeginOptions{})
	if err != nil {
		return nil, err
	}
	defer txn.Close()
	problems, err := stage(txn, o.Dir, files, o.Validation)
	if err != nil {
		return problems, err
	}
	if err := stageDockerfile(txn, o); err != nil {
		return problems, err
	}
	return problems, txn.Commit()
}

// checkRelease rejects a release OLM could not upgrade along, naming the
// Makefile variable to fix, and returns its version and the CSV name it
// replaces.
func checkRelease(rel Release) (semver.Version, string, error) {
	v, err := ParseVersion("VERSION", rel.Version)
	if err != nil {
		return v, "", err
	}
	if err := rel.Metadata.Check(); err != nil {
		return v, "", err
	}
	replaces, err := replacesName(rel, v)
	if err != nil {
		return v, "", err
	}
	if rel.SkipRange != "" {
		r, err := semver.ParseRange(rel.SkipRange)
		if err != nil {
			return v, "", fmt.Errorf("SKIP_RANGE=%q is not a semver range (e.g. \">=0.1.0 <0.3.0\"): %v", rel.SkipRange, err)
		}
		if r(v) {
			return v, "", fmt.Errorf("SKIP_RANGE=%q includes VERSION %s itself: end it below %s", rel.SkipRange, v, v)
		}
	}
	return v, replaces, nil
}

// buildCSV decodes the manifests and builds the release's CSV from the
// base among them.
func buildCSV(o GenerateOptions, v semver.Version, replaces string) (*csv.Result, error) {
	objs, err := Decode(o.Manifests)
	if err != nil {
		return nil, fmt.Errorf("manifests: %w", err)
	}
	base, rest, err := splitBase(objs)
	if err != nil {
		return nil, err
	}
	rel := o.Release
	result, err := csv.Build(csv.Inputs{
		Package:       rel.Package,
		Base:          base,
		Objects:       rest,
		Version:       v,
		Replaces:      replaces,
		SkipRange:     rel.SkipRange,
		OperatorImage: rel.OperatorImage,
		CreatedAt:     createdAt(o.Dir, rel.Package, v, o.Now),
	})
	if err != nil {
		return nil, fmt.Errorf("build CSV: %w", err)
	}
	return result, nil
}

// stageDockerfile stages the bundle's Dockerfile, if one is wanted, with
// the bundle directory relative to the Dockerfile's directory (the build
// context).
func stageDockerfile(txn *atomicdir.Txn, o GenerateOptions) error {
	if o.Dockerfile == "" {
		return nil
	}
	ctxDir, err := filepath.Rel(filepath.Dir(o.Dockerfile), o.Dir)
	if err != nil {
		ctxDir = o.Dir
	}
	_, err = txn.StageFile(o.Dockerfile, []byte(o.Release.Metadata.Dockerfile(filepath.ToSlash(ctxDir))))
	return err
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
