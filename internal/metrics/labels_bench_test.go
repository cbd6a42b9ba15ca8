package metrics

import (
	"testing"

	"github.com/llmgate/llmgate/internal/outcome"
)

// BenchmarkObserveSuccess is the metrics sink's CPU per answered try (the
// series cache's path), without custom labels and with the two metadata and
// three tag labels of labelled (D91: a key-metadata read, a request-tags
// merge and the tag matches per try, off the request path).
func BenchmarkObserveSuccess(b *testing.B) {
	tr := try(func(t *outcome.Try) {
		t.KeyHash = "k1"
		t.MetadataLabels = []string{"metadata_department=req-dept"}
		t.Tags, t.UserAgent = []string{"prod"}, "curl/8.5.0"
	})
	for _, c := range []struct {
		name string
		m    *Metrics
	}{{"plain", New(Options{})}, {"custom", labelled(map[string]any{"department": "key-dept"}, []string{"beta"})}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				c.m.Observe(tr)
			}
		})
	}
}

// TestObserveSuccessAllocates nothing: a successful try of a known identity
// updates its cached series without building a key or moving the try to
// the heap (D110: a 256-byte key and the 576-byte try per try before).
func TestObserveSuccessAllocates(t *testing.T) {
	m := New(Options{})
	tr := try(func(t *outcome.Try) { t.KeyHash = "k1" })
	m.Observe(tr)
	if n := testing.AllocsPerRun(100, func() { m.Observe(tr) }); n != 0 {
		t.Fatalf("%.1f allocations per try, want 0", n)
	}
}
