package main

import (
	"fmt"
	"slices"
)

// benchRuns is how many times B1 and B3 repeat each configuration; a
// figure is their median with the range.
const benchRuns = 3

// figure is one quantity measured over repeated runs: the median and the
// range, with every run's value.
type figure struct {
	Median float64   `json:"median"`
	Min    float64   `json:"min"`
	Max    float64   `json:"max"`
	Runs   []float64 `json:"runs"`
}

// figureOf summarises the runs' values of one quantity.
func figureOf(runs []float64) figure {
	if len(runs) == 0 {
		return figure{}
	}
	s := slices.Clone(runs)
	slices.Sort(s)
	return figure{Median: s[len(s)/2], Min: s[0], Max: s[len(s)-1], Runs: runs}
}

// figures collects each run's value of one quantity through pick.
func figures[R any](runs []R, pick func(R) float64) figure {
	v := make([]float64, len(runs))
	for i, r := range runs {
		v[i] = pick(r)
	}
	return figureOf(v)
}

// Format prints the median and, for more than one run, the range:
// "7.2 (7.0-7.5)" with format "%.1f".
func (f figure) Format(format string) string {
	if len(f.Runs) < 2 {
		return fmt.Sprintf(format, f.Median)
	}
	return fmt.Sprintf(format+" ("+format+"-"+format+")", f.Median, f.Min, f.Max)
}

// target is a promise the docs make: a figure's median against its limit.
// The doc's verdict words are checked against Met (docs_test.go).
type target struct {
	// ID names the target in the docs: `B1.converged` etc.
	ID string `json:"id"`
	// What the target is, as the doc says it ("all converged at N=1000").
	What  string  `json:"what"`
	Value float64 `json:"value"`
	// Limit is the largest value that meets the target.
	Limit float64 `json:"limit"`
	Unit  string  `json:"unit"`
	Met   bool    `json:"met"`
}

// newTarget is a target met when value <= limit.
func newTarget(id, what string, value, limit float64, unit string) target {
	return target{ID: id, What: what, Value: value, Limit: limit, Unit: unit, Met: value <= limit}
}

// Verdict is the table's word for t: "(met)" or "(**missed**)".
func (t target) Verdict() string { return verdict(t.Met) }
