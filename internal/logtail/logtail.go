// Package logtail quotes the end of a log in an error message.
package logtail

import "strings"

// Lines is the last n lines of s.
func Lines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
