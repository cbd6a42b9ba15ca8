package extproc

import (
	"io"
	"log/slog"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
)

const moduleTestConfig = `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: http://a.test/v1, api_key: sk-a}
    model_info: {id: ga}
  - model_name: solo
    litellm_params: {model: openai/gpt-4o, api_base: http://s.test/v1, api_key: sk-s}
    model_info: {id: so}
  - model_name: limited
    litellm_params: {model: openai/gpt-4o, api_base: http://l.test/v1, api_key: sk-l, rpm: 10}
  - model_name: "w/*"
    litellm_params: {model: "openai/*", api_base: http://w.test/v1, api_key: sk-w}
router_settings:
  num_retries: 1
  fallbacks: [{solo: [gpt]}]
general_settings:
  master_key: sk-master
`

func moduleTestFilter(t *testing.T, mc ModuleConfig) (*ModuleFilter, *Server) {
	t.Helper()
	cfg, log := moduleTestSetup(t)
	s := NewServer(NewState(cfg, nil, "v1", log), log)
	s.OffPathOutcomes = mc.OffPathOutcomes
	return NewModuleFilter(cfg, "v1", mc, log), s
}

func moduleHeaders(key string) map[string]string {
	h := map[string]string{":method": "POST", ":path": "/v1/chat/completions", ":authority": "gw", "content-type": "application/json",
		"content-length": "10", "x-request-id": "call-1", "user-agent": "test"}
	if key != "" {
		h["authorization"] = "Bearer " + key
	}
	return h
}

// TestModuleHandOn: what the module reads from the headers alone.
func TestModuleHandOn(t *testing.T) {
	m, _ := moduleTestFilter(t, ModuleConfig{OffPathOutcomes: true})
	for _, tc := range []struct {
		what    string
		edit    func(h map[string]string)
		cl      int64
		handOn  bool
		replied bool
	}{
		{"master key", func(map[string]string) {}, 10, false, false},
		{"no key: 401 now", func(h map[string]string) { delete(h, "authorization") }, 10, false, true},
		{"other key (may be virtual)", func(h map[string]string) { h["authorization"] = "Bearer sk-other" }, 10, true, false},
		{"chunked", func(map[string]string) {}, -1, true, false},
		{"over the bound", func(map[string]string) {}, 64 << 20, true, false},
		{"GET", func(h map[string]string) { h[":method"] = "GET" }, 10, true, false},
		{"management route", func(h map[string]string) { h[":path"] = "/key/generate" }, 10, true, false},
		{"query", func(h map[string]string) { h[":path"] = "/v1/chat/completions?x=1" }, 10, true, false},
		{"azure path", func(h map[string]string) { h[":path"] = "/openai/deployments/gpt/chat/completions" }, 10, true, false},
		{"ticket", func(h map[string]string) { h[contract.FallbackHeader] = "t" }, 10, true, false},
	} {
		h := moduleHeaders("sk-master")
		tc.edit(h)
		handOn, reply := m.HandOn(h, len(h), 100, tc.cl)
		if handOn != tc.handOn || (reply != nil) != tc.replied {
			t.Errorf("%s: handOn %v reply %v, want %v %v", tc.what, handOn, reply, tc.handOn, tc.replied)
		}
		if reply != nil && (reply.Reply.Status != 401 || string(reply.Reply.Body) == "") {
			t.Errorf("%s: reply %+v", tc.what, reply.Reply)
		}
	}
}

