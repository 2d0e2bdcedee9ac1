package reliability

import (
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/google/pprof/profile"

	"github.com/example-inc/memcached-operator/internal/procstat"
)

// footprint is what the operator holds at one moment, read after a
// garbage collection: live heap as its heap profile estimates it (without
// the event recorder's cache, given apart), goroutines and resident memory.
type footprint struct {
	HeapMiB float64
	// EventsMiB is the heap client-go's event recorder holds: a copy of
	// every event it sent in the last 6 to 12 minutes (its series cache),
	// freed by time, not by the Memcached's deletion.
	EventsMiB  float64
	Goroutines int
	RSSMiB     float64
}

func (f footprint) String() string {
	return fmt.Sprintf("%.1f MiB heap (+%.1f MiB of recent events), %d goroutines, %.0f MiB RSS", f.HeapMiB, f.EventsMiB, f.Goroutines, f.RSSMiB)
}

// footprint lets the operator settle, collects its garbage, and reads what
// it holds.
func (r *opRun) footprint() (footprint, error) {
	time.Sleep(churnSettle)
	// The heap profile endpoint collects garbage first.
	heap, events, err := liveHeap(r.op.pprofURL + "/heap?gc=1")
	if err != nil {
		return footprint{}, err
	}
	g, err := r.op.metrics.Sum("go_goroutines")
	if err != nil {
		return footprint{}, err
	}
	rss, err := procstat.RSS(r.op.PID())
	if err != nil {
		return footprint{}, err
	}
	return footprint{HeapMiB: (heap - events) / (1 << 20), EventsMiB: events / (1 << 20), Goroutines: int(g), RSSMiB: rss}, nil
}

// eventRecorderPackage allocates the event recorder's cache.
const eventRecorderPackage = "k8s.io/client-go/tools/events."

// liveHeap reads a heap profile: the live bytes, and those of them
// allocated under client-go's event recorder (its series cache of recent
// events). Both are the profile's estimates from its samples.
func liveHeap(url string) (total, events float64, err error) {
	resp, err := http.Get(url)
	if err != nil {
		return 0, 0, fmt.Errorf("the operator's heap profile: %w", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, 0, fmt.Errorf("the operator's heap profile: %s from %s", resp.Status, url)
	}
	p, err := profile.Parse(resp.Body)
	if err != nil {
		return 0, 0, fmt.Errorf("the operator's heap profile: %w", err)
	}
	inuse := -1
	for i, st := range p.SampleType {
		if st.Type == "inuse_space" {
			inuse = i
		}
	}
	if inuse < 0 {
		return 0, 0, fmt.Errorf("the operator's heap profile has no inuse_space")
	}
	for _, s := range p.Sample {
		v := float64(s.Value[inuse])
		total += v
		if underPackage(s, eventRecorderPackage) {
			events += v
		}
	}
	return total, events, nil
}

// underPackage says whether a function of pkg is on the sample's stack.
func underPackage(s *profile.Sample, pkg string) bool {
	for _, loc := range s.Location {
		for _, l := range loc.Line {
			if l.Function != nil && strings.HasPrefix(l.Function.Name, pkg) {
				return true
			}
		}
	}
	return false
}
