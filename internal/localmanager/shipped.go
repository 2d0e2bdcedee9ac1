package localmanager

import (
	"fmt"
	"strings"
)

// ShippedArgs are the flags the operator's Deployment runs the manager with
// (what kustomize build config/default ships; the manager's integration
// test checks the two agree): leader election on, metrics on :8443 over https with
// token and access reviews, health probes on :8081.
var ShippedArgs = []string{"--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:8081"}

// StandIn is why the manager runs with other flags where a local process
// stands in for the operator's pod (the simulated lane, where no node runs
// pods): one process needs no leader election, and nothing scrapes its
// metrics or probes its health there.
const StandIn = "a local process stands in for the operator's pod on the simulated lane: one process, so no leader election; no scraper or kubelet, so metrics and probes off"

// Departures lists how args differ from ShippedArgs, one entry per flag: a
// shipped flag with another value or left out, and a flag the Deployment does
// not set. Empty: the manager runs as shipped. A bool flag given bare is
// "true", as the flag package reads it.
func Departures(args []string) []string {
	given, shipped := flagValues(args), flagValues(ShippedArgs)
	var out []string
	for _, a := range ShippedArgs {
		name, _ := flag(a)
		v, ok := given[name]
		switch {
		case !ok:
			out = append(out, fmt.Sprintf("no --%s (shipped %s)", name, shown(shipped[name])))
		case v != shipped[name]:
			out = append(out, fmt.Sprintf("--%s=%s (shipped %s)", name, v, shown(shipped[name])))
		}
	}
	for _, a := range args {
		if name, _ := flag(a); shipped[name] == "" {
			out = append(out, a+" (not shipped)")
		}
	}
	return out
}

// shown is a shipped value as a reader says it: "on" for a bool flag.
func shown(v string) string {
	if v == "true" {
		return "on"
	}
	return v
}

// flag is the name and value of --name or --name=value ("true" for a bare
// bool flag).
func flag(arg string) (name, value string) {
	name, value, ok := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	if !ok {
		value = "true"
	}
	return name, value
}

// flagValues maps flag names to their values.
func flagValues(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		name, v := flag(a)
		out[name] = v
	}
	return out
}
