package callbacks

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

func init() { Backoff = time.Millisecond }

type receiver struct {
	mu     sync.Mutex
	bodies [][]byte
	hdrs   []http.Header
	status int
}

func (r *receiver) ServeHTTP(w http.ResponseWriter, req *http.Request) {
	b, _ := io.ReadAll(req.Body)
	r.mu.Lock()
	r.bodies = append(r.bodies, b)
	r.hdrs = append(r.hdrs, req.Header.Clone())
	st := r.status
	r.mu.Unlock()
	if st == 0 {
		st = 200
	}
	w.WriteHeader(st)
}

func (r *receiver) posts() ([][]byte, []http.Header) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...), append([]http.Header(nil), r.hdrs...)
}

func sampleTry(id string, status int) outcome.Try {
	start := time.Unix(1700000000, 0)
	t := outcome.Try{CallID: id, ModelGroup: "gpt", RequestedModel: "gpt", DeploymentID: "dep-1", Model: "gpt-4o",
		Provider: "openai", APIBase: "api.openai.com", Endpoint: "chat", KeyHash: "hash1", Status: status,
		PromptTokens: 10, CompletionTokens: 5, TotalTokens: 15, Cost: 0.25, CostKnown: true,
		Start: start, End: start.Add(2 * time.Second), Latency: time.Second, Answer: outcome.AnswerSent}
	if status >= 400 {
		t.ErrorClass = "RateLimitError"
	}
	return t
}

// One event per client request: the tries that were retried are not
// logged; success_callback gets successes only; the payload carries
// LiteLLM's StandardLoggingPayload fields; the configured headers are sent.
func TestGenericAPIDeliversStandardPayload(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 2, FlushInterval: time.Hour,
		Generic: &GenericSettings{Events: Events{Success: true}, Endpoint: srv.URL, Headers: map[string]string{"Authorization": "Bearer x"}}})
	sink := m.Sink()
	retried := sampleTry("c0", 429)
	retried.Answer = outcome.AnswerRetried
	sink(retried)
	sink(sampleTry("c1", 200))
	sink(sampleTry("c2", 429)) // a failure: success_callback only
	sink(sampleTry("c3", 200))
	m.Close()
	bodies, hdrs := rcv.posts()
	if len(bodies) != 1 {
		t.Fatalf("%d posts, want 1 batch of 2", len(bodies))
	}
	if hdrs[0].Get("Authorization") != "Bearer x" || hdrs[0].Get("Content-Type") != "application/json" {
		t.Fatalf("headers %v", hdrs[0])
	}
	var got []map[string]any
	if err := json.Unmarshal(bodies[0], &got); err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0]["id"] != "c1" || got[1]["id"] != "c3" {
		t.Fatalf("events %v, want c1 and c3", got)
	}
	e := got[0]
	for k, want := range map[string]any{"model_group": "gpt", "model_id": "dep-1", "model": "gpt-4o", "custom_llm_provider": "openai",
		"prompt_tokens": 10.0, "completion_tokens": 5.0, "total_tokens": 15.0, "response_cost": 0.25, "status": "success",
		"call_type": "acompletion", "api_base": "api.openai.com", "startTime": 1700000000.0, "response_time": 2.0} {
		if e[k] != want {
			t.Errorf("%s = %v, want %v", k, e[k], want)
		}
	}
	if md := e["metadata"].(map[string]any); md["user_api_key_hash"] != "hash1" {
		t.Errorf("metadata %v: no key hash", md)
	}
	if e["messages"] != nil {
		t.Errorf("messages = %v, want null (the outcome carries no prompt)", e["messages"])
	}
	if st := m.Stats(); st[0].Sent != 2 || st[0].Dropped != 0 {
		t.Errorf("stats %+v", st)
	}
}

