package framework

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
)

// CopyCheckout copies the checkout at root as git sees it (tracked files as
// they are on disk, and untracked files that are not ignored) into dir, for
// tests that run commands which change tracked files. share are paths
// (bin/, the local registries' state) linked to the checkout's own, so the
// copy uses the same tools and registries.
func CopyCheckout(root, dir string, share ...string) error {
	cmd := exec.Command(filepath.Join(root, "hack", "copy-tree.sh"), dir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("copy the checkout %s: %v: %s", root, err, out)
	}
	for _, p := range share {
		src := filepath.Join(root, p)
		if err := os.MkdirAll(src, 0o755); err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(dir, p)), 0o755); err != nil {
			return err
		}
		if err := os.Symlink(src, filepath.Join(dir, p)); err != nil {
			return err
		}
	}
	return nil
}
