package scorecard

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// MaxBundleArchive is the most one ConfigMap holds: the API server rejects
// ConfigMaps whose data exceed 1 MiB.
const MaxBundleArchive = 1 << 20

// bundleArchiveKey is the ConfigMap key, and the file name in archiveMount.
const bundleArchiveKey = "bundle.tar.gz"

// BundleArchive is the bundle directory as tar.gz, with the paths below dir
// (manifests/, metadata/, tests/), plain modes and no owners or times, so
// the same bundle gives the same bytes. It fails over MaxBundleArchive.
func BundleArchive(dir string) ([]byte, error) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	tw := tar.NewWriter(zw)
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, path)
		if err != nil || rel == "." {
			return err
		}
		return addToArchive(tw, path, filepath.ToSlash(rel), d)
	})
	if err == nil {
		err = tw.Close()
	}
	if err == nil {
		err = zw.Close()
	}
	if err != nil {
		return nil, fmt.Errorf("archive bundle %s: %w", dir, err)
	}
	if buf.Len() > MaxBundleArchive {
		return nil, fmt.Errorf("bundle %s is %d bytes as tar.gz, over the 1 MiB (%d bytes) one ConfigMap holds: "+
			"keep only manifests/, metadata/ and tests/ in it, or run the tests in-process (without --pods)", dir, buf.Len(), MaxBundleArchive)
	}
	return buf.Bytes(), nil
}

// addToArchive writes one directory or regular file; anything else (a
// symlink, a socket) has no place in a bundle.
func addToArchive(tw *tar.Writer, path, name string, d fs.DirEntry) error {
	hdr := &tar.Header{Name: name, ModTime: time.Unix(0, 0)}
	switch {
	case d.IsDir():
		hdr.Typeflag, hdr.Name, hdr.Mode = tar.TypeDir, name+"/", 0o755
		return tw.WriteHeader(hdr)
	case !d.Type().IsRegular():
		return fmt.Errorf("%s is not a regular file or a directory", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	info, err := f.Stat()
	if err != nil {
		return err
	}
	hdr.Typeflag, hdr.Mode, hdr.Size = tar.TypeReg, 0o644, info.Size()
	if err := tw.WriteHeader(hdr); err != nil {
		return err
	}
	_, err = io.Copy(tw, f)
	return err
}

// BundleConfigMap holds a bundle archive for the test pods of one run.
func BundleConfigMap(namespace, run string, archive []byte) *corev1.ConfigMap {
	return &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Name: bundleConfigMapName(run), Namespace: namespace, Labels: map[string]string{LabelRun: run}},
		BinaryData: map[string][]byte{bundleArchiveKey: archive},
	}
}

func bundleConfigMapName(run string) string { return "scorecard-bundle-" + run }