func TestFailureCallbackAndRedaction(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 10, FlushInterval: time.Hour, MessageLoggingOff: true, RedactKeyInfo: true,
		Generic: &GenericSettings{Events: Events{Failure: true}, Endpoint: srv.URL}})
	m.Sink()(sampleTry("ok", 200))
	m.Sink()(sampleTry("bad", 429))
	m.Close()
	bodies, _ := rcv.posts()
	var got []map[string]any
	if len(bodies) != 1 || json.Unmarshal(bodies[0], &got) != nil || len(got) != 1 {
		t.Fatalf("posts %q", bodies)
	}
	e := got[0]
	if e["id"] != "bad" || e["status"] != "failure" || e["messages"] != Redacted || e["response"] != Redacted {
		t.Fatalf("event %v", e)
	}
	if ei := e["error_information"].(map[string]any); ei["error_class"] != "RateLimitError" || ei["error_code"] != "429" {
		t.Fatalf("error_information %v", ei)
	}
	if _, ok := e["metadata"].(map[string]any)["user_api_key_hash"]; ok {
		t.Fatal("redact_user_api_key_info: the key hash is in the metadata")
	}
}

// The receiver is down: the sink never blocks, each batch is tried
// Attempts times, and its events are counted as dropped; a full queue drops
// too.
func TestReceiverDownCountsDrops(t *testing.T) {
	st := sinkWithReceiverDown(t, 20000, func(url string) Settings {
		return Settings{BatchSize: 1, FlushInterval: time.Hour, Generic: &GenericSettings{Events: Events{Success: true, Failure: true}, Endpoint: url}}
	})
	if st.Sent != 0 || st.Dropped != 20000 || st.Failures == 0 {
		t.Fatalf("stats %+v, want 20000 dropped, failures counted", st)
	}
}

// sinkWithReceiverDown configures a manager with settings for an endpoint
// that refuses connections, feeds its sink n events (failing the test if
// the sink blocks), closes it and returns its first sender's counts.
func sinkWithReceiverDown(t *testing.T, n int, settings func(url string) Settings) Stat {
	t.Helper()
	// Down: a listener that closes every connection it accepts. A closed
	// listener's port could be taken by another test's server meanwhile
	// (a run once saw 3 batches delivered).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close()
		}
	}()
	m := New(nil)
	m.Configure(settings("http://" + ln.Addr().String()))
	done := make(chan struct{})
	go func() {
		for i := 0; i < n; i++ {
			m.Sink()(sampleTry("x", 200))
		}
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("the sink blocked while the receiver is down")
	}
	m.Close()
	return m.Stats()[0]
}

// A 4xx other than 408/429 is not retried; a 503 is, until it succeeds.
func TestRetryPolicy(t *testing.T) {
	rcv := &receiver{status: 400}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 1, FlushInterval: time.Hour, Generic: &GenericSettings{Events: Events{Success: true}, Endpoint: srv.URL}})
	m.Sink()(sampleTry("a", 200))
	deadline := time.Now().Add(5 * time.Second)
	for len(m.Stats()) == 0 || m.Stats()[0].Dropped == 0 {
		if time.Now().After(deadline) {
			t.Fatal("the batch was never given up")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if b, _ := rcv.posts(); len(b) != 1 {
		t.Fatalf("a 400 was posted %d times, want once", len(b))
	}
	rcv.mu.Lock()
	rcv.status = 503
	rcv.mu.Unlock()
	m.Sink()(sampleTry("b", 200))
	m.Close()
	if b, _ := rcv.posts(); len(b) != 1+Attempts {
		t.Fatalf("a 503 batch was posted %d times, want %d", len(b)-1, Attempts)
	}
}

func TestLangfuseIngestion(t *testing.T) {
	rcv := &receiver{status: 207}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 10, FlushInterval: time.Hour,
		Langfuse: &LangfuseSettings{Events: Events{Success: true, Failure: true}, Host: srv.URL, PublicKey: "pk", SecretKey: "sk"}})
	m.Sink()(sampleTry("c1", 200))
	m.Close()
	bodies, hdrs := rcv.posts()
	if len(bodies) != 1 {
		t.Fatalf("%d posts", len(bodies))
	}
	if hdrs[0].Get("Authorization") != "Basic "+base64.StdEncoding.EncodeToString([]byte("pk:sk")) {
		t.Fatalf("auth %q", hdrs[0].Get("Authorization"))
	}
	var got struct {
		Batch []struct {
			Type string         `json:"type"`
			Body map[string]any `json:"body"`
		} `json:"batch"`
	}
	if err := json.Unmarshal(bodies[0], &got); err != nil || len(got.Batch) != 2 {
		t.Fatalf("%v %s", err, bodies[0])
	}
	if got.Batch[0].Type != "trace-create" || got.Batch[0].Body["id"] != "c1" {
		t.Fatalf("trace %v", got.Batch[0])
	}
	g := got.Batch[1]
	if g.Type != "generation-create" || g.Body["traceId"] != "c1" || g.Body["model"] != "gpt-4o" || g.Body["level"] != "DEFAULT" {
		t.Fatalf("generation %v", g)
	}
	if u := g.Body["usageDetails"].(map[string]any); u["input"] != 10.0 || u["output"] != 5.0 {
		t.Fatalf("usage %v", u)
	}
	if m.Stats()[0].Sent != 1 {
		t.Fatalf("stats %+v", m.Stats())
	}
}

