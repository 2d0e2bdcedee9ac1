// Package atomicdir replaces generated directories and files all at once:
// the new content is staged beside them, checked, and swapped in only when
// the check passes, so a failed or killed generation never leaves a
// half-written tree, and several paths can change as one (Txn).
package atomicdir

import (
	"os"
	"path/filepath"
)

// Replace makes dir hold exactly files (paths relative to dir, with '/').
// check, when not nil, runs on the staged directory first; its error aborts
// the swap and is returned as is. A kill at any moment leaves dir old or
// new (see Txn).
func Replace(dir string, files map[string][]byte, check func(staged string) error) error {
	t, err := Begin(dir, BeginOptions{})
	if err != nil {
		return err
	}
	defer t.Close()
	if _, err := t.StageDir(dir, files, check); err != nil {
		return err
	}
	return t.Commit()
}

// ReplaceFile replaces one file atomically.
func ReplaceFile(path string, b []byte) error {
	t, err := Begin(path, BeginOptions{})
	if err != nil {
		return err
	}
	defer t.Close()
	if _, err := t.StageFile(path, b); err != nil {
		return err
	}
	return t.Commit()
}

// Read returns the files under dir keyed by their slash-separated path.
func Read(dir string) (map[string][]byte, error) {
	files := map[string][]byte{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(dir, p)
		files[filepath.ToSlash(rel)] = b
		return err
	})
	return files, err
}
