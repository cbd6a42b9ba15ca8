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
