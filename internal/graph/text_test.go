package graph

import "testing"

// The text form shows, per channel, the head, every bundle's path to it
// and the skipped bundles; then the channel switches and the findings.
func TestText(t *testing.T) {
	r := &Report{
		Package: "p", DefaultChannel: "stable",
		Channels: []ChannelReport{
			{Name: "stable", Head: "p.v3", Next: map[string]string{"p.v1": "p.v3"}, Hops: map[string]int{"p.v1": 1, "p.v3": 0}, Skipped: []string{"p.v2"}},
			{Name: "broken"},
		},
		Switches: []Switch{
			{From: "stable", To: "fast", Bundle: "p.v1", Lands: "p.v2"},
			{From: "fast", To: "stable", Bundle: "p.v3", Reason: "already the head of stable"},
		},
		Problems: []Problem{{Severity: Error, Channel: "broken", Message: "no head"}},
	}
	want := `package p (default channel stable)

channel stable: head p.v3
  p.v1 -> p.v3
  p.v3 is the head
  p.v2 is skipped: no upgrade leads to it (startingCSV installs it)

channel broken: head (none)

channel switches (installed bundle: from -> to lands on)
  p.v1: stable -> fast lands on p.v2
  p.v3: fast -> stable finds no upgrade (already the head of stable)

findings
  error: channel broken: no head
`
	if got := r.Text(); got != want {
		t.Errorf("Text() =\n%s\nwant\n%s", got, want)
	}
	r.Problems = nil
	if got := r.Text(); got != want[:len(want)-len("\nfindings\n  error: channel broken: no head\n")] {
		t.Errorf("without problems, Text() =\n%s", got)
	}
}
