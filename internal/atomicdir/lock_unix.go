//go:build unix

package atomicdir

import (
	"errors"
	"os"
	"syscall"
)

// lockDir takes an exclusive lock on dir, released by unlock or when the
// process ends (a killed process leaves no stale lock).
func lockDir(dir string, noWait bool) (*os.File, error) {
	f, err := os.Open(dir)
	if err != nil {
		return nil, err
	}
	how := syscall.LOCK_EX
	if noWait {
		how |= syscall.LOCK_NB
	}
	for {
		err = syscall.Flock(int(f.Fd()), how)
		if !errors.Is(err, syscall.EINTR) {
			break
		}
	}
	if err != nil {
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, ErrBusy
		}
		return nil, err
	}
	return f, nil
}

func unlock(f *os.File) {
	if f != nil {
		_ = f.Close() // closing the last descriptor releases the lock
	}
}
