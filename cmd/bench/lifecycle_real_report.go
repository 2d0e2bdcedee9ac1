package main

import (
	"fmt"
	"slices"
	"strings"
)

// realLifecycleResult is B3 on the real lane: every run, and each step's
// figure over them.
type realLifecycleResult struct {
	Runs             []realLifecycleRun `json:"runs"`
	ClusterNodeOLMUp figure             `json:"clusterNodeAndOLMUpSeconds"`
	// CatalogConnected: the CatalogSource created to connected (OLM runs the
	// catalog image's registry pod).
	CatalogConnected figure `json:"catalogConnectedSeconds"`
	// FirstCSV is the release installed first; FirstApproved and
	// FirstInstall run from its Subscription's creation.
	FirstCSV          string `json:"firstCSV"`
	FirstApproved     figure `json:"firstInstallPlanApprovedSeconds"`
	FirstInstall      figure `json:"firstCSVSucceededSeconds"`
	FirstCSVSucceeded figure `json:"nothingToFirstCSVSucceededSeconds"`
	// Hops are the upgrade hops in the order the demo made them.
	Hops    []hopFigures `json:"upgradeHops"`
	Whole   figure       `json:"wholeSeconds"`
	PeakRSS rssFigures   `json:"peakWholeStackRSS"`
	EndRSS  rssFigures   `json:"endWholeStackRSS"`
}

// hopFigures is one upgrade hop: seconds from the approval's start to each
// point, over the runs. Reconciled is the hop's total.
type hopFigures struct {
	CSV           string `json:"csv"`
	Approved      figure `json:"installPlanApprovedSeconds"`
	CSVSucceeded  figure `json:"csvSucceededSeconds"`
	OperatorReady figure `json:"operatorPodReadySeconds"`
	Reconciled    figure `json:"reconciledSeconds"`
	// PodsReplaced counts the runs in which the hop replaced the memcached
	// pods.
	PodsReplaced int `json:"memcachedPodsReplacedRuns"`
}

// rssFigures is the whole stack's memory over the runs, in MiB: each part's
// figure on its own, so the parts' medians need not add up to the total's.
type rssFigures struct {
	Total        figure `json:"totalMiB"`
	ControlPlane figure `json:"controlPlaneMiB"`
	Node         figure `json:"nodeMiB"`
	Pods         figure `json:"podsMiB"`
}

// demoMilestones are the steps of one run's demo the figures come from.
type demoMilestones struct {
	catalog, install demoStep
	// firstCSV is nothing running to the first CSV Succeeded.
	firstCSV float64
	hops     []demoPhases
}

// milestones picks the run's catalog, first install and hops out of the
// demo's steps by their kind.
func (r realLifecycleRun) milestones() (demoMilestones, error) {
	var m demoMilestones
	for _, s := range r.Demo {
		switch {
		case s.Kind == demoStepCatalog && m.catalog.Kind == "":
			m.catalog = s
		case s.Kind == demoStepInstall && s.Phases != nil && m.install.Kind == "":
			m.install = s
		case s.Kind == demoStepHop && s.Phases != nil:
			m.hops = append(m.hops, *s.Phases)
		}
	}
	if m.catalog.Kind == "" || m.install.Kind == "" || len(m.hops) == 0 {
		return m, fmt.Errorf("the demo's report has no catalog step, no first install with phases or no hop (a bin/demo older than the benchmark?)")
	}
	m.firstCSV = r.DemoStart + m.install.Start + m.install.Phases.CSVSucceeded
	return m, nil
}

