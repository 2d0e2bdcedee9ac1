package main

import (
	"fmt"
	"strings"

	"github.com/example-inc/memcached-operator/internal/controller"
)

// leaseRetryPeriod is how often, in seconds, the leader renews its Lease.
var leaseRetryPeriod = controller.RetryPeriod.Seconds()

// leaseWrites are the steady-state writes that are the leader's Lease
// renewals; ownedWrites, those to what the operator owns and reports on.
func leaseWrites(r reconcileRun) float64 { return float64(r.SteadyWrites["update leases"]) }

func ownedWrites(r reconcileRun) float64 {
	n := 0
	for k, v := range r.SteadyWrites {
		if _, resource, _ := strings.Cut(k, " "); strings.HasPrefix(resource, "memcacheds") || resource == "deployments" {
			n += v
		}
	}
	return float64(n)
}

// reconcileTargets are B1's promises at N=1000 with the shipped flags.
func reconcileTargets(rows []reconcileRow) []target {
	var out []target
	for _, r := range rows {
		if r.N != 1000 || len(r.Variant) > 0 {
			continue
		}
		med := func(pick func(reconcileRun) float64) float64 { return figures(r.Runs, pick).Median }
		out = append(out,
			newTarget("B1.converged", "all 1,000 Memcacheds converged", med(func(x reconcileRun) float64 { return x.TotalSeconds }), 30, "s"),
			newTarget("B1.tail", "last CR converged after the last Deployment ready", med(func(x reconcileRun) float64 { return x.TailSeconds }), 1, "s"),
			newTarget("B1.deployment-creates", "Deployment creates per CR", med(func(x reconcileRun) float64 { return x.DeploymentCreate }), 1, ""),
			newTarget("B1.status-writes", "status writes per CR", med(func(x reconcileRun) float64 { return x.StatusWrites }), 2, ""),
			newTarget("B1.conflicts", "409 conflicts", med(func(x reconcileRun) float64 { return float64(x.Conflicts) }), 0, ""),
			newTarget("B1.steady-writes", "writes to Memcacheds and Deployments in the steady state", med(ownedWrites), 0, ""),
			newTarget("B1.rss", "operator peak RSS", med(func(x reconcileRun) float64 { return x.PeakRSSMiB }), 70, "MiB"))
	}
	return out
}

