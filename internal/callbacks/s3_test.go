package callbacks

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakes3"

	"github.com/llmgate/llmgate/internal/outcome"
)

func s3Settings(endpoint string) *S3Settings {
	return &S3Settings{Events: Events{Success: true, Failure: true}, Bucket: "logs", Region: "us-west-2", Endpoint: endpoint,
		AccessKeyID: "AKIDTEST", SecretAccessKey: "secret", Path: "llm/logs/", BatchSize: 3, FlushInterval: time.Hour}
}

// s3Bucket starts a fake S3 with the bucket "logs" and returns it with the
// s3 callback's settings for it (the s3 and s3 audit tests' set-up).
func s3Bucket(t *testing.T) (*fakes3.Server, *S3Settings) {
	f := fakes3.Start(t, "logs")
	return f, s3Settings(f.URL)
}

// waitObjects waits (at most 10 s) until the bucket "logs" holds at least n
// objects (m's stats in the failure).
func waitObjects(t *testing.T, f *fakes3.Server, n int, m *Manager) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if objs, _ := f.Objects(t, "logs"); len(objs) >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d objects not put within 10 s; stats %+v", n, m.Stats())
		}
	}
}

// The s3 callback writes one object per client request, under LiteLLM's
// key layout, holding its StandardLoggingPayload; retried tries are not
// written; requests are signed with the configured static credentials;
// batches of DEFAULT_S3_BATCH_SIZE are put as they fill.
func TestS3CallbackWritesOneObjectPerRequest(t *testing.T) {
	f, st := s3Bucket(t)
	m := New(nil)
	st.KeyPrefix = true
	m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, S3: st})
	sink := m.Sink()
	start := time.Date(2026, 11, 28, 19, 5, 7, 123456789, time.UTC)
	retried := sampleTry("c0", 429)
	retried.Answer = outcome.AnswerRetried
	sink(retried)
	for i, id := range []string{"c1", "c2", "c3", "c4"} {
		status := 200
		if id == "c2" {
			status = 500
		}
		tr := sampleTry(id, status)
		tr.Start = start.Add(time.Duration(i) * time.Second)
		if id == "c3" {
			tr.KeyAlias = "alice-key"
		}
		sink(tr)
	}
	// The first three fill a batch (DEFAULT_S3_BATCH_SIZE 3): written
	// before Close (the flush interval is an hour).
	waitObjects(t, f, 3, m)
	m.Close()
	objs, meta := f.Objects(t, "logs")
	want := map[string]string{
		"llm/logs/2026-11-28/time-19-05-07-123456_c1.json":           "success",
		"llm/logs/2026-11-28/time-19-05-08-123456_c2.json":           "failure",
		"llm/logs/alice-key/2026-11-28/time-19-05-09-123456_c3.json": "success",
		"llm/logs/2026-11-28/time-19-05-10-123456_c4.json":           "success",
	}
	if len(objs) != len(want) {
		t.Fatalf("objects %v, want %v", keys(objs), want)
	}
	for key, status := range want {
		p := objs[key]
		if p == nil {
			t.Fatalf("no object %s; have %v", key, keys(objs))
		}
		if p["status"] != status || p["model_group"] != "gpt" || p["model_id"] != "dep-1" || p["prompt_tokens"] != 10.0 ||
			p["completion_tokens"] != 5.0 || p["custom_llm_provider"] != "openai" || p["call_type"] != "acompletion" {
			t.Errorf("%s: payload %v", key, p)
		}
		if md, _ := p["metadata"].(map[string]any); md["user_api_key_hash"] != "hash1" {
			t.Errorf("%s: metadata %v", key, p["metadata"])
		}
		if ct := meta[key]["Content-Type"]; ct != "application/json" {
			t.Errorf("%s: content type %q (metadata %v)", key, ct, meta[key])
		}
		if cd := meta[key]["Content-Disposition"]; !strings.HasPrefix(cd, `inline; filename="time-2026-11-28T19-05-`) {
			t.Errorf("%s: content disposition %q", key, cd)
		}
	}
	if ei, _ := objs["llm/logs/2026-11-28/time-19-05-08-123456_c2.json"]["error_information"].(map[string]any); ei["error_code"] != "500" {
		t.Errorf("failure's error_information %v", ei)
	}
	for _, a := range f.Auth() {
		if !strings.HasPrefix(a, "PUT AWS4-HMAC-SHA256 Credential=AKIDTEST/") || !strings.Contains(a, "/us-west-2/s3/aws4_request") {
			t.Errorf("request not signed with the configured credentials and region: %q", a)
		}
	}
	if st := m.Stats(); len(st) != 1 || st[0].Name != S3 || st[0].Sent != 4 || st[0].Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// The S3 endpoint is down: the sink never blocks, each batch is tried
// Attempts times, and its events are counted as dropped under "s3".
func TestS3CallbackEndpointDownCountsDrops(t *testing.T) {
	s := sinkWithReceiverDown(t, 5000, func(url string) Settings {
		st := s3Settings(url)
		st.BatchSize = 50
		return Settings{BatchSize: 512, FlushInterval: time.Hour, S3: st}
	})
	if s.Name != S3 || s.Sent != 0 || s.Dropped != 5000 || s.Failures == 0 {
		t.Fatalf("stats %+v, want 5000 dropped, failures counted", s)
	}
}