// realLifecycleFigures sums the runs up; they must have made the same hops.
func realLifecycleFigures(runs []realLifecycleRun) (realLifecycleResult, error) {
	res := realLifecycleResult{Runs: runs}
	ms := make([]demoMilestones, len(runs))
	for i, r := range runs {
		m, err := r.milestones()
		if err != nil {
			return res, fmt.Errorf("run %d: %w", i+1, err)
		}
		if i > 0 && !slices.Equal(hopCSVs(m), hopCSVs(ms[0])) {
			return res, fmt.Errorf("run %d hopped to %v, run 1 to %v", i+1, hopCSVs(m), hopCSVs(ms[0]))
		}
		ms[i] = m
	}
	if len(ms) == 0 {
		return res, fmt.Errorf("no runs")
	}
	res.ClusterNodeOLMUp = figures(runs, func(r realLifecycleRun) float64 { return r.ClusterNodeOLMUp })
	res.CatalogConnected = figures(ms, func(m demoMilestones) float64 { return m.catalog.Seconds })
	res.FirstCSV = ms[0].install.Phases.CSV
	res.FirstApproved = figures(ms, func(m demoMilestones) float64 { return m.install.Phases.Approved })
	res.FirstInstall = figures(ms, func(m demoMilestones) float64 { return m.install.Phases.CSVSucceeded })
	res.FirstCSVSucceeded = figures(ms, func(m demoMilestones) float64 { return m.firstCSV })
	res.Hops = hopFiguresOf(ms)
	res.Whole = figures(runs, func(r realLifecycleRun) float64 { return r.Whole })
	res.PeakRSS = rssFiguresOf(runs, func(r realLifecycleRun) stackRSS { return r.PeakRSS })
	res.EndRSS = rssFiguresOf(runs, func(r realLifecycleRun) stackRSS { return r.EndRSS })
	return res, nil
}

func hopCSVs(m demoMilestones) []string {
	csvs := make([]string, len(m.hops))
	for i, h := range m.hops {
		csvs[i] = h.CSV
	}
	return csvs
}

// hopFiguresOf is each hop's figures over the runs' milestones.
func hopFiguresOf(ms []demoMilestones) []hopFigures {
	var hops []hopFigures
	for i, h := range ms[0].hops {
		phase := func(pick func(demoPhases) float64) figure {
			return figures(ms, func(m demoMilestones) float64 { return pick(m.hops[i]) })
		}
		f := hopFigures{
			CSV:           h.CSV,
			Approved:      phase(func(p demoPhases) float64 { return p.Approved }),
			CSVSucceeded:  phase(func(p demoPhases) float64 { return p.CSVSucceeded }),
			OperatorReady: phase(func(p demoPhases) float64 { return p.OperatorReady }),
			Reconciled:    phase(func(p demoPhases) float64 { return p.Reconciled }),
		}
		for _, m := range ms {
			if m.hops[i].PodsReplaced {
				f.PodsReplaced++
			}
		}
		hops = append(hops, f)
	}
	return hops
}

// rssFiguresOf is the figures of the sample pick takes from each run.
func rssFiguresOf(runs []realLifecycleRun, pick func(realLifecycleRun) stackRSS) rssFigures {
	part := func(get func(stackRSS) float64) figure {
		return figures(runs, func(r realLifecycleRun) float64 { return get(pick(r)) })
	}
	return rssFigures{
		Total:        part(func(s stackRSS) float64 { return s.Total }),
		ControlPlane: part(func(s stackRSS) float64 { return s.ControlPlane }),
		Node:         part(func(s stackRSS) float64 { return s.Node }),
		Pods:         part(func(s stackRSS) float64 { return s.Pods }),
	}
}

// B3's limits on the real lane, in seconds.
const (
	firstCSVLimit = 45
	hopLimit      = 20
)

// realLifecycleTargets are B3's promises: the first CSV from nothing
// running, and each hop from approval to the Memcached reconciled by the
// new operator.
func realLifecycleTargets(res realLifecycleResult) []target {
	t := []target{newTarget(firstCSVTarget, "nothing running to first CSV Succeeded (real lane)", res.FirstCSVSucceeded.Median, firstCSVLimit, "s")}
	for _, h := range res.Hops {
		t = append(t, newTarget(hopTarget(h.CSV), "hop to "+h.CSV+": approval to the Memcached reconciled by the new operator (real lane)", h.Reconciled.Median, hopLimit, "s"))
	}
	return t
}

const firstCSVTarget = "B3.first-csv"

// hopTarget names a hop's target: `B3.hop.<csv>` (target IDs have no spaces).
func hopTarget(csv string) string { return "B3.hop." + csv }

// targetCell is a table's target column for the target named id: its
// name, its limit and the verdict.
func targetCell(targets []target, id string) string {
	i := slices.IndexFunc(targets, func(t target) bool { return t.ID == id })
	if i < 0 {
		return ""
	}
	t := targets[i]
	return fmt.Sprintf("`%s`: at most %g %s %s", t.ID, t.Limit, t.Unit, t.Verdict())
}

