package atomicdir

import (
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// tree is a directory and a file changed together.
type tree struct{ dir, file string }

func newTree(t *testing.T) tree {
	t.Helper()
	root := t.TempDir()
	tr := tree{dir: filepath.Join(root, "catalog"), file: filepath.Join(root, "template.yaml")}
	if err := Replace(tr.dir, map[string][]byte{"a/catalog.yaml": []byte("old"), "README.md": []byte("old")}, nil); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(tr.file, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	return tr
}

var newFiles = map[string][]byte{"a/catalog.yaml": []byte("new"), "b/catalog.yaml": []byte("new")}

// state is "old", "new", or a description of the mix.
func (tr tree) state(t *testing.T) string {
	t.Helper()
	files, err := Read(tr.dir)
	if err != nil {
		return "catalog/ unreadable: " + err.Error()
	}
	b, _ := os.ReadFile(tr.file)
	oldDir := map[string][]byte{"a/catalog.yaml": []byte("old"), "README.md": []byte("old")}
	switch {
	case reflect.DeepEqual(files, oldDir) && string(b) == "old":
		return "old"
	case reflect.DeepEqual(files, newFiles) && string(b) == "new":
		return "new"
	}
	return "mix"
}

// stage begins a change of both and stages the new content.
func (tr tree) stage(t *testing.T) *Txn {
	t.Helper()
	txn, err := Begin(tr.file, BeginOptions{NoWait: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := txn.StageDir(tr.dir, newFiles, nil); err != nil {
		t.Fatal(err)
	}
	if _, err := txn.StageFile(tr.file, []byte("new")); err != nil {
		t.Fatal(err)
	}
	return txn
}

func leftovers(t *testing.T, tr tree) []string {
	t.Helper()
	entries, _ := os.ReadDir(filepath.Dir(tr.dir))
	var out []string
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			out = append(out, e.Name())
		}
	}
	return out
}

func TestTxnCommitsBothOrNeither(t *testing.T) {
	tr := newTree(t)
	txn := tr.stage(t)
	if got := tr.state(t); got != "old" {
		t.Fatalf("staged but not committed: %s, want old", got)
	}
	if err := txn.Commit(); err != nil {
		t.Fatal(err)
	}
	_ = txn.Close()
	if got := tr.state(t); got != "new" {
		t.Errorf("committed: %s, want new", got)
	}
	if l := leftovers(t, tr); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}

	tr = newTree(t)
	txn = tr.stage(t)
	_ = txn.Close()
	if got := tr.state(t); got != "old" {
		t.Errorf("closed without commit: %s, want old", got)
	}
	if l := leftovers(t, tr); len(l) != 0 {
		t.Errorf("left behind: %v", l)
	}
}

// A process killed at each point of a change: the next Recover (or Begin)
// leaves the old state or the new one, and no debris.
func TestTxnRecoversFromAKillAtEveryStep(t *testing.T) {
	for _, tc := range []struct {
		name string
		kill func(t *testing.T, txn *Txn)
		want string
	}{
		{"while staging", func(t *testing.T, txn *Txn) {}, "old"},
		{"while writing the journal", func(t *testing.T, txn *Txn) {
			_ = os.WriteFile(filepath.Join(txn.dir, journalName+".tmp"), []byte(`[{"sta`), 0o644)
		}, "old"},
		{"right after the journal", func(t *testing.T, txn *Txn) { writeJournal(t, txn) }, "new"},
		{"after the first move", func(t *testing.T, txn *Txn) {
			writeJournal(t, txn)
			m := txn.moves[0]
			if err := swapIn(filepath.Join(txn.dir, m.Staged), m.Target, true); err != nil {
				t.Fatal(err)
			}
		}, "new"},
		{"with the directory moved aside (no exchange)", func(t *testing.T, txn *Txn) {
			writeJournal(t, txn)
			m := txn.moves[0]
			if err := os.Rename(m.Target, filepath.Join(txn.dir, m.Staged+".old")); err != nil {
				t.Fatal(err)
			}
		}, "new"},
		{"after every move, before the cleanup", func(t *testing.T, txn *Txn) {
			writeJournal(t, txn)
			for _, m := range txn.moves {
				st, _ := os.Lstat(filepath.Join(txn.dir, m.Staged))
				if err := swapIn(filepath.Join(txn.dir, m.Staged), m.Target, st.IsDir()); err != nil {
					t.Fatal(err)
				}
			}
		}, "new"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tr := newTree(t)
			txn := tr.stage(t)
			tc.kill(t, txn)
			unlock(txn.lock) // the process dies: its lock goes, its files stay
			if err := Recover(tr.file); err != nil {
				t.Fatal(err)
			}
			if got := tr.state(t); got != tc.want {
				t.Errorf("after recovery: %s, want %s", got, tc.want)
			}
			if l := leftovers(t, tr); len(l) != 0 {
				t.Errorf("left behind: %v", l)
			}
		})
	}
}

func writeJournal(t *testing.T, txn *Txn) {
	t.Helper()
	b := []byte(`[`)
	for i, m := range txn.moves {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, []byte(`{"staged":"`+m.Staged+`","target":"`+m.Target+`"}`)...)
	}
	if err := writeSynced(filepath.Join(txn.dir, journalName), append(b, ']')); err != nil {
		t.Fatal(err)
	}
}

func TestTxnRefusesASecondChangeAtOnce(t *testing.T) {
	tr := newTree(t)
	first := tr.stage(t)
	defer first.Close()
	_, err := Begin(tr.file, BeginOptions{NoWait: true})
	if !errors.Is(err, ErrBusy) {
		t.Fatalf("second change: %v, want ErrBusy", err)
	}
	want := tr.file + ": another run is changing it (it holds the lock on " + filepath.Dir(tr.file) + "): wait for it to finish and run again"
	if err.Error() != want {
		t.Errorf("message:\n%s\nwant\n%s", err, want)
	}
	if got := tr.state(t); got != "old" {
		t.Errorf("the refused change touched the files: %s", got)
	}
}

func TestRecoverReportsAnUnreadableJournal(t *testing.T) {
	tr := newTree(t)
	txn := tr.stage(t)
	_ = os.WriteFile(filepath.Join(txn.dir, journalName), []byte("{"), 0o644)
	unlock(txn.lock)
	err := Recover(tr.file)
	if err == nil || !strings.Contains(err.Error(), "journal is unreadable") || !strings.Contains(err.Error(), "restore its targets from version control") {
		t.Errorf("got %v", err)
	}
}