// A request refused before any try reaches the failure callbacks (LiteLLM
// logs proxy-only errors through its failure handler) with the model the
// client asked for and the refusal's message; success_callback does not get
// it; the otel callback makes only the request span.
func TestRefusedRequestLogged(t *testing.T) {
	rcv := &receiver{}
	srv := httptest.NewServer(rcv)
	defer srv.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 10, FlushInterval: time.Hour,
		Generic: &GenericSettings{Events: Events{Failure: true}, Endpoint: srv.URL}})
	refused := outcome.Try{CallID: "r1", RequestedModel: "nope", Endpoint: "chat", Route: "/v1/chat/completions", KeyHash: "hash1",
		Status: 400, ErrorClass: "ProxyModelNotFoundError", ErrorMessage: "Invalid model name passed in model=nope",
		Start: time.Unix(1700000000, 0), End: time.Unix(1700000000, 0), Answer: outcome.AnswerSent, Refused: true}
	m.Sink()(refused)
	m.Close()
	bodies, _ := rcv.posts()
	if len(bodies) != 1 {
		t.Fatalf("%d posts, want 1", len(bodies))
	}
	var got []StandardPayload
	if err := json.Unmarshal(bodies[0], &got); err != nil || len(got) != 1 {
		t.Fatalf("payload %s: %v", bodies[0], err)
	}
	p := got[0]
	if p.Status != "failure" || p.Model != "nope" || p.ErrorInformation == nil || p.ErrorInformation.ErrorClass != "ProxyModelNotFoundError" ||
		p.ErrorInformation.ErrorCode != "400" || p.ErrorStr == nil || *p.ErrorStr != "litellm.ProxyModelNotFoundError: Invalid model name passed in model=nope" {
		t.Fatalf("payload %+v", p)
	}
	spans := Spans(&refused)
	if len(spans) != 2 || spans[0].Name != ServerSpanName || spans[1].Name != "litellm_request" || spans[1].Status.Code.String() != "STATUS_CODE_ERROR" {
		t.Fatalf("spans %v", spans)
	}
}

// callback_settings generic_api instances: each gets the events its
// event_types and callback list ask for, in its log_format, with its
// headers.
func TestNamedGenericAPIFormats(t *testing.T) {
	nd, single := &receiver{}, &receiver{}
	ndSrv, singleSrv := httptest.NewServer(nd), httptest.NewServer(single)
	defer ndSrv.Close()
	defer singleSrv.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 10, FlushInterval: time.Hour, Named: []NamedSettings{
		{Name: "audit", Events: Events{Success: true, Failure: true}, Endpoint: ndSrv.URL, Format: "ndjson", Headers: map[string]string{"X-Audit": "1"}},
		{Name: "errors", Events: Events{Failure: true}, Endpoint: singleSrv.URL, Format: "single"},
	}})
	sink := m.Sink()
	sink(sampleTry("c1", 200))
	sink(sampleTry("c2", 429))
	sink(sampleTry("c3", 500))
	m.Close()
	bodies, hdrs := nd.posts()
	if len(bodies) != 1 || hdrs[0].Get("X-Audit") != "1" {
		t.Fatalf("ndjson posts %d, headers %v", len(bodies), hdrs)
	}
	lines := strings.Split(strings.TrimSpace(string(bodies[0])), "\n")
	if len(lines) != 3 {
		t.Fatalf("ndjson body %q: want 3 lines", bodies[0])
	}
	for i, l := range lines {
		var p StandardPayload
		if err := json.Unmarshal([]byte(l), &p); err != nil || p.ID != fmt.Sprintf("c%d", i+1) {
			t.Fatalf("line %d %q: %v", i, l, err)
		}
	}
	bodies, _ = single.posts()
	if len(bodies) != 2 {
		t.Fatalf("single: %d posts, want one per failure (2)", len(bodies))
	}
	for _, b := range bodies {
		var p StandardPayload
		if err := json.Unmarshal(b, &p); err != nil || p.Status != "failure" {
			t.Fatalf("single body %s: %v", b, err)
		}
	}
	if st := m.Stats(); len(st) != 2 || st[0].Name != "audit" || st[0].Sent != 3 || st[1].Name != "errors" || st[1].Sent != 2 {
		t.Fatalf("stats %+v", st)
	}
}

