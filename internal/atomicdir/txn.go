package atomicdir

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
)

// A Txn changes several files and directories as one. Each new content is
// staged in a hidden directory beside the anchor (".<anchor>.txn"); Commit
// then writes a journal naming every move (the commit point) and makes the
// moves, each of them atomic. A process killed before the journal is
// written leaves the old state, and staged debris that the next Begin or
// Recover on the anchor removes; killed after, the next Begin or Recover
// finishes the moves. So every reader that first calls Recover sees the old
// state or the complete new one, never a mix.
//
// Begin locks the anchor's parent directory until Close, so two changes of
// the same place never interleave.
type Txn struct {
	dir       string
	lock      *os.File
	moves     []move
	committed bool
}

// move is one journal entry: the staged path (relative to the Txn's
// directory) that replaces target.
type move struct {
	Staged string `json:"staged"`
	Target string `json:"target"`
}

const journalName = "journal.json"

// ErrBusy is returned by Begin with NoWait when another process is
// changing the same place.
var ErrBusy = errors.New("another run is changing it")

// BeginOptions say how Begin waits for the lock.
type BeginOptions struct {
	// NoWait fails with ErrBusy instead of waiting for another change of
	// the same place to finish.
	NoWait bool
}

// txnDir is where changes to anchor are staged and journaled.
func txnDir(anchor string) string {
	anchor = filepath.Clean(anchor)
	return filepath.Join(filepath.Dir(anchor), "."+filepath.Base(anchor)+".txn")
}

// Begin starts a change anchored at anchor (one of the paths it changes),
// after finishing or discarding one a killed process left.
func Begin(anchor string, o BeginOptions) (*Txn, error) {
	parent := filepath.Dir(filepath.Clean(anchor))
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	lock, err := lockDir(parent, o.NoWait)
	if err != nil {
		if errors.Is(err, ErrBusy) {
			return nil, fmt.Errorf("%s: %w (it holds the lock on %s): wait for it to finish and run again", anchor, ErrBusy, parent)
		}
		return nil, fmt.Errorf("lock %s: %w", parent, err)
	}
	t := &Txn{dir: txnDir(anchor), lock: lock}
	if err := recoverTxn(t.dir); err != nil {
		unlock(lock)
		return nil, err
	}
	if err := os.Mkdir(t.dir, 0o755); err != nil {
		unlock(lock)
		return nil, err
	}
	return t, nil
}

// Recover finishes a change to anchor that a killed process committed, or
// discards one it had not; it waits for a running change to end.
func Recover(anchor string) error {
	dir := txnDir(anchor)
	if _, err := os.Stat(dir); os.IsNotExist(err) {
		return nil
	}
	t, err := Begin(anchor, BeginOptions{})
	if err != nil {
		return err
	}
	return t.Close()
}

// StageDir stages dir to hold exactly files, runs check on the staged copy
// (its error aborts), and returns the staged copy's path, which callers may
// read until Close.
func (t *Txn) StageDir(dir string, files map[string][]byte, check func(staged string) error) (string, error) {
	staged := t.next(dir)
	if err := writeTree(staged, files); err != nil {
		return "", err
	}
	if check != nil {
		if err := check(staged); err != nil {
			return "", err
		}
	}
	return staged, nil
}

// StageFile stages path to hold b and returns the staged copy's path.
func (t *Txn) StageFile(path string, b []byte) (string, error) {
	staged := t.next(path)
	if err := os.WriteFile(staged, b, 0o644); err != nil {
		return "", err
	}
	return staged, nil
}

// next records a move to target and returns its staged path.
func (t *Txn) next(target string) string {
	name := strconv.Itoa(len(t.moves))
	abs, err := filepath.Abs(target)
	if err != nil {
		abs = filepath.Clean(target)
	}
	t.moves = append(t.moves, move{Staged: name, Target: abs})
	return filepath.Join(t.dir, name)
}

// Commit writes the journal and moves every staged path into place.
func (t *Txn) Commit() error {
	b, err := json.Marshal(t.moves)
	if err != nil {
		return err
	}
	if err := writeSynced(filepath.Join(t.dir, journalName), b); err != nil {
		return fmt.Errorf("commit %s: %w", t.dir, err)
	}
	t.committed = true
	return finish(t.dir, t.moves)
}

// Close discards what was staged and not committed, and unlocks.
func (t *Txn) Close() error {
	var err error
	if !t.committed {
		err = os.RemoveAll(t.dir)
	}
	unlock(t.lock)
	return err
}

// recoverTxn finishes the journal in dir, or removes dir when it has none.
func recoverTxn(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, journalName))
	if os.IsNotExist(err) {
		return os.RemoveAll(dir)
	}
	if err != nil {
		return err
	}
	var moves []move
	if err := json.Unmarshal(b, &moves); err != nil {
		return fmt.Errorf("%s: an interrupted change's journal is unreadable (%v): restore its targets from version control and delete %s", filepath.Join(dir, journalName), err, dir)
	}
	return finish(dir, moves)
}

// finish makes the moves not yet made, then removes dir (journal last).
// Each step is safe to repeat after a kill.
func finish(dir string, moves []move) error {
	for _, m := range moves {
		staged := filepath.Join(dir, m.Staged)
		st, err := os.Lstat(staged)
		if os.IsNotExist(err) {
			continue // moved already
		}
		if err != nil {
			return err
		}
		if err := os.MkdirAll(filepath.Dir(m.Target), 0o755); err != nil {
			return err
		}
		if err := swapIn(staged, m.Target, st.IsDir()); err != nil {
			return fmt.Errorf("move %s into place: %w", m.Target, err)
		}
	}
	// Old copies first, the journal last: a kill in between only leaves
	// old copies, which the next recovery (no journal: debris) removes.
	entries, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	names := make([]string, 0, len(entries))
	for _, e := range entries {
		if e.Name() != journalName {
			names = append(names, e.Name())
		}
	}
	sort.Strings(names)
	for _, n := range names {
		if err := os.RemoveAll(filepath.Join(dir, n)); err != nil {
			return err
		}
	}
	return os.RemoveAll(dir)
}

// swapIn puts staged at target. A file is renamed over target; a
// directory is exchanged with it where the system can (target is then the
// old or the new tree at every moment, and the old one is left at
// staged+".old"), otherwise target is moved aside first.
func swapIn(staged, target string, isDir bool) error {
	if !isDir {
		return os.Rename(staged, target)
	}
	old := staged + ".old"
	if _, err := os.Lstat(target); err == nil {
		if exchanged, err := exchange(staged, target); err != nil {
			return err
		} else if exchanged {
			return os.Rename(staged, old)
		}
		if err := os.RemoveAll(old); err != nil {
			return err
		}
		if err := os.Rename(target, old); err != nil {
			return err
		}
	}
	return os.Rename(staged, target)
}

// writeTree writes files (slash paths) under dir, which must not exist.
func writeTree(dir string, files map[string][]byte) error {
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	names := make([]string, 0, len(files))
	for name := range files {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		p := filepath.Join(dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
		if err := os.WriteFile(p, files[name], 0o644); err != nil {
			return err
		}
	}
	return nil
}

// writeSynced writes path through a temporary file, synced, and renamed
// into place: path holds all of b or does not exist.
func writeSynced(path string, b []byte) error {
	tmp := path + ".tmp"
	f, err := os.Create(tmp)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	if err := f.Close(); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}
