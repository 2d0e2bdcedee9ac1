package reliability

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

// Rows appended by one process are read back by another, in order; a line
// that is not a row is named with its number.
func TestAppendRead(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rows.jsonl")
	if rows, err := Read(path); err != nil || rows != nil {
		t.Fatalf("Read of a missing file = %v, %v; want none", rows, err)
	}
	a := Row{Group: "node", Name: "failover"}
	a.Run(true)
	a.Run(false)
	a.Figuref("%d s", 3)
	b := Row{Group: "olm", Name: "upgrade"}
	b.Fail("stuck at %s", "Installing")
	for _, r := range []Row{a, b} {
		if err := Append(path, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Read(path)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got, []Row{a, b}) {
		t.Errorf("Read = %+v, want %+v", got, []Row{a, b})
	}
	if a.OK() || b.OK() || a.Runs != 2 || a.Passed != 1 {
		t.Errorf("OK: a %+v, b %+v: want neither", a, b)
	}
	f, _ := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString("not json\n")
	f.Close()
	if _, err := Read(path); err == nil || !strings.Contains(err.Error(), "rows.jsonl:3:") {
		t.Errorf("Read of a bad line: err = %v, want the file and line 3", err)
	}
}
