package reliability

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/pprof/profile"
)

// liveHeap sums the live bytes, and apart those of samples with client-go's
// event recorder on their stack.
func TestLiveHeap(t *testing.T) {
	fn := func(id uint64, name string) *profile.Function { return &profile.Function{ID: id, Name: name} }
	deepCopy, record, reconcile := fn(1, "k8s.io/api/events/v1.(*Event).DeepCopy"), fn(2, "k8s.io/client-go/tools/events.(*eventBroadcasterImpl).recordToSink.func1"), fn(3, "controller.(*MemcachedReconciler).Reconcile")
	loc := func(id uint64, f *profile.Function) *profile.Location {
		return &profile.Location{ID: id, Line: []profile.Line{{Function: f}}}
	}
	l1, l2, l3 := loc(1, deepCopy), loc(2, record), loc(3, reconcile)
	p := &profile.Profile{
		SampleType: []*profile.ValueType{{Type: "alloc_space", Unit: "bytes"}, {Type: "inuse_space", Unit: "bytes"}},
		Sample: []*profile.Sample{
			{Location: []*profile.Location{l1, l2}, Value: []int64{9000, 4096}},
			{Location: []*profile.Location{l3}, Value: []int64{9000, 1000}},
		},
		Location: []*profile.Location{l1, l2, l3},
		Function: []*profile.Function{deepCopy, record, reconcile},
	}
	var b bytes.Buffer
	if err := p.Write(&b); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(b.Bytes()) }))
	defer srv.Close()
	total, events, err := liveHeap(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if total != 5096 || events != 4096 {
		t.Errorf("liveHeap = %v, %v; want 5096 in use, 4096 of them under tools/events", total, events)
	}
}

// A fuzz failure is told by its failure lines and saved input, not by the
// stack trace (whose paths are this machine's).
func TestFuzzFailure(t *testing.T) {
	out := "--- FAIL: FuzzRender (0.01s)\n    --- FAIL: FuzzRender/cc84 (0.01s)\npanic: runtime error: nil pointer\n\tgithub.com/x/y.F()\n\t\t/root/go/pkg/mod/x/y.go:50 +0xcb\n    Failing input written to testdata/fuzz/FuzzRender/cc84\n"
	got := fuzzFailure(out)
	want := "--- FAIL: FuzzRender (0.01s); --- FAIL: FuzzRender/cc84 (0.01s); panic: runtime error: nil pointer; Failing input written to testdata/fuzz/FuzzRender/cc84"
	if got != want {
		t.Errorf("fuzzFailure = %q\nwant %q", got, want)
	}
}

func TestOverBaseline(t *testing.T) {
	base := footprint{HeapMiB: 4.1, EventsMiB: 2.0, Goroutines: 83, RSSMiB: 55}
	for _, tc := range []struct {
		name    string
		f       footprint
		drained bool
		want    []string
	}{
		{"after a wave: the recorder's cache and RSS left out", footprint{HeapMiB: 6.6, EventsMiB: 16.5, Goroutines: 83, RSSMiB: 77}, false, nil},
		{"after a wave: heap left behind", footprint{HeapMiB: 6.8, EventsMiB: 2.0, Goroutines: 83, RSSMiB: 55}, false, []string{"the live heap is 6.8 MiB (memory left behind per Memcached), over the baseline 4.1 MiB (limit 6.7)"}},
		{"after a wave: goroutines left running", footprint{HeapMiB: 4.1, EventsMiB: 2.0, Goroutines: 89, RSSMiB: 55}, false, []string{"89 goroutines, 83 at the baseline"}},
		{"drained: back at the baseline", footprint{HeapMiB: 6.6, EventsMiB: 0.8, Goroutines: 84, RSSMiB: 58}, true, nil},
		{"drained: heap left behind", footprint{HeapMiB: 9.5, EventsMiB: 0.5, Goroutines: 83, RSSMiB: 58}, true, []string{"the live heap is 10.0 MiB (0.5 MiB of it the event recorder's), over the baseline 6.1 MiB (limit 9.0)"}},
		{"drained: the recorder's cache never dropped", footprint{HeapMiB: 6.0, EventsMiB: 16.5, Goroutines: 83, RSSMiB: 58}, true, []string{"the live heap is 22.5 MiB"}},
		{"drained: resident memory kept", footprint{HeapMiB: 6.0, EventsMiB: 0.5, Goroutines: 83, RSSMiB: 70}, true, []string{"resident memory is 70 MiB, over the baseline 55 MiB (limit 68)"}},
		{"drained: goroutines and heap", footprint{HeapMiB: 9.5, EventsMiB: 0.5, Goroutines: 95, RSSMiB: 58}, true, []string{"the live heap is 10.0 MiB", "95 goroutines, 83 at the baseline"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := overBaseline(base, tc.f, tc.drained)
			if len(got) != len(tc.want) {
				t.Fatalf("overBaseline = %q, want %d findings like %q", got, len(tc.want), tc.want)
			}
			for i, w := range tc.want {
				if !strings.Contains(got[i], w) {
					t.Errorf("finding %d = %q, want it to say %q", i, got[i], w)
				}
			}
		})
	}
}