// An S3 error answer follows the retry policy: 403 (a bad signature or
// a missing bucket's access) is not tried again, 503 is.
func TestS3CallbackRetryPolicy(t *testing.T) {
	for _, tc := range []struct {
		status int
		posts  int
	}{{403, 1}, {503, Attempts}} {
		var mu sync.Mutex
		n := 0
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			mu.Lock()
			n++
			mu.Unlock()
			w.WriteHeader(tc.status)
			_, _ = io.WriteString(w, `<?xml version="1.0" encoding="UTF-8"?><Error><Code>X</Code><Message>no</Message></Error>`)
		}))
		m := New(nil)
		st := s3Settings(srv.URL)
		st.BatchSize = 1
		m.Configure(Settings{BatchSize: 1, FlushInterval: time.Hour, S3: st})
		m.Sink()(sampleTry("a", 200))
		deadline := time.Now().Add(10 * time.Second)
		for m.Stats()[0].Dropped == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		m.Close()
		srv.Close()
		mu.Lock()
		if n != tc.posts {
			t.Errorf("status %d: %d puts, want %d", tc.status, n, tc.posts)
		}
		mu.Unlock()
	}
}

// LiteLLM's key layout, and its bound: an alias that would make the key
// longer than S3's 1,024 bytes is replaced by a digest.
func TestS3ObjectKey(t *testing.T) {
	start := time.Date(2026, 1, 2, 3, 4, 5, 6000, time.FixedZone("x", 3600))
	for _, tc := range []struct{ path, alias, id, want string }{
		{"", "", "abc", "2026-01-02/time-02-04-05-000006_abc.json"},
		{"a/b", "", "abc", "a/b/2026-01-02/time-02-04-05-000006_abc.json"},
		{"a/b//", "k", "x/y", "a/b/k/2026-01-02/time-02-04-05-000006_x_y.json"},
	} {
		if got := S3ObjectKey(tc.path, tc.alias, start, tc.id); got != tc.want {
			t.Errorf("S3ObjectKey(%q, %q, %q) = %q, want %q", tc.path, tc.alias, tc.id, got, tc.want)
		}
	}
	long := S3ObjectKey("p", strings.Repeat("a", 2000), start, strings.Repeat("i", 2000))
	if len(long) > 1024 || !strings.HasPrefix(long, "p/") || !strings.HasSuffix(long, ".json") {
		t.Errorf("long key %q (%d bytes)", long, len(long))
	}
}

// s3_use_team_prefix (D74): the team's alias is a folder under s3_path,
// before the key's alias (s3_use_key_prefix), as LiteLLM's S3Logger builds
// its prefix; a team without an alias, or a request without a team, gets
// no team folder; redact_user_api_key_info drops both folders.
func TestS3CallbackTeamPrefix(t *testing.T) {
	f := fakes3.Start(t, "logs")
	aliases := map[string]string{"team-1": "Engineering", "team-2": ""}
	run := func(redact bool) map[string]map[string]any {
		m := New(nil)
		st := s3Settings(f.URL)
		st.KeyPrefix, st.TeamPrefix, st.Path = true, true, "p"
		if redact {
			st.Path = "r"
		}
		m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, S3: st, RedactKeyInfo: redact,
			TeamAlias: func(id string) string { return aliases[id] }})
		sink := m.Sink()
		start := time.Date(2026, 11, 28, 19, 5, 7, 0, time.UTC)
		for _, c := range []struct{ id, team, alias string }{{"t1", "team-1", "alice"}, {"t2", "team-1", ""}, {"t3", "team-2", "bob"}, {"t4", "", "carol"}} {
			tr := sampleTry(c.id, 200)
			tr.Start, tr.TeamID, tr.KeyAlias = start, c.team, c.alias
			sink(tr)
		}
		m.Close()
		objs, _ := f.Objects(t, "logs")
		return objs
	}
	run(false)
	objs := run(true)
	for _, k := range []string{
		"p/Engineering/alice/2026-11-28/time-19-05-07-000000_t1.json",
		"p/Engineering/2026-11-28/time-19-05-07-000000_t2.json",
		"p/bob/2026-11-28/time-19-05-07-000000_t3.json",
		"p/carol/2026-11-28/time-19-05-07-000000_t4.json",
		"r/2026-11-28/time-19-05-07-000000_t1.json",
		"r/2026-11-28/time-19-05-07-000000_t4.json",
	} {
		if objs[k] == nil {
			t.Errorf("no object %s; have %v", k, keys(objs))
		}
	}
	if len(objs) != 8 {
		t.Errorf("objects %v", keys(objs))
	}
	long := strings.Repeat("t", 600)
	k := s3ObjectKey("p", []string{long, long}, time.Date(2026, 11, 28, 0, 0, 0, 0, time.UTC), "c")
	if len(k) > 1024 || !strings.HasPrefix(k, "p/") || strings.Contains(k, long[:20]) || strings.Count(k, "/") != 4 {
		t.Errorf("long folders: key %q", k)
	}
}
