package bench

import (
	"errors"
	"slices"
	"testing"
	"time"
)

// TestInterleavedStreams: every run streams the direct call first (each
// run's baseline), then every gate once in an order that starts one gate
// later each run; each gate gets one TTFT per run (the median of its
// streams) and the direct call's TTFT of the same run beside it; a failed
// stream ends the phase with its error.
func TestInterleavedStreams(t *testing.T) {
	direct := &Target{Endpoint: Endpoint{Name: "direct"}}
	gates := []*Target{{Endpoint: Endpoint{Name: "a"}}, {Endpoint: Endpoint{Name: "b"}}, {Endpoint: Endpoint{Name: "c"}}}
	ttft := map[string]time.Duration{"direct": 100 * time.Microsecond, "a": 400 * time.Microsecond, "b": 700 * time.Microsecond, "c": 900 * time.Microsecond}
	var calls []string
	var run int
	stream := func(e Endpoint) (StreamResult, error) {
		if len(calls) == 0 || calls[len(calls)-1] != e.Name {
			calls = append(calls, e.Name)
			if e.Name == "direct" {
				run++
			}
		}
		// Each run a little slower: a shared host's drift.
		return StreamResult{TTFT: ttft[e.Name] + time.Duration(run)*time.Microsecond, Chunks: 2}, nil
	}
	o := &Options{Runs: 3, StreamDuration: time.Millisecond}
	got, base, err := interleavedStreams(o, direct, gates, stream)
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"direct", "a", "b", "c", "direct", "b", "c", "a", "direct", "c", "a", "b"}
	if !slices.Equal(calls, want) {
		t.Errorf("stream order %v, want %v", calls, want)
	}
	if len(got) != len(gates) || len(base) != o.Runs {
		t.Fatalf("%d gates and %d baselines, want %d and %d", len(got), len(base), len(gates), o.Runs)
	}
	for i, g := range gates {
		if len(got[i]) != o.Runs {
			t.Fatalf("%s: %d runs, want %d", g.Name, len(got[i]), o.Runs)
		}
		for r, d := range got[i] {
			if w := ttft[g.Name] + time.Duration(r+1)*time.Microsecond; d != w {
				t.Errorf("%s run %d: TTFT %v, want %v", g.Name, r+1, d, w)
			}
			if w := ttft["direct"] + time.Duration(r+1)*time.Microsecond; base[r] != w {
				t.Errorf("run %d: direct TTFT %v, want %v", r+1, base[r], w)
			}
		}
	}
	boom := errors.New("boom")
	_, _, err = interleavedStreams(o, direct, gates, func(e Endpoint) (StreamResult, error) {
		if e.Name == "b" {
			return StreamResult{}, boom
		}
		return StreamResult{TTFT: time.Millisecond}, nil
	})
	if !errors.Is(err, boom) {
		t.Errorf("a failed stream: %v, want %v", err, boom)
	}
}