// default_team_settings: a team's requests go to the team's Langfuse
// project (with its credentials), not the global one; other requests go to
// the global project; a team that logs only successes sends no failures.
func TestTeamLangfuseProjects(t *testing.T) {
	global, team := &receiver{}, &receiver{}
	gSrv, tSrv := httptest.NewServer(global), httptest.NewServer(team)
	defer gSrv.Close()
	defer tSrv.Close()
	m := New(nil)
	m.Configure(Settings{BatchSize: 10, FlushInterval: time.Hour,
		Langfuse: &LangfuseSettings{Events: Events{Success: true}, Host: gSrv.URL, PublicKey: "pk-g", SecretKey: "sk-g"},
		Teams:    map[string]*LangfuseSettings{"team-1": {Events: Events{Success: true}, Host: tSrv.URL, PublicKey: "pk-t", SecretKey: "sk-t"}}})
	sink := m.Sink()
	inTeam := func(id string, status int) outcome.Try { tr := sampleTry(id, status); tr.TeamID = "team-1"; return tr }
	sink(inTeam("t1", 200))
	sink(inTeam("t2", 500)) // the team logs successes only
	sink(sampleTry("g1", 200))
	m.Close()
	check := func(name string, r *receiver, user string, ids ...string) {
		t.Helper()
		bodies, hdrs := r.posts()
		if len(bodies) != 1 {
			t.Fatalf("%s: %d posts", name, len(bodies))
		}
		if want := "Basic " + base64.StdEncoding.EncodeToString([]byte(user)); hdrs[0].Get("Authorization") != want {
			t.Errorf("%s: auth %q", name, hdrs[0].Get("Authorization"))
		}
		for _, id := range ids {
			if !strings.Contains(string(bodies[0]), `"traceId":"`+id+`"`) {
				t.Errorf("%s: no event of %s in %s", name, id, bodies[0])
			}
		}
		if strings.Count(string(bodies[0]), `"trace-create"`) != len(ids) {
			t.Errorf("%s: %d traces, want %d", name, strings.Count(string(bodies[0]), `"trace-create"`), len(ids))
		}
	}
	check("team project", team, "pk-t:sk-t", "t1")
	check("global project", global, "pk-g:sk-g", "g1")
}

// TestPostedBodiesReused (D79): a body the transport is done with is
// handed back for the next batch (no fresh half-megabyte body per batch);
// one the receiver refused is not (the transport may still read it).
func TestPostedBodiesReused(t *testing.T) {
	status := 200
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.WriteHeader(status)
	}))
	defer srv.Close()
	var h sizeHint
	body := append(h.buf(4, 1000), "[1,2,3]"...)
	released, err := postReleased(context.Background(), srv.Client(), srv.URL, "application/json", body, nil)
	if err != nil || !released {
		t.Fatalf("post: released %v, error %v", released, err)
	}
	h.release(body)
	if next := h.buf(4, 1000); cap(next) != cap(body) || &next[:1][0] != &body[:1][0] {
		t.Fatalf("the next batch's body is a new one (cap %d), not the released one (cap %d)", cap(next), cap(body))
	}
	if again := h.buf(4, 1000); cap(again) > 0 && &again[:1][0] == &body[:1][0] {
		t.Fatal("a released body handed out twice")
	}
	status = 503
	if released, err := postReleased(context.Background(), srv.Client(), srv.URL, "application/json", body, nil); released || err == nil {
		t.Fatalf("refused post: released %v, error %v", released, err)
	}
}

