package catalog

import (
	"slices"
	"strings"
)

// ErrorLines flattens operator-registry's validation error tree
//
//	invalid index:
//	└── invalid package "p":
//	    └── invalid channel "stable":
//	        └── invalid bundle "p.v1":
//	            └── invalid skipRange "x": ...
//
// into one line per leaf that carries its whole path:
//
//	invalid package "p": invalid channel "stable": invalid bundle "p.v1": invalid skipRange "x": ...
//
// sorted: operator-registry's model is maps, so the tree's order changes
// from run to run.
func ErrorLines(err error) []string {
	type frame struct {
		depth int
		text  string
	}
	var stack []frame
	var out []string
	rows := strings.Split(err.Error(), "\n")
	for i, row := range rows {
		depth := treeDepth(row)
		for len(stack) > 0 && stack[len(stack)-1].depth >= depth {
			stack = stack[:len(stack)-1]
		}
		text := strings.TrimSuffix(strings.TrimSpace(strings.TrimLeft(row, treeChars)), ":")
		if i+1 < len(rows) && treeDepth(rows[i+1]) > depth {
			stack = append(stack, frame{depth, text})
			continue
		}
		var parts []string
		for _, f := range stack {
			if f.text != "opm validate: invalid index" && f.text != "invalid index" {
				parts = append(parts, f.text)
			}
		}
		out = append(out, strings.Join(append(parts, text), ": "))
	}
	slices.Sort(out)
	return out
}

// treeChars draw operator-registry's error tree.
const treeChars = " │├└─"

// treeDepth is how far a row of the error tree is indented.
func treeDepth(row string) int {
	return len([]rune(row)) - len([]rune(strings.TrimLeft(row, treeChars)))
}
