package respcache

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/fakeqdrant"
	"github.com/llmgate/llmgate/internal/fakes3"
)

// BenchmarkStoreGet: one lookup of a 1 KB entry in each store (the fakes on
// 127.0.0.1: the figure is the gateway's side of the round trip, not a
// real S3's or Qdrant's latency). The qdrant case excludes the embedding.
func BenchmarkStoreGet(b *testing.B) {
	ctx := context.Background()
	body := make([]byte, 1024)
	for i := range body {
		body[i] = 'a'
	}
	e := Entry{Body: body, Stored: time.Now()}
	b.Run("disk", func(b *testing.B) {
		d, err := newDisk(filepath.Join(b.TempDir(), "c"), time.Now)
		if err != nil {
			b.Fatal(err)
		}
		_ = d.set(ctx, "k", e, 0)
		for b.Loop() {
			if _, ok, err := d.get(ctx, "k"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("s3", func(b *testing.B) {
		f := fakes3.Start(b, "bench")
		s := newS3(config.S3Cache{Bucket: "bench", Region: "us-east-1", Endpoint: f.URL, AccessKeyID: "AK", SecretAccessKey: "SK"})
		if err := s.set(ctx, "k", e, 0); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, ok, err := s.get(ctx, "k"); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
	b.Run("qdrant", func(b *testing.B) {
		f := fakeqdrant.Start(b, "")
		vec := make([]float64, 1536)
		vec[0] = 1
		q := newQdrant(config.QdrantCache{APIBase: f.URL, Collection: "bench", Quantization: "binary", Threshold: 0.5, VectorSize: 1536})
		now := time.Now()
		if _, _, _, err := q.search(ctx, "k", "p", "g", vec, now); err != nil {
			b.Fatal(err)
		}
		if err := q.set(ctx, "k", e, 0); err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, _, ok, err := q.search(ctx, "k", "p", "g", vec, now); !ok || err != nil {
				b.Fatal(ok, err)
			}
		}
	})
}
