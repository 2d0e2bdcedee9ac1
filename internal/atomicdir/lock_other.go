//go:build !unix

package atomicdir

import "os"

// lockDir does not lock where flock(2) is missing: changes are still
// journaled, but two at once are not kept apart.
func lockDir(string, bool) (*os.File, error) { return nil, nil }

func unlock(*os.File) {}
