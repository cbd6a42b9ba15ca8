package fakes3

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/johannesboyne/gofakes3"
	"github.com/johannesboyne/gofakes3/backend/s3mem"
)

// Server is a running fake S3 endpoint (URL) holding its buckets in memory.
type Server struct {
	URL     string
	backend *s3mem.Backend
	mu      sync.Mutex
	auth    []string
}

// Start serves a fake S3 with bucket made, until the test ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	f := &Server{backend: s3mem.New()}
	if err := f.backend.CreateBucket(bucket); err != nil {
		t.Fatal(err)
	}
	h := gofakes3.New(f.backend).Server()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.auth = append(f.auth, r.Method+" "+r.Header.Get("Authorization"))
		f.mu.Unlock()
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	f.URL = srv.URL
	return f
}

// Auth returns "METHOD Authorization" of every request so far.
func (f *Server) Auth() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.auth...)
}

// Objects returns the bucket's objects, each parsed as JSON (the test
// fails on one that is not), and their metadata, by key.
func (f *Server) Objects(t testing.TB, bucket string) (map[string]map[string]any, map[string]map[string]string) {
	t.Helper()
	list, err := f.backend.ListBucket(bucket, &gofakes3.Prefix{}, gofakes3.ListBucketPage{})
	if err != nil {
		t.Fatal(err)
	}
	out, meta := map[string]map[string]any{}, map[string]map[string]string{}
	for _, c := range list.Contents {
		obj, err := f.backend.GetObject(bucket, c.Key, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(obj.Contents)
		_ = obj.Contents.Close()
		var p map[string]any
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("object %s is not JSON: %s", c.Key, b)
		}
		out[c.Key], meta[c.Key] = p, obj.Metadata
	}
	return out, meta
}
