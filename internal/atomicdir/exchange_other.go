//go:build !linux

package atomicdir

// exchange is not available: the caller moves the old tree aside first.
func exchange(string, string) (bool, error) { return false, nil }