// TestModuleServesAsExtProc: for a request the module serves, its answer is
// the ext_proc request filter's (same plan, context, metadata, headers,
// body); other requests are handed on.
func TestModuleServesAsExtProc(t *testing.T) {
	m, s := moduleTestFilter(t, ModuleConfig{OffPathOutcomes: true})
	for _, tc := range []struct {
		body  string
		serve bool
	}{
		{`{"model":"gpt","messages":[{"role":"user","content":"hi"}]}`, true},
		{`{"model":"solo","messages":[],"temperature":0.1,"stream":false}`, true},
		{`{"model":"gpt","messages":[],"stream":true,"stream_options":{"include_usage":true}}`, true},
		{`{"model":"gpt","messages":[],"user":"u1"}`, false},
		{`{"model":"gpt","messages":[],"mock_response":"x"}`, false},
		{`{"model":"gpt","messages":[],"fallbacks":["solo"]}`, false},
		{`{"model":"gpt","model":"solo","messages":[]}`, false},
		{`{"model":"gp\u0074","messages":[]}`, false},
		{`{"mod\u0065l":"gpt","messages":[]}`, false},
		{`{"model":"w/x","messages":[]}`, false},
		{`{"model":"limited","messages":[]}`, false},
		{`{"model":"nope","messages":[]}`, false},
		{`{"model":"gpt","messages":[]`, false},
	} {
		h := moduleHeaders("sk-master")
		start := time.Now()
		a, ok := m.Serve(h, []byte(tc.body), start)
		if ok != tc.serve {
			t.Errorf("%s: served %v, want %v", tc.body, ok, tc.serve)
			continue
		}
		if !ok {
			continue
		}
		if a.Reply != nil {
			t.Fatalf("%s: reply %+v", tc.body, a.Reply)
		}
		resp, te := s.routeRequest(s.State(), classify("POST", h[":path"]), h, []byte(tc.body), start, nil, identity{master: true})
		if te != nil {
			t.Fatalf("%s: ext_proc: %v", tc.body, te)
		}
		want := resp.GetDynamicMetadata().GetFields()
		if len(a.Metadata) != len(want) {
			t.Fatalf("%s: namespaces %d, want %d", tc.body, len(a.Metadata), len(want))
		}
		for _, md := range a.Metadata {
			got := &structpb.Struct{}
			if err := proto.Unmarshal(md[1], got); err != nil {
				t.Fatal(err)
			}
			w := want[string(md[0])].GetStructValue()
			if string(md[0]) == contract.ContextMetadataNamespace {
				// The context carries the filter's own time: compare the rest.
				got.Fields["ctx"], w.Fields["ctx"] = ctxWithoutTimes(t, got.Fields["ctx"]), ctxWithoutTimes(t, w.Fields["ctx"])
			}
			if !proto.Equal(got, w) {
				t.Errorf("%s: namespace %s:\n got %v\nwant %v", tc.body, md[0], got, w)
			}
		}
		wantSet := map[string]string{}
		for _, o := range withLength(resp.GetRequestBody().GetResponse(), len(tc.body)).GetHeaderMutation().GetSetHeaders() {
			wantSet[o.GetHeader().GetKey()] = string(o.GetHeader().GetRawValue())
		}
		gotSet := map[string]string{}
		for _, kv := range a.Set {
			gotSet[kv[0]] = kv[1]
		}
		if wantSet["content-length"] != "" && a.Body != nil {
			wantSet["content-length"] = gotSet["content-length"]
		}
		if len(gotSet) != len(wantSet) {
			t.Errorf("%s: set %v, want %v", tc.body, gotSet, wantSet)
		}
		for k, v := range wantSet {
			if gotSet[k] != v {
				t.Errorf("%s: header %s = %q, want %q", tc.body, k, gotSet[k], v)
			}
		}
		if wb := resp.GetRequestBody().GetResponse().GetBodyMutation().GetBody(); string(wb) != string(a.Body) {
			t.Errorf("%s: body %s, want %s", tc.body, a.Body, wb)
		}
		// The provider gets a sized body: content-length of what is sent, no
		// transfer-encoding (withLength's answer, written by the module).
		if n := len(tc.body); a.Body != nil && gotSet["content-length"] != strconv.Itoa(len(a.Body)) || a.Body == nil && gotSet["content-length"] != strconv.Itoa(n) {
			t.Errorf("%s: content-length %q for a body of %d bytes", tc.body, gotSet["content-length"], max(len(a.Body), len(tc.body)))
		}
		if !slices.Contains(a.Remove, "transfer-encoding") {
			t.Errorf("%s: transfer-encoding not removed: %v", tc.body, a.Remove)
		}
	}
}

// ctxWithoutTimes is the encoded request context without its times.
func ctxWithoutTimes(t *testing.T, v *structpb.Value) *structpb.Value {
	t.Helper()
	rc, err := decodeContext(v.GetStringValue())
	if err != nil {
		t.Fatal(err)
	}
	rc.OverheadNanos = 0
	enc, err := encodeContext(rc)
	if err != nil {
		t.Fatal(err)
	}
	return structpb.NewStringValue(enc)
}

// TestModuleCoolingAndOff: a group with a deployment cooling down (as the
// gateway pushed it) is handed on, and so is everything under a strategy
// that reads shared state.
func TestModuleCoolingAndOff(t *testing.T) {
	body := []byte(`{"model":"solo","messages":[]}`)
	m, _ := moduleTestFilter(t, ModuleConfig{Cooling: map[string]int64{"ga": time.Now().Add(time.Minute).UnixNano()}})
	if _, ok := m.Serve(moduleHeaders("sk-master"), body, time.Now()); ok {
		t.Error("served a plan whose fallback group has a deployment cooling down")
	}
	m, _ = moduleTestFilter(t, ModuleConfig{Cooling: map[string]int64{"ga": time.Now().Add(-time.Second).UnixNano()}})
	if _, ok := m.Serve(moduleHeaders("sk-master"), body, time.Now()); !ok {
		t.Error("a cooldown that ended still hands the group on")
	}
	m, _ = moduleTestFilter(t, ModuleConfig{Off: "redis"})
	if handOn, _ := m.HandOn(moduleHeaders("sk-master"), 7, 100, 10); !handOn {
		t.Error("served with the module off")
	}
	for _, edit := range [][2]string{{"router_settings:\n", "router_settings:\n  routing_strategy: least-busy\n"}} {
		cfg, err := config.Parse([]byte(strings.Replace(moduleTestConfig, edit[0], edit[1], 1)), "t.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		if m := NewModuleFilter(cfg, "v1", ModuleConfig{}, slog.New(slog.NewTextHandler(io.Discard, nil))); m.Off() == "" {
			t.Errorf("%q: the module serves", edit[1])
		}
	}
}

// BenchmarkModuleServe is the module's work per served request (what Envoy's
// worker thread runs in module mode), beside BenchmarkRequestFilter's
// ext_proc exchange.
func BenchmarkModuleServe(b *testing.B) {
	cfg, log := moduleTestSetup(b)
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true}, log)
	h := moduleHeaders("sk-master")
	body := []byte(`{"model":"gpt","messages":[{"role":"user","content":"hello there"}],"temperature":0.2}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := m.Serve(h, body, time.Now()); !ok {
			b.Fatal("not served")
		}
	}
}