// TestSenderBatchesInOrder: the sender's queue (D110) posts full batches as
// they fill, the partial one at the flush tick, every event once and in
// order, and drops past its limit.
func TestSenderBatchesInOrder(t *testing.T) {
	var settings atomic.Pointer[Settings]
	settings.Store(&Settings{BatchSize: 3, FlushInterval: 50 * time.Millisecond})
	var mu sync.Mutex
	var posts [][]string
	post := func(_ context.Context, b []outcome.Try) error {
		ids := make([]string, len(b))
		for i := range b {
			ids[i] = b[i].CallID
		}
		mu.Lock()
		posts = append(posts, ids)
		mu.Unlock()
		return nil
	}
	s := newSender("x", post, slog.Default(), &settings, 0, 0, 8)
	go s.run()
	for i := 0; i < 7; i++ {
		tr := sampleTry(fmt.Sprint(i), 200)
		s.enqueue(&tr)
	}
	deadline := time.Now().Add(5 * time.Second)
	for s.sent.Load() < 7 && time.Now().Before(deadline) {
		time.Sleep(5 * time.Millisecond)
	}
	mu.Lock()
	got := fmt.Sprint(posts)
	mu.Unlock()
	if got != "[[0 1 2] [3 4 5] [6]]" {
		t.Fatalf("posts %s", got)
	}
	// Past the limit (8 queued): dropped and counted, never blocking.
	settings.Store(&Settings{BatchSize: 100, FlushInterval: time.Hour})
	for i := 0; i < 10; i++ {
		tr := sampleTry("y", 200)
		s.enqueue(&tr)
	}
	if d := s.dropped.Load(); d != 2 {
		t.Fatalf("dropped %d, want 2", d)
	}
	s.stop()
	if n := s.sent.Load(); n != 15 {
		t.Fatalf("sent %d after stop, want 15", n)
	}
}

// WantsSuccess (D155): with only key and team metadata logging, a success
// of a key and team whose metadata name nothing is nothing to the sink; a
// key or a team naming a callback, or any configured callback, is.
func TestWantsSuccess(t *testing.T) {
	m := New(slog.New(slog.NewTextHandler(io.Discard, nil)))
	defer m.Close()
	md := func(key, team string) (map[string]any, map[string]any) {
		var km, tm map[string]any
		if key == "k-logs" {
			km = map[string]any{"logging": []any{}}
		}
		if team == "t-logs" {
			tm = map[string]any{"callback_settings": map[string]any{}}
		}
		return km, tm
	}
	m.Configure(Settings{Metadata: md})
	for _, c := range []struct {
		key, team string
		want      bool
	}{{"k", "", false}, {"k", "t", false}, {"", "", false}, {"k-logs", "", true}, {"k", "t-logs", true}, {"", "t-logs", true}} {
		if got := m.WantsSuccess(c.key, c.team); got != c.want {
			t.Errorf("key %q team %q: %v, want %v", c.key, c.team, got, c.want)
		}
	}
	m.Configure(Settings{Metadata: md, Generic: &GenericSettings{Endpoint: "http://127.0.0.1:1"}}) // endpoint only: for keys' lists
	if m.WantsSuccess("k", "") {
		t.Error("a generic_api endpoint no list names wants a success")
	}
	for name, s := range map[string]Settings{
		"generic_api":  {Generic: &GenericSettings{Events: Events{Success: true}, Endpoint: "http://127.0.0.1:1"}},
		"team otel":    {OTel: &OTelSettings{TeamsOnly: true}, TeamOTel: map[string]bool{"t2": true}},
		"team generic": {Generic: &GenericSettings{Endpoint: "http://127.0.0.1:1"}, TeamGeneric: map[string]Events{"t2": {Success: true}}},
	} {
		s.Metadata = md
		m.Configure(s)
		if !m.WantsSuccess("k", "") {
			t.Errorf("%s configured: a success not wanted", name)
		}
	}
}
