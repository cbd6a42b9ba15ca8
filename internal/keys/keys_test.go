package keys

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

var clock = time.Date(2026, 11, 28, 8, 0, 30, 0, time.UTC)

func newService(t *testing.T, ks keystore.Store, wal string) *Service {
	t.Helper()
	s, err := New(context.Background(), Options{Store: ks, Counters: store.NewMemory(func() time.Time { return clock }),
		BatchWriteAt: time.Hour, CacheTTL: time.Hour, WALDir: wal, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func embedded(t *testing.T) keystore.Store {
	t.Helper()
	ks, err := keystore.OpenEmbedded(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ks.Close() })
	return ks
}

func ptr[T any](v T) *T { return &v }

// generate issues a key through the management API and returns it.
func generate(t *testing.T, s *Service, body string) string {
	t.Helper()
	st, out := s.Handle(context.Background(), "POST", "/key/generate", []byte(body), Caller{Admin: true})
	if st != 200 {
		t.Fatalf("/key/generate %s: %d %s", body, st, out)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m["key"].(string)
}

// The checks, in LiteLLM's order, with its error types and statuses.
func TestAuthorize(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	past := clock.Add(-time.Minute)
	must(t, ks.PutTeam(ctx, &keystore.Team{TeamID: "small", Models: []string{"gpt-x"}, MaxBudget: ptr(1.0), Spend: 1}))
	must(t, ks.PutTeam(ctx, &keystore.Team{TeamID: "open", Models: []string{"gpt-x", "other"}}))
	must(t, ks.PutTeam(ctx, &keystore.Team{TeamID: "blocked", Blocked: true}))
	must(t, ks.PutUser(ctx, &keystore.User{UserID: "broke", MaxBudget: ptr(2.0), Spend: 3}))
	keys := map[string]*keystore.Key{
		"sk-plain":     {},
		"sk-blocked":   {Blocked: true, Expires: &past},
		"sk-expired":   {Expires: &past, Models: []string{"nope"}},
		"sk-models":    {Models: []string{"gpt-x", "openai/*"}, MaxBudget: ptr(0.0)},
		"sk-allproxy":  {Models: []string{AllProxyModels}},
		"sk-spent":     {MaxBudget: ptr(1.0), Spend: 1},
		"sk-teambudg":  {TeamID: "small"},
		"sk-teammodel": {TeamID: "open", Models: []string{"other", "third"}},
		"sk-teamblock": {TeamID: "blocked"},
		"sk-user":      {UserID: "broke"},
		"sk-modelbudg": {ModelMaxBudget: map[string]any{"gpt-x": map[string]any{"budget_limit": 0.5}}, ModelSpend: map[string]float64{"gpt-x": 0.5}},
	}
	for raw, k := range keys {
		k.Token = keystore.HashKey(raw)
		must(t, ks.PutKey(ctx, k))
	}
	s := newService(t, ks, "")
	defer s.Close()
	for _, tc := range []struct {
		key, model string
		status     int
		typ        string
	}{
		{"sk-plain", "anything", 0, ""},
		{"sk-blocked", "gpt-x", 401, "auth_error"}, // blocked is checked before expiry
		{"sk-expired", "gpt-x", 401, "expired_key"},
		{"sk-models", "gpt-x", 400, "budget_exceeded"}, // allowed model, then the budget
		{"sk-models", "claude", 401, "key_model_access_denied"},
		{"sk-models", "openai/gpt-4o", 400, "budget_exceeded"}, // the wildcard entry allows it
		{"sk-allproxy", "whatever", 0, ""},
		{"sk-spent", "gpt-x", 400, "budget_exceeded"},
		{"sk-teambudg", "other", 401, "key_model_access_denied"}, // no key models: the team's list
		{"sk-teambudg", "gpt-x", 400, "budget_exceeded"},
		{"sk-teammodel", "third", 401, "team_model_access_denied"},
		{"sk-teammodel", "other", 0, ""},
		{"sk-teamblock", "gpt-x", 401, "team_model_access_denied"},
		{"sk-user", "gpt-x", 400, "budget_exceeded"},
		{"sk-modelbudg", "gpt-x", 400, "budget_exceeded"},
		{"sk-modelbudg", "other", 0, ""},
	} {
		g, e := s.Authorize(ctx, keystore.HashKey(tc.key), tc.key, []string{tc.model})
		if tc.status == 0 {
			if e != nil || g == nil {
				t.Errorf("%s → %s: refused %v", tc.key, tc.model, e)
			}
			continue
		}
		if e == nil || e.Status != tc.status || e.Type != tc.typ {
			t.Errorf("%s → %s: %+v, want %d %s", tc.key, tc.model, e, tc.status, tc.typ)
		}
	}
	if g, e := s.Authorize(ctx, keystore.HashKey("sk-unknown"), "sk-unknown", []string{"gpt-x"}); g != nil || e != nil {
		t.Errorf("an unknown key was not reported as unknown: %v %v", g, e)
	}
}

// Spend recorded for a request is seen by the next check at once, without
// a flush to the store.
func TestSpendSeenAtOnce(t *testing.T) {
	s := newService(t, embedded(t), "")
	defer s.Close()
	key := generate(t, s, `{"max_budget": 1}`)
	tok := keystore.HashKey(key)
	if _, e := s.Authorize(context.Background(), tok, key, []string{"m"}); e != nil {
		t.Fatal(e)
	}
	s.Record(SpendEvent{RequestID: "r1", KeyToken: tok, ModelGroup: "m", Cost: 1.5})
	_, e := s.Authorize(context.Background(), tok, key, []string{"m"})
	if e == nil || e.Type != "budget_exceeded" || e.Status != 400 || !strings.Contains(e.Message, "Current cost: 1.5, Max budget: 1.0") {
		t.Fatalf("after spending 1.5 of 1: %+v", e)
	}
}

// rpm_limit and max_parallel_requests: 429 with retry-after; a parallel
// slot comes back with End.
func TestKeyLimits(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	rpm := generate(t, s, `{"rpm_limit": 2}`)
	for i := 0; i < 2; i++ {
		g, e := s.Authorize(ctx, keystore.HashKey(rpm), rpm, []string{"m"})
		if e != nil {
			t.Fatalf("request %d: %v", i, e)
		}
		if want := fmt.Sprint(1 - i); g.Header("x-litellm-key-remaining-requests") != want {
			t.Fatalf("remaining requests %q, want %s", g.Header("x-litellm-key-remaining-requests"), want)
		}
		s.End(ctx, g.Token)
	}
	_, e := s.Authorize(ctx, keystore.HashKey(rpm), rpm, []string{"m"})
	if e == nil || e.Status != 429 || e.RetryAfter != 30*time.Second {
		t.Fatalf("third request in the minute: %+v (want 429, retry after the 30 s left in the minute)", e)
	}
	par := generate(t, s, `{"max_parallel_requests": 1}`)
	g, e := s.Authorize(ctx, keystore.HashKey(par), par, []string{"m"})
	if e != nil || !g.Parallel {
		t.Fatalf("first: %v %+v", e, g)
	}
	if _, e := s.Authorize(ctx, keystore.HashKey(par), par, []string{"m"}); e == nil || e.Status != 429 {
		t.Fatalf("second in flight: %+v", e)
	}
	s.End(ctx, g.Token)
	if _, e := s.Authorize(ctx, keystore.HashKey(par), par, []string{"m"}); e != nil {
		t.Fatalf("after End: %v", e)
	}
	tpm := generate(t, s, `{"tpm_limit": 100}`)
	s.RecordTokens(ctx, keystore.HashKey(tpm), 100)
	if _, e := s.Authorize(ctx, keystore.HashKey(tpm), tpm, []string{"m"}); e == nil || e.Status != 429 {
		t.Fatalf("after 100 of 100 tokens: %+v", e)
	}
}

// A process that dies between batches leaves its spend in the write-ahead
// file; the next process writes it before serving.
func TestSpendRecoveredFromWriteAheadFile(t *testing.T) {
	ks := embedded(t)
	wal := t.TempDir()
	first := newService(t, ks, wal)
	key := generate(t, first, `{}`)
	tok := keystore.HashKey(key)
	for i := 0; i < 3; i++ {
		first.Record(SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	}
	// first is abandoned without Close: nothing was written to the store.
	if k, _ := ks.GetKey(context.Background(), tok); k.Spend != 0 {
		t.Fatalf("spend reached the store before a batch: %v", k.Spend)
	}
	second := newService(t, ks, wal)
	defer second.Close()
	if _, spend, _ := second.Lookup(tok); spend != 0.75 {
		t.Fatalf("spend after restart %v, want 0.75", spend)
	}
	logs, _ := ks.SpendLogs(context.Background(), tok, 10)
	if len(logs) != 3 {
		t.Fatalf("%d spend logs, want 3", len(logs))
	}
}

// flakyStore commits a batch and then reports a failure (a reply lost after
// the commit): the retried batch must not be counted twice.
type flakyStore struct {
	keystore.Store
	fails atomic.Int32
}

func (f *flakyStore) AddSpend(ctx context.Context, s *keystore.Spend) error {
	if err := f.Store.AddSpend(ctx, s); err != nil {
		return err
	}
	if f.fails.Add(-1) >= 0 {
		return errors.New("connection reset after commit")
	}
	return nil
}

func TestBatchRetriedAfterLostReplyCountsOnce(t *testing.T) {
	ks := &flakyStore{Store: embedded(t)}
	s := newService(t, ks, t.TempDir())
	defer s.Close()
	key := generate(t, s, `{}`)
	tok := keystore.HashKey(key)
	s.Record(SpendEvent{KeyToken: tok, Cost: 0.5})
	ks.fails.Store(1)
	if err := s.flush(context.Background()); err == nil {
		t.Fatal("the first flush should report the lost reply")
	}
	if err := s.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	k, _ := ks.GetKey(context.Background(), tok)
	if math.Abs(k.Spend-0.5) > 1e-12 {
		t.Fatalf("spend %v after a retried batch, want 0.5", k.Spend)
	}
}

// Management requests: admin only (a key reads its own info), bounded
// numbers and lists, LiteLLM's shapes.
func TestManagementAPI(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	key := generate(t, s, `{"key_alias":"a","models":["m"],"tags":["t1"],"duration":"1h","budget_duration":"30d","max_budget":5}`)
	tok := keystore.HashKey(key)
	for _, tc := range []struct {
		method, path, body string
		caller             Caller
		status             int
	}{
		{"GET", "/key/generate", "", Caller{Admin: true}, 405},
		{"POST", "/key/generate", `{}`, Caller{Token: tok}, 401},
		{"POST", "/key/generate", `{"rpm_limit": -1}`, Caller{Admin: true}, 400},
		{"POST", "/key/generate", `{"rpm_limit": 1.5}`, Caller{Admin: true}, 400},
		{"POST", "/key/generate", `{"max_budget": 1e13}`, Caller{Admin: true}, 400},
		{"POST", "/key/generate", `{"duration": "forever"}`, Caller{Admin: true}, 400},
		{"POST", "/key/generate", `{"models": [` + strings.Repeat(`"m",`, maxListItems) + `"m"]}`, Caller{Admin: true}, 400},
		{"POST", "/key/generate", `{"key_alias":"a"}`, Caller{Admin: true}, 400}, // aliases are unique
		{"POST", "/key/generate", `{"key":"not-sk"}`, Caller{Admin: true}, 400},
		{"POST", "/key/generate", `not json`, Caller{Admin: true}, 400},
		{"GET", "/key/list?size=101", "", Caller{Admin: true}, 400},
		{"GET", "/key/info?key=" + key, "", Caller{Token: tok}, 200},
		{"GET", "/key/info", "", Caller{Token: tok}, 200},
		{"GET", "/key/info?key=sk-other", "", Caller{Token: tok}, 403},
		{"GET", "/key/info?key=sk-missing", "", Caller{Admin: true}, 404},
		{"POST", "/key/update", `{"key":"sk-missing"}`, Caller{Admin: true}, 404},
		{"POST", "/key/delete", `{"keys":["sk-missing"]}`, Caller{Admin: true}, 404},
		{"POST", "/key/block", `{}`, Caller{Admin: true}, 400},
	} {
		st, out := s.Handle(ctx, tc.method, tc.path, []byte(tc.body), tc.caller)
		if st != tc.status {
			t.Errorf("%s %s %.60s: %d %s, want %d", tc.method, tc.path, tc.body, st, out, tc.status)
			continue
		}
		var m map[string]any
		if err := json.Unmarshal(out, &m); err != nil {
			t.Errorf("%s %s: not JSON: %s", tc.method, tc.path, out)
		}
		if st != 200 {
			e, _ := m["error"].(map[string]any)
			if e == nil || e["message"] == "" || e["type"] == "" || e["code"] != fmt.Sprint(st) {
				t.Errorf("%s %s: error shape %s", tc.method, tc.path, out)
			}
		}
	}
	_, out := s.Handle(ctx, "GET", "/key/info?key="+key, nil, Caller{Admin: true})
	var m struct {
		Key  string         `json:"key"`
		Info map[string]any `json:"info"`
	}
	_ = json.Unmarshal(out, &m)
	in := m.Info
	if m.Key != key || in["key_alias"] != "a" || in["key_name"] != "sk-..."+key[len(key)-4:] || in["token"] != nil ||
		in["max_budget"] != 5.0 || in["budget_duration"] != "30d" || in["expires"] == nil || in["budget_reset_at"] == nil {
		t.Fatalf("/key/info: %s", out)
	}
	if tags, _ := in["tags"].([]any); len(tags) != 1 || tags[0] != "t1" {
		t.Fatalf("tags: %v", in["tags"])
	}
	exp, _ := time.Parse(time.RFC3339Nano, in["expires"].(string))
	if !exp.Equal(clock.Add(time.Hour)) {
		t.Fatalf("expires %v, want now + 1h", exp)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func call(t *testing.T, s *Service, method, path, body string) map[string]any {
	t.Helper()
	st, out := s.Handle(context.Background(), method, path, []byte(body), Caller{Admin: true})
	if st != 200 {
		t.Fatalf("%s %s %s: %d %s", method, path, body, st, out)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	return m
}

// A team budget holds over several keys, a user budget over the user's
// keys; /team/* and /user/* speak LiteLLM's shapes.
func TestTeamAndUserBudgetsOverSeveralKeys(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	team := call(t, s, "POST", "/team/new", `{"team_alias":"blue","max_budget":1,"models":["m"],"members_with_roles":[{"role":"admin","user_id":"u1"}]}`)
	tid, _ := team["team_id"].(string)
	if len(tid) != 36 || team["team_alias"] != "blue" || len(team["admins"].([]any)) != 1 {
		t.Fatalf("/team/new: %v", team)
	}
	k1 := generate(t, s, `{"team_id":"`+tid+`"}`)
	k2 := generate(t, s, `{"team_id":"`+tid+`"}`)
	s.Record(SpendEvent{KeyToken: keystore.HashKey(k1), TeamID: tid, Cost: 0.6})
	if _, e := s.Authorize(ctx, keystore.HashKey(k2), k2, []string{"m"}); e != nil {
		t.Fatalf("team at 0.6 of 1: %v", e)
	}
	s.Record(SpendEvent{KeyToken: keystore.HashKey(k2), TeamID: tid, Cost: 0.6})
	for _, k := range []string{k1, k2} {
		_, e := s.Authorize(ctx, keystore.HashKey(k), k, []string{"m"})
		if e == nil || e.Type != "budget_exceeded" || !strings.Contains(e.Message, "Team="+tid) {
			t.Fatalf("team at 1.2 of 1, key %s: %+v", k[:6], e)
		}
	}
	info := call(t, s, "GET", "/team/info?team_id="+tid, "")
	if ti := info["team_info"].(map[string]any); ti["spend"] != 1.2 || len(info["keys"].([]any)) != 2 {
		t.Fatalf("/team/info: %v", info)
	}
	call(t, s, "POST", "/team/update", `{"team_id":"`+tid+`","max_budget":5}`)
	if _, e := s.Authorize(ctx, keystore.HashKey(k1), k1, []string{"m"}); e != nil {
		t.Fatalf("after raising the team budget: %v", e)
	}
	call(t, s, "POST", "/team/block", `{"team_id":"`+tid+`"}`)
	if _, e := s.Authorize(ctx, keystore.HashKey(k1), k1, []string{"m"}); e == nil || e.Status != 401 {
		t.Fatalf("blocked team: %+v", e)
	}

	user := call(t, s, "POST", "/user/new", `{"user_id":"alice","user_email":"a@example.com","max_budget":1}`)
	uk, _ := user["key"].(string)
	if user["user_id"] != "alice" || len(uk) < 10 {
		t.Fatalf("/user/new: %v", user)
	}
	uk2 := generate(t, s, `{"user_id":"alice"}`)
	s.Record(SpendEvent{KeyToken: keystore.HashKey(uk), UserID: "alice", Cost: 1})
	if _, e := s.Authorize(ctx, keystore.HashKey(uk2), uk2, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("user budget over a second key: %+v", e)
	}
	if ui := call(t, s, "GET", "/user/info?user_id=alice", ""); len(ui["keys"].([]any)) != 2 {
		t.Fatalf("/user/info: %v", ui)
	}
	if st, _ := s.Handle(ctx, "POST", "/team/new", []byte(`{"team_id":"`+tid+`"}`), Caller{Admin: true}); st != 400 {
		t.Fatalf("duplicate team id: %d", st)
	}
	if st, _ := s.Handle(ctx, "GET", "/team/list", nil, Caller{Token: keystore.HashKey(k1)}); st != 401 {
		t.Fatalf("a virtual key listed teams: %d", st)
	}
	call(t, s, "POST", "/team/delete", `{"team_ids":["`+tid+`"]}`)
	call(t, s, "POST", "/user/delete", `{"user_ids":["alice"]}`)
	if st, _ := s.Handle(ctx, "GET", "/user/info?user_id=alice", nil, Caller{Admin: true}); st != 404 {
		t.Fatalf("deleted user: %d", st)
	}
}

// budget_duration: once budget_reset_at has passed, the next batch tick
// starts a new period and the key is served again.
func TestBudgetResetAfterDuration(t *testing.T) {
	ctx := context.Background()
	now := clock
	ks := embedded(t)
	s, err := New(ctx, Options{Store: ks, BatchWriteAt: time.Hour, CacheTTL: time.Hour, Now: func() time.Time { return now }})
	must(t, err)
	defer s.Close()
	key := generate(t, s, `{"max_budget":1,"budget_duration":"1h"}`)
	tok := keystore.HashKey(key)
	s.Record(SpendEvent{KeyToken: tok, Cost: 2})
	must(t, s.flush(ctx))
	s.resetDue(ctx)
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Type != "budget_exceeded" {
		t.Fatalf("before the period ends: %+v", e)
	}
	now = now.Add(time.Hour + time.Second)
	s.resetDue(ctx)
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
		t.Fatalf("after budget_duration: %+v", e)
	}
	k, err := ks.GetKey(ctx, tok)
	must(t, err)
	if k.Spend != 0 || !k.BudgetResetAt.Equal(now.Add(time.Hour)) {
		t.Fatalf("stored after reset: spend %v, reset at %v", k.Spend, k.BudgetResetAt)
	}
}

// The write-ahead line of an event is its spend log line (D155: one
// encoding, AppendSpendLog, which matches json.Marshal's bytes) and reads
// back as the event; a line an older version wrote (the event as
// json.Marshal wrote it) reads back too.
func TestWriteAheadEncoding(t *testing.T) {
	start := time.Date(2026, 11, 28, 8, 0, 30, 123456789, time.FixedZone("x", 3600))
	for _, e := range []SpendEvent{
		{},
		{RequestID: "r1", CallType: "acompletion", KeyToken: "abc", Model: "gpt-4o", ModelGroup: "g", ModelID: "id", Provider: "openai",
			Cost: 0.00193, PromptTokens: 20, CompletionTokens: 188, Start: start, End: start.Add(time.Second)},
		{RequestID: "quote\" back\\slash\n<tag>&", TeamID: "t", UserID: "ü\u2028", EndUser: "bad\xffutf8", Cost: 1e-9, Tags: []string{"a", "b\tc"}},
		{Cost: 12345678.5, PromptTokens: -1, Tags: []string{}},
		{Cost: 1e21, CompletionTokens: math.MaxInt64},
		{Cost: 0.000001},
		{Cost: 1.5e-7},
		{RequestID: "r2_cache_hit1790000000.5", KeyToken: "k", Cost: 0.25, CacheHit: true, CacheKey: "ck", Start: start, End: start,
			Request: json.RawMessage(`{"model":"m","status":1}`), Response: json.RawMessage(`{"id":"x"}`)},
	} {
		l := spendLogOf(&e)
		got := keystore.AppendSpendLog(nil, &l)
		want, err := json.Marshal(&l)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want)+"\n" {
			t.Errorf("encoding\n got %s\nwant %s", got, want)
		}
		old, err := json.Marshal(&e)
		if err != nil {
			t.Fatal(err)
		}
		var wantBack SpendEvent
		_ = json.Unmarshal(old, &wantBack)
		for what, line := range map[string][]byte{"spend log line": got, "older line": old} {
			back, ok := readWALLine(line)
			if !ok {
				t.Fatalf("%s %s: not read", what, line)
			}
			if what == "spend log line" && back.Tags == nil && wantBack.Tags != nil {
				back.Tags = []string{} // (request_tags [] and no tags read alike)
			}
			if a, b := fmt.Sprintf("%+v", back), fmt.Sprintf("%+v", wantBack); a != b {
				t.Errorf("%s read back as %s, want %s", what, a, b)
			}
		}
	}
}

// A batch this process sealed is written from memory (the sealed file is
// read back only by the next process after a crash): a retry after a failed
// write does not decode the file again (D33's cost).
func TestSealedBatchRetriedFromMemory(t *testing.T) {
	ks := &flakyStore{Store: embedded(t)}
	dir := t.TempDir()
	s := newService(t, ks, dir)
	defer s.Close()
	tok := keystore.HashKey(generate(t, s, `{}`))
	for i := 0; i < 3; i++ {
		s.Record(SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	}
	ks.fails.Store(1)
	if err := s.flush(context.Background()); err == nil {
		t.Fatal("the first flush should report the lost reply")
	}
	// The lost reply's batch was committed; clear it so that the retry
	// shows what it adds, and spoil the sealed file: the retry must not
	// read it.
	sealed, _ := filepath.Glob(filepath.Join(dir, "spend-*.sealed"))
	if len(sealed) != 1 {
		t.Fatalf("sealed files %v, want one", sealed)
	}
	must(t, os.WriteFile(sealed[0], []byte("not json\n"), 0o600))
	ks2 := &flakyStore{Store: embedded(t)}
	s.o.Store = ks2
	if err := s.flush(context.Background()); err != nil {
		t.Fatal(err)
	}
	if k, _ := ks2.GetKey(context.Background(), tok); k != nil {
		t.Fatalf("key unexpectedly in the second store: %+v", k)
	}
	logs, _ := ks2.SpendLogs(context.Background(), tok, 10)
	if len(logs) != 3 {
		t.Fatalf("the retried batch carried %d spend logs, want 3", len(logs))
	}
	if _, err := os.Stat(sealed[0]); !os.IsNotExist(err) {
		t.Fatalf("sealed file left after its batch was written: %v", err)
	}
}
