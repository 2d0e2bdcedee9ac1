package graph

import (
	"fmt"
	"maps"
	"slices"
	"strings"
)

// SwitchSummary is what switching a Subscription's channel From one To
// another does for the bundles of the first: how many find an upgrade,
// and the others grouped by why they find none.
type SwitchSummary struct {
	From    string      `json:"from"`
	To      string      `json:"to"`
	Bundles int         `json:"bundles"`
	Upgrade int         `json:"upgrade"`
	None    []NoUpgrade `json:"none,omitempty"`
}

// NoUpgrade is the bundles that find no upgrade for one reason.
type NoUpgrade struct {
	Reason  string   `json:"reason"`
	Bundles []string `json:"bundles"`
}

// Summarize replaces the switch matrix with its summary: a catalog of
// many channels otherwise prints channels x channels x entries lines.
func (r *Report) Summarize() {
	r.SwitchSummary = summarizeSwitches(r.Switches)
	r.Switches = nil
}

func summarizeSwitches(switches []Switch) []SwitchSummary {
	var out []SwitchSummary
	index := map[[2]string]int{}
	none := map[[2]string]map[string][]string{}
	for _, s := range switches {
		key := [2]string{s.From, s.To}
		i, ok := index[key]
		if !ok {
			i = len(out)
			index[key] = i
			out = append(out, SwitchSummary{From: s.From, To: s.To})
			none[key] = map[string][]string{}
		}
		out[i].Bundles++
		if s.Lands != "" {
			out[i].Upgrade++
			continue
		}
		none[key][s.Reason] = append(none[key][s.Reason], s.Bundle)
	}
	for i := range out {
		reasons := none[[2]string{out[i].From, out[i].To}]
		for _, reason := range slices.Sorted(maps.Keys(reasons)) {
			out[i].None = append(out[i].None, NoUpgrade{Reason: reason, Bundles: reasons[reason]})
		}
	}
	return out
}

// writeSwitches writes the full matrix, or the summary when the report
// carries one; nothing for a package of one channel.
func (r *Report) writeSwitches(b *strings.Builder) {
	if len(r.Switches) == 0 && len(r.SwitchSummary) == 0 {
		return // one channel: nowhere to switch to
	}
	if r.SwitchSummary == nil {
		fmt.Fprintf(b, "\nchannel switches (installed bundle: from -> to lands on)\n")
		for _, s := range r.Switches {
			if s.Lands != "" {
				fmt.Fprintf(b, "  %s: %s -> %s lands on %s\n", s.Bundle, s.From, s.To, s.Lands)
			} else {
				fmt.Fprintf(b, "  %s: %s -> %s finds no upgrade (%s)\n", s.Bundle, s.From, s.To, s.Reason)
			}
		}
		return
	}
	fmt.Fprintf(b, "\nchannel switches (from -> to: bundles of the first that find an upgrade in the second; --switches=full lists each)\n")
	for _, s := range r.SwitchSummary {
		fmt.Fprintf(b, "  %s -> %s: %d of %d upgrade", s.From, s.To, s.Upgrade, s.Bundles)
		for _, n := range s.None {
			fmt.Fprintf(b, "; %s: %s", n.Reason, Few(n.Bundles))
		}
		b.WriteString("\n")
	}
}
