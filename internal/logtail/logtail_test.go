package logtail

import "testing"

func TestLines(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"a\nb\nc\n", 2, "b\nc"},
		{"a\nb", 5, "a\nb"},
		{"", 3, ""},
	} {
		if got := Lines(tc.in, tc.n); got != tc.want {
			t.Errorf("Lines(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
	}
}
