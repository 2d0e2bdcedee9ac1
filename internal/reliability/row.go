// Package reliability is the reliability harness behind `make reliability`
// (cmd/reliability): each group a table of named scenarios (what is
// injected, what is checked), the runner that walks the tables, and the
// report, docs/reliability.md and reliability.json.
//
// Its row (this file) is also what the real-node cluster tests
// (test/framework) measure and hand it, one JSON object a line.
package reliability

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
)

// Row is one scenario: how often a fault was injected (Runs), how often
// everything it asserts held (Passed), what was measured (Figure), and what
// went wrong.
type Row struct {
	Group    string   `json:"group"`
	Name     string   `json:"scenario"`
	Runs     int      `json:"runs"`
	Passed   int      `json:"passed"`
	Figure   string   `json:"figure"`
	Failures []string `json:"failures,omitempty"`
}

// Run counts one injected fault and whether everything held after it.
func (r *Row) Run(ok bool) {
	r.Runs++
	if ok {
		r.Passed++
	}
}

// Fail records what went wrong.
func (r *Row) Fail(format string, args ...any) {
	r.Failures = append(r.Failures, fmt.Sprintf(format, args...))
}

// Figuref sets the figures.
func (r *Row) Figuref(format string, args ...any) { r.Figure = fmt.Sprintf(format, args...) }

// OK says whether every run passed and nothing failed.
func (r *Row) OK() bool { return r.Passed == r.Runs && len(r.Failures) == 0 }

// Append adds r to the file at path as one line.
func Append(path string, r Row) error {
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("%s: %w", path, err)
	}
	return f.Close()
}

// Read reads the rows appended to path; none when it does not exist.
func Read(path string) ([]Row, error) {
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var rows []Row
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		var r Row
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, n, err)
		}
		rows = append(rows, r)
	}
	return rows, sc.Err()
}
