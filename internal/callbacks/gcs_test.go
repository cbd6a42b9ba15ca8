package callbacks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakegcs"
)

// gcsSettings writes the fake's service account to a file and returns the
// callback's settings for it (GCS_PATH_SERVICE_ACCOUNT a path, as LiteLLM
// reads it).
func gcsSettings(t *testing.T, f *fakegcs.Server, batched bool) *GCSSettings {
	path := filepath.Join(t.TempDir(), "sa.json")
	if err := os.WriteFile(path, []byte(f.ServiceAccountJSON()), 0o600); err != nil {
		t.Fatal(err)
	}
	return &GCSSettings{Events: Events{Success: true, Failure: true}, Bucket: "llm-logs", Prefix: "proxy/dev", ServiceAccount: path,
		Endpoint: f.URL, Batched: batched, BatchSize: 3, FlushInterval: time.Hour}
}

// The gcs_bucket callback (D170), batched (LiteLLM's default): a batch is
// one NDJSON object, YYYY-MM-DD/batch-<ms>-<hex>.ndjson under the bucket's
// folder, each line a request's StandardLoggingPayload, uploaded with the
// JSON API's media upload and the service account's OAuth token (one token
// for every upload); a batch answered 503 is uploaded again under the same
// name (one object, not two).
func TestGCSCallbackBatched(t *testing.T) {
	f := fakegcs.Start(t, "llm-logs")
	m := New(nil)
	m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, GCS: gcsSettings(t, f, true)})
	f.FailUploads(1)
	end := time.Date(2026, 11, 30, 23, 59, 59, 0, time.UTC)
	sink := m.Sink()
	for i, id := range []string{"c1", "c2", "c3", "c4"} {
		status := 200
		if id == "c2" {
			status = 500
		}
		tr := sampleTry(id, status)
		tr.End = end.Add(time.Duration(i) * time.Second)
		sink(tr)
	}
	m.Close() // c1..c3 fill a batch; c4 is posted at Close
	objs, bad := f.Objects()
	if len(bad) > 0 {
		t.Fatalf("refused: %v", bad)
	}
	if len(objs) != 2 {
		t.Fatalf("%d objects, want 2: %+v", len(objs), objs)
	}
	want := []struct {
		name string
		ids  []string
	}{
		{"proxy/dev/" + GCSBatchObjectName(end, "c1"), []string{"c1", "c2", "c3"}},
		{"proxy/dev/" + GCSBatchObjectName(end.Add(3*time.Second), "c4"), []string{"c4"}},
	}
	for i, w := range want {
		o := objs[i]
		if o.Name != w.name || o.ContentType != "application/json" {
			t.Errorf("object %d: %s (%s), want %s", i, o.Name, o.ContentType, w.name)
		}
		lines := strings.Split(string(o.Body), "\n")
		if len(lines) != len(w.ids) {
			t.Fatalf("object %s: %d lines, want %d: %s", o.Name, len(lines), len(w.ids), o.Body)
		}
		for j, l := range lines {
			var p map[string]any
			if err := json.Unmarshal([]byte(l), &p); err != nil || p["id"] != w.ids[j] || p["model_group"] != "gpt" {
				t.Errorf("object %s line %d: %v %s", o.Name, j, err, l)
			}
			if (p["status"] == "failure") != (w.ids[j] == "c2") {
				t.Errorf("%s: status %v", w.ids[j], p["status"])
			}
		}
	}
	if !regexp.MustCompile(`^proxy/dev/2026-11-30/batch-1796083199000-[0-9a-f]{8}\.ndjson$`).MatchString(want[0].name) {
		t.Errorf("batch name %s", want[0].name)
	}
	if n := f.TokensIssued(); n != 1 {
		t.Errorf("%d tokens issued, want 1 (cached)", n)
	}
	if st := m.Stats(); len(st) != 1 || st[0].Name != GCSBucket || st[0].Sent != 4 || st[0].Failures != 1 || st[0].Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

// GCS_USE_BATCHED_LOGGING=false: one object per request, named as
// LiteLLM's _get_object_name: YYYY-MM-DD/<id> for a success,
// YYYY-MM-DD/failure-<32 hex> for a failure.
func TestGCSCallbackPerRequest(t *testing.T) {
	f := fakegcs.Start(t, "llm-logs")
	m := New(nil)
	st := gcsSettings(t, f, false)
	st.Prefix = ""
	m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, GCS: st})
	end := time.Date(2026, 11, 30, 10, 0, 0, 0, time.UTC)
	for _, id := range []string{"c1", "c2"} {
		tr := sampleTry(id, map[string]int{"c1": 200, "c2": 429}[id])
		tr.End = end
		m.Sink()(tr)
	}
	m.Close()
	objs, bad := f.Objects()
	if len(bad) > 0 || len(objs) != 2 {
		t.Fatalf("objects %+v, refused %v", objs, bad)
	}
	if objs[0].Name != "2026-11-30/c1" || !strings.HasPrefix(objs[1].Name, "2026-11-30/failure-") || len(objs[1].Name) != len("2026-11-30/failure-")+32 {
		t.Errorf("names %s, %s", objs[0].Name, objs[1].Name)
	}
	var p map[string]any
	if err := json.Unmarshal(objs[1].Body, &p); err != nil || p["id"] != "c2" || p["status"] != "failure" {
		t.Errorf("failure object %v %s", err, objs[1].Body)
	}
}

// Credentials that cannot be read are not tried again: the batch is
// dropped at once, counted, and the error names the file, not a key.
func TestGCSCallbackBadCredentials(t *testing.T) {
	f := fakegcs.Start(t, "llm-logs")
	m := New(nil)
	st := gcsSettings(t, f, true)
	st.ServiceAccount = filepath.Join(t.TempDir(), "missing.json")
	m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, GCS: st})
	m.Sink()(sampleTry("c1", 200))
	m.Close()
	if objs, _ := f.Objects(); len(objs) != 0 {
		t.Fatalf("objects %+v", objs)
	}
	if s := m.Stats(); len(s) != 1 || s[0].Dropped != 1 || s[0].Failures != 1 {
		t.Errorf("stats %+v", s)
	}
}
