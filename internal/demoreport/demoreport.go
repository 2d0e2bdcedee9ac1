// Package demoreport is the shape of `bin/demo --report`: the steps of make
// demo's lifecycle and when each install reached each point, as the demo
// writes them and the lifecycle benchmark (bench lifecycle-real) reads them.
package demoreport

// Step is one recorded step of the demo.
type Step struct {
	What string `json:"step"`
	// Kind says what the step is (one of the Kind constants): stable for
	// readers of the report, where What is prose.
	Kind string `json:"kind"`
	// Start is when the step began, in seconds since the demo began.
	Start   float64 `json:"startSeconds"`
	Seconds float64 `json:"seconds"`
	// Phases time the install within a KindInstall or KindHop step.
	Phases *Phases `json:"phases,omitempty"`
}

// The kinds of step. An upgrade hop's KindHop comes after the KindOperator
// step the hop records on the real lane for the new operator pod.
const (
	KindCatalog  = "catalog"  // CatalogSource connected
	KindInstall  = "install"  // the first release installed: Subscription to CSV Succeeded
	KindOperator = "operator" // OLM's operator pod of a release ready (real lane)
	KindSample   = "sample"   // the sample created and reconciled
	KindHop      = "hop"      // one upgrade: approval to the sample reconciled by the new operator
)

// Phases is when each point of one install was reached, in seconds since
// its step began (the Subscription's creation for the first install, the
// approval's start for a hop). The first install reaches only the first
// two: its operator and the sample are steps of their own.
type Phases struct {
	CSV          string  `json:"csv"`
	Approved     float64 `json:"installPlanApprovedSeconds"`
	CSVSucceeded float64 `json:"csvSucceededSeconds"`
	// OperatorReady: OLM's new operator pod ready (real lane), or the
	// manager started here (simulated lane).
	OperatorReady float64 `json:"operatorReadySeconds,omitempty"`
	// Reconciled: the Memcached ready by the served CRD's fields and, on the
	// real lane, every memcached pod running the CSV's operand image.
	Reconciled float64 `json:"reconciledSeconds,omitempty"`
	// PodsReplaced: the Memcached's pods differ from before the hop.
	PodsReplaced bool `json:"memcachedPodsReplaced,omitempty"`
}