// reconcileTable is B1's tables: per configuration the median of its runs
// with their range, then the steady state by resource, then where the
// requests and the control plane's CPU went in the run of median
// convergence.
func reconcileTable(rows []reconcileRow) string {
	targets := map[string]target{}
	for _, t := range reconcileTargets(rows) {
		targets[t.ID] = t
	}
	mark := func(r reconcileRow, id string) string {
		if t, ok := targets[id]; ok && r.N == 1000 && len(r.Variant) == 0 {
			return " " + t.Verdict()
		}
		return ""
	}
	var b strings.Builder
	b.WriteString("| N | manager flags | nodes | runs | all converged | last Deployment ready (control plane) | tail: last CR converged after it | per CR: created → Deployment created p50 / p95 / max | per CR: Deployment ready → status converged p50 / p95 / max | per CR: created → converged p50 / max | Deployment creates / CR | status writes / CR | 409 conflicts | steady-state writes to Memcacheds and Deployments | peak RSS | operator CPU |\n|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		f := func(pick func(reconcileRun) float64, format string) string {
			return figures(r.Runs, pick).Format(format)
		}
		lat := func(pick func(reconcileRun) perCR) string {
			return f(func(x reconcileRun) float64 { return pick(x).P50 }, "%.2f") + " / " + f(func(x reconcileRun) float64 { return pick(x).P95 }, "%.2f") + " / " + f(func(x reconcileRun) float64 { return pick(x).Max }, "%.2f") + " s"
		}
		fmt.Fprintf(&b, "| %d | %s | %d | %d | %s s%s | %s s | %s s%s | %s | %s | %s / %s s | %s%s | %s%s | %s%s | %s in %.0f s%s | %s MiB%s | %s s |\n",
			r.N, flagsLabel(r.Variant), r.Nodes, len(r.Runs),
			f(func(x reconcileRun) float64 { return x.TotalSeconds }, "%.1f"), mark(r, "B1.converged"),
			f(func(x reconcileRun) float64 { return x.LastReadySeconds }, "%.1f"),
			f(func(x reconcileRun) float64 { return x.TailSeconds }, "%.1f"), mark(r, "B1.tail"),
			lat(func(x reconcileRun) perCR { return x.CreatedToDeployment }), lat(func(x reconcileRun) perCR { return x.ReadyToConverged }),
			f(func(x reconcileRun) float64 { return x.Converged.P50 }, "%.1f"), f(func(x reconcileRun) float64 { return x.Converged.Max }, "%.1f"),
			f(func(x reconcileRun) float64 { return x.DeploymentCreate }, "%.2f"), mark(r, "B1.deployment-creates"),
			f(func(x reconcileRun) float64 { return x.StatusWrites }, "%.2f"), mark(r, "B1.status-writes"),
			f(func(x reconcileRun) float64 { return float64(x.Conflicts) }, "%.0f"), mark(r, "B1.conflicts"),
			f(ownedWrites, "%.0f"), r.Runs[0].SteadySeconds, mark(r, "B1.steady-writes"),
			f(func(x reconcileRun) float64 { return x.PeakRSSMiB }, "%.0f"), mark(r, "B1.rss"),
			f(func(x reconcileRun) float64 { return x.CPUSeconds }, "%.1f"))
	}
	b.WriteString(reconcileSteadyTable(rows))
	b.WriteString("\nEach row is the median of its runs, with their range in brackets; each run starts its own cluster. The manager runs with the flags its Deployment ships (`--leader-elect`, metrics over https with token and access reviews, four workers), as a local process: metrics on a free local port, the Lease in `default` (no pod namespace), no health probes; a variant row names the flags it adds. The harness scrapes the metrics as a ServiceAccount bound to the shipped `metrics-reader` ClusterRole. Times come from watches on the Memcacheds and their Deployments (the harness lists nothing while the run converges). Per CR from its creation: its Deployment created (the operator's work), that Deployment at the CR's size and ready (every replica updated and ready: the control plane's work), the CR's status complete (Deployment at size with every pod ready, `status.nodes` lists them, `Available` True, for the current generation: the operator's work again). The tail is the time from the last Deployment ready to the last CR converged. Requests are counted by the operator itself (`memcached_operator_api_requests_total`, by verb and resource). Targets at N=1000 with the shipped flags: all converged within 30 s; tail at most 1 s; at most one Deployment create and two status writes per CR; zero conflicts; zero writes to Memcacheds and Deployments in the steady state; peak RSS at most 70 MiB.\n")
	return b.String()
}

// reconcileSteadyTable is the steady state by resource (Lease renewals on
// their own, against the rate the lease settings give) and, for the run of
// median convergence, the requests and the control plane's CPU.
func reconcileSteadyTable(rows []reconcileRow) string {
	var b strings.Builder
	b.WriteString("\n| N | manager flags | Lease renewals in the steady state | every other steady-state write (run of median convergence) | API requests (run of median convergence) | control plane CPU while converging (run of median convergence) |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		steady := r.Runs[0].SteadySeconds
		renewals := figures(r.Runs, leaseWrites)
		m := medianRun(r.Runs)
		others := map[string]int{}
		for k, v := range m.SteadyWrites {
			if k != "update leases" {
				others[k] = v
			}
		}
		fmt.Fprintf(&b, "| %d | %s | %s in %.0f s: one per %.1f s (the leader renews every %.0f s: %.0f expected) | %s | %s | %s |\n",
			r.N, flagsLabel(r.Variant), renewals.Format("%.0f"), steady, steady/max(renewals.Median, 1), leaseRetryPeriod, steady/leaseRetryPeriod,
			orNone(summary(others, "%d")), summary(m.Requests, "%d"), summary(m.ClusterCPU, "%.1f s"))
	}
	return b.String()
}

// medianRun is the run of median convergence time.
func medianRun(runs []reconcileRun) reconcileRun {
	med := figures(runs, func(x reconcileRun) float64 { return x.TotalSeconds }).Median
	for _, r := range runs {
		if r.TotalSeconds == med {
			return r
		}
	}
	return runs[0]
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
