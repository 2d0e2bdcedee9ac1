package catalog

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/operator-framework/operator-registry/alpha/declcfg"
	"sigs.k8s.io/yaml"

	"github.com/example-inc/memcached-operator/internal/atomicdir"
)

// releasedParts are the parts of a bundle directory the catalog carries.
var releasedParts = []string{"manifests", "metadata"}

// bundleName reads the CSV name (<package>.v<version>) of a bundle dir.
func bundleName(bundleDir string) (string, error) {
	matches, err := filepath.Glob(filepath.Join(bundleDir, "manifests", "*.clusterserviceversion.yaml"))
	if err != nil || len(matches) != 1 {
		return "", fmt.Errorf("%s: want exactly one manifests/*.clusterserviceversion.yaml, found %d", bundleDir, len(matches))
	}
	b, err := os.ReadFile(matches[0])
	if err != nil {
		return "", err
	}
	var csv struct {
		Metadata struct{ Name string }
	}
	if err := yaml.Unmarshal(b, &csv); err != nil || csv.Metadata.Name == "" {
		return "", fmt.Errorf("%s: no metadata.name: %v", matches[0], err)
	}
	return csv.Metadata.Name, nil
}

func readParts(dir string) (map[string][]byte, error) {
	out := map[string][]byte{}
	for _, part := range releasedParts {
		files, err := atomicdir.Read(filepath.Join(dir, part))
		if err != nil {
			return nil, err
		}
		for name, b := range files {
			out[part+"/"+name] = b
		}
	}
	return out, nil
}

// alreadyReleased reports whether bundleDir's version is released, and
// fails when it is released with other content: released entries are
// immutable.
func alreadyReleased(bundleDir, releases string) (bool, error) {
	name, err := bundleName(bundleDir)
	if err != nil {
		return false, err
	}
	dir := filepath.Join(releases, name)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return false, nil
	}
	have, err := readParts(dir)
	if err != nil {
		return true, err
	}
	want, err := readParts(bundleDir)
	if err != nil {
		return true, err
	}
	var diff []string
	for n := range union(have, want) {
		if !bytes.Equal(have[n], want[n]) {
			diff = append(diff, n)
		}
	}
	sort.Strings(diff)
	if len(diff) > 0 {
		return true, fmt.Errorf("%s is released and immutable, but %s differs from %s in %s: bump VERSION and run make bundle",
			name, bundleDir, dir, strings.Join(diff, ", "))
	}
	return true, nil
}

// ReleaseOptions say which bundle Release adds to which history.
type ReleaseOptions struct {
	// Source holds the template to edit and the released bundles.
	Source
	// Bundle is the bundle directory to release (bundle/).
	Bundle string
	// Image is the bundle's image reference (BUNDLE_IMG), tagged v<version>.
	Image string
	// Channels get an entry for the release on top of their heads.
	Channels []string
	// SkipRange is the new entries' skipRange; empty for none.
	SkipRange string
	// Output, when set, is the catalog directory rendered from the new
	// template and releases (as Generate with Strict does) in the same
	// change: the releases, the template and the catalog change together
	// or not at all.
	Output string
}

// Release copies the bundle into the releases (unless that exact release is
// there already) and adds it to the template: an olm.bundle entry for its
// image, and in each of its channels an entry replacing the channel's
// current head, with the skipRange; with o.Output, it renders the catalog
// from them, and is the release gate: what changes for users (DiffCatalogs
// of the old and new catalog) comes back, and a regression releases
// nothing. Everything it writes changes as one (atomicdir.Txn, anchored at
// the template): on error, or killed at any moment, it leaves the old
// state or the complete new one; a second release while one runs fails at
// once.
func Release(ctx context.Context, o ReleaseOptions) (*Released, error) {
	txn, err := atomicdir.Begin(o.Template, atomicdir.BeginOptions{NoWait: true})
	if err != nil {
		return nil, fmt.Errorf("catalog release: %w", err)
	}
	defer txn.Close()
	r := &release{o: o, txn: txn, src: Source{Template: o.Template, Releases: o.Releases}}
	if err := r.readBundle(); err != nil {
		return nil, err
	}
	if err := r.stageInputs(); err != nil {
		return nil, err
	}
	res := &Released{Name: r.name}
	if o.Output == "" {
		return res, txn.Commit()
	}
	staged, err := r.stageCatalog(ctx)
	if err != nil {
		return nil, err
	}
	if res.Diff, err = diffDirs(ctx, o.Output, staged); err != nil {
		return nil, err
	}
	if err := r.gate(res.Diff); err != nil {
		return res, err
	}
	return res, txn.Commit()
}

