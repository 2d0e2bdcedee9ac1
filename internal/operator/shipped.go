package operator

import (
	"fmt"
	"strings"
)

// ShippedArgs are the flags the operator's Deployment runs the manager with
// (config/manager/manager.yaml with config/default's metrics patch, which a
// unit test reads): leader election on, metrics on :8443 over https with
// token and access reviews, health probes on :8081.
var ShippedArgs = []string{"--metrics-bind-address=:8443", "--leader-elect", "--health-probe-bind-address=:8081"}

// StandIn is why the manager runs with other flags where a local process
// stands in for the operator's pod (the simulated lane, where no node runs
// pods): one process needs no leader election, and nothing scrapes its
// metrics or probes its health there.
const StandIn = "a local process stands in for the operator's pod on the simulated lane: one process, so no leader election; no scraper or kubelet, so metrics and probes off"

// Departures lists how args differ from ShippedArgs, one entry per flag: a
// shipped flag with another value or left out, and a flag the Deployment does
// not set. Empty: the manager runs as shipped.
func Departures(args []string) []string {
	given, shipped := flagValues(args), flagValues(ShippedArgs)
	var out []string
	for _, a := range ShippedArgs {
		name := flagName(a)
		v, ok := given[name]
		switch {
		case !ok && shipped[name] == "":
			out = append(out, fmt.Sprintf("no --%s (shipped on)", name))
		case !ok:
			out = append(out, fmt.Sprintf("no --%s (shipped %s)", name, shipped[name]))
		case v != shipped[name]:
			out = append(out, fmt.Sprintf("--%s=%s (shipped %s)", name, v, shipped[name]))
		}
	}
	for _, a := range args {
		if _, ok := shipped[flagName(a)]; !ok {
			out = append(out, a+" (not shipped)")
		}
	}
	return out
}

// flagName is the name of --name or --name=value.
func flagName(arg string) string {
	name, _, _ := strings.Cut(strings.TrimLeft(arg, "-"), "=")
	return name
}

// flagValues maps flag names to their values ("" for a bool flag given bare).
func flagValues(args []string) map[string]string {
	out := map[string]string{}
	for _, a := range args {
		_, v, _ := strings.Cut(strings.TrimLeft(a, "-"), "=")
		out[flagName(a)] = v
	}
	return out
}