// realLifecycleTable is the Markdown of res: the steps, the hops and the
// memory, each figure the median (min-max) of the runs, held to targets.
func realLifecycleTable(res realLifecycleResult, targets []target) string {
	var b strings.Builder
	s := func(f figure) string { return f.Format("%.1f") }
	fmt.Fprintf(&b, "Seconds, median (min-max) of %d runs, each from nothing running.\n\n", len(res.Runs))
	b.WriteString("| step | seconds | target |\n|---|---|---|\n")
	fmt.Fprintf(&b, "| local cluster with a real node + OLM in the cluster, from nothing running | %s | |\n", s(res.ClusterNodeOLMUp))
	fmt.Fprintf(&b, "| CatalogSource connected (OLM runs the catalog image's registry pod) | %s | |\n", s(res.CatalogConnected))
	fmt.Fprintf(&b, "| first install (%s): Subscription to InstallPlan approved | %s | |\n", res.FirstCSV, s(res.FirstApproved))
	fmt.Fprintf(&b, "| first install (%s): Subscription to CSV Succeeded (OLM unpacks the bundle image, runs the operator) | %s | |\n", res.FirstCSV, s(res.FirstInstall))
	fmt.Fprintf(&b, "| **nothing running to first CSV Succeeded** | **%s** | %s |\n", s(res.FirstCSVSucceeded), targetCell(targets, firstCSVTarget))
	fmt.Fprintf(&b, "| whole lifecycle: nothing running to the head (%s), memcached answering | %s | |\n", res.Hops[len(res.Hops)-1].CSV, s(res.Whole))
	b.WriteString("\nOLM sets a CSV Succeeded only once its operator Deployment is available, so the first CSV Succeeded is also the first operator pod ready.\n\n")
	writeHopTable(&b, res, targets)
	writeRSSTable(&b, res)
	return b.String()
}

// writeHopTable is one row per upgrade hop, each with its target.
func writeHopTable(b *strings.Builder, res realLifecycleResult, targets []target) {
	s := func(f figure) string { return f.Format("%.1f") }
	b.WriteString("Each hop, in seconds from the start of its approval to each point:\n\n")
	b.WriteString("| hop to | InstallPlan approved | CSV Succeeded | new operator pod ready | Memcached reconciled by it: the hop's total | memcached pods | target |\n|---|---|---|---|---|---|---|\n")
	for _, h := range res.Hops {
		fmt.Fprintf(b, "| %s | %s | %s | %s | **%s** | %s | %s |\n", h.CSV, s(h.Approved), s(h.CSVSucceeded), s(h.OperatorReady),
			s(h.Reconciled), podsReplaced(h.PodsReplaced, len(res.Runs)), targetCell(targets, hopTarget(h.CSV)))
	}
	b.WriteString("\nThe new operator pod is ready when every pod of its Deployment runs the new CSV's image and is ready. " +
		"The Memcached is reconciled when it is ready by the served CRD's status fields and every memcached pod runs the operand image the new CSV names. " +
		"Where a release keeps the previous operand image (memcached pods untouched), that holds as soon as the new operator pod is ready: " +
		"the column then shows the Memcached still reconciled, not a reconcile the new operator has been seen to make.\n\n")
}

// podsReplaced says in how many of the runs a hop replaced the pods.
func podsReplaced(replaced, runs int) string {
	switch replaced {
	case 0:
		return "untouched"
	case runs:
		return "replaced"
	}
	return fmt.Sprintf("replaced in %d of %d runs", replaced, runs)
}

// writeRSSTable is the whole stack's memory at its peak and at the end.
func writeRSSTable(b *strings.Builder, res realLifecycleResult) {
	m := func(f figure) string { return f.Format("%.0f") }
	b.WriteString("Whole-stack resident memory in MiB, sampled every second (control plane, node daemons, every pod); each column is its own median (min-max), so the parts need not add up to the total:\n\n")
	b.WriteString("| whole-stack RSS | total | control plane | node | pods |\n|---|---|---|---|---|\n")
	for _, row := range []struct {
		name string
		r    rssFigures
	}{{"peak", res.PeakRSS}, {"at the end", res.EndRSS}} {
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", row.name, m(row.r.Total), m(row.r.ControlPlane), m(row.r.Node), m(row.r.Pods))
	}
}