// release is one Release on its way through its steps: what it was asked,
// the change everything is staged in, and what the steps found so far.
type release struct {
	o   ReleaseOptions
	txn *atomicdir.Txn
	// name is the bundle's CSV name (<package>.v<version>).
	name string
	// already says the releases hold this exact bundle.
	already bool
	// src is the template and releases with what is staged so far.
	src Source
}

// readBundle finishes an interrupted change of the bundle, names it, and
// finds whether it is released already (and unchanged, as released entries
// are immutable).
func (r *release) readBundle() error {
	if err := recoverInputs(r.o.Bundle); err != nil {
		return err
	}
	var err error
	if r.already, err = alreadyReleased(r.o.Bundle, r.o.Releases); err != nil {
		return err
	}
	r.name, err = bundleName(r.o.Bundle)
	return err
}

// stageInputs stages the bundle into the releases unless it is there, and
// the template with the release added unless it has it already.
func (r *release) stageInputs() error {
	raw, err := os.ReadFile(r.o.Template)
	if err != nil {
		return err
	}
	updated, changed, err := addToTemplate(raw, r.name, r.o)
	if err != nil {
		return fmt.Errorf("%s: %w", r.o.Template, err)
	}
	if !r.already {
		files, err := readParts(r.o.Bundle)
		if err != nil {
			return err
		}
		staged, err := r.txn.StageDir(filepath.Join(r.o.Releases, r.name), files, nil)
		if err != nil {
			return err
		}
		r.src.Staged = map[string]string{r.name: staged}
	}
	if changed {
		if r.src.Template, err = r.txn.StageFile(r.o.Template, updated); err != nil {
			return err
		}
	}
	return nil
}

// stageCatalog renders the catalog from the staged template and releases,
// as Generate with Strict does, and stages it in place of o.Output. It
// returns where it is staged.
func (r *release) stageCatalog(ctx context.Context) (string, error) {
	report, files, err := build(ctx, r.src, GenerateOptions{Strict: true})
	if errors.Is(err, ErrInvalid) {
		return "", fmt.Errorf("the catalog with %s has errors, nothing was released:\n%s", r.name, report.Text())
	}
	if err != nil {
		return "", err
	}
	return r.txn.StageDir(r.o.Output, files, nil)
}

// gate refuses a release whose diff strands or slows down users.
func (r *release) gate(d *Diff) error {
	if regs := d.Regressions(); len(regs) > 0 {
		return fmt.Errorf("%s strands or slows down users, nothing was released (fix %s):\n  %s", r.name, r.o.Template, strings.Join(regs, "\n  "))
	}
	return nil
}

// Released is what Release did.
type Released struct {
	// Name is the released bundle's.
	Name string
	// Diff is what the release changes for users (with Output).
	Diff *Diff
}

// diffDirs compares the catalog in dir (none yet: empty) with the one in staged.
func diffDirs(ctx context.Context, dir, staged string) (*Diff, error) {
	before := &declcfg.DeclarativeConfig{}
	if _, err := os.Stat(dir); err == nil {
		if before, err = Load(ctx, dir); errors.Is(err, ErrNoObjects) {
			before = &declcfg.DeclarativeConfig{} // the first release
		} else if err != nil {
			return nil, err
		}
	}
	after, err := Load(ctx, staged)
	if err != nil {
		return nil, err
	}
	return DiffCatalogs(ctx, before, after)
}
