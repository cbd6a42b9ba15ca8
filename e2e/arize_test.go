package e2e

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	collectortrace "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonv1 "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// arizeSpan is one span the collector decoded, with its resource's and its
// own attributes as strings (ints and doubles in decimal).
type arizeSpan struct {
	span     *tracepb.Span
	resource map[string]string
	attrs    map[string]string
	hdr      http.Header
}

// arizeCollector is an OTLP/HTTP traces collector: it decodes each POST's
// ExportTraceServiceRequest (protobuf) and keeps its spans by path.
type arizeCollector struct {
	mu    sync.Mutex
	spans map[string][]arizeSpan
	bad   []string
}

func arizeValue(v *commonv1.AnyValue) string {
	switch x := v.GetValue().(type) {
	case *commonv1.AnyValue_StringValue:
		return x.StringValue
	case *commonv1.AnyValue_IntValue:
		return fmt.Sprint(x.IntValue)
	case *commonv1.AnyValue_DoubleValue:
		return fmt.Sprint(x.DoubleValue)
	case *commonv1.AnyValue_BoolValue:
		return fmt.Sprint(x.BoolValue)
	}
	return fmt.Sprint(v)
}

func arizeKVs(kvs []*commonv1.KeyValue) map[string]string {
	m := map[string]string{}
	for _, kv := range kvs {
		m[kv.Key] = arizeValue(kv.Value)
	}
	return m
}

func (c *arizeCollector) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	body, err := io.ReadAll(r.Body)
	var req collectortrace.ExportTraceServiceRequest
	if err == nil {
		err = proto.Unmarshal(body, &req)
	}
	if r.Method != http.MethodPost || r.Header.Get("Content-Type") != "application/x-protobuf" || err != nil {
		c.bad = append(c.bad, fmt.Sprintf("%s %s %s: %v", r.Method, r.URL.Path, r.Header.Get("Content-Type"), err))
		w.WriteHeader(400)
		return
	}
	if c.spans == nil {
		c.spans = map[string][]arizeSpan{}
	}
	for _, rs := range req.ResourceSpans {
		res := arizeKVs(rs.GetResource().GetAttributes())
		for _, ss := range rs.ScopeSpans {
			for _, sp := range ss.Spans {
				c.spans[r.URL.Path] = append(c.spans[r.URL.Path], arizeSpan{span: sp, resource: res, attrs: arizeKVs(sp.Attributes), hdr: r.Header.Clone()})
			}
		}
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	b, _ := proto.Marshal(&collectortrace.ExportTraceServiceResponse{})
	_, _ = w.Write(b)
}

// wait returns the spans posted to path once there are n (waitReceived).
func (c *arizeCollector) wait(t *testing.T, g *Gateway, path string, n int) []arizeSpan {
	t.Helper()
	return waitReceived(t, g, path+" spans", n, func() ([]arizeSpan, []string) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return append([]arizeSpan(nil), c.spans[path]...), append([]string(nil), c.bad...)
	})
}

// TestArizeCallbacks (D158): callbacks: [arize, arize_phoenix]. Arize
// (ARIZE_HTTP_ENDPOINT: OTLP/HTTP) gets one litellm_request span per
// request, under the client's traceparent, with the space_id and api_key
// headers and ARIZE_PROJECT_NAME as the resource's service.name and
// model_id; Phoenix (PHOENIX_COLLECTOR_HTTP_ENDPOINT, /v1/traces added)
// gets a litellm_proxy_request server span over the litellm_request span,
// with a Bearer PHOENIX_API_KEY and openinference.project.name. Both carry
// LiteLLM's OpenInference attributes (span kind LLM, model, provider,
// token counts, cost, key alias, team, user) and, on a failure, status
// ERROR with error.type/error.code/http.response.status_code.
func TestArizeCallbacks(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	col := &arizeCollector{}
	srv := httptest.NewServer(col)
	defer srv.Close()
	if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/broken/"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
		t.Fatal(err)
	}
	cfg := fmt.Sprintf(`
model_list:
  - model_name: good
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider-secret}
  - model_name: bad
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/broken/v1, api_key: sk-provider-secret}
router_settings:
  num_retries: 0
litellm_settings:
  callbacks: ["arize", "arize_phoenix"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	g := startGateway(t, cfg, "LLMGATE_DATA_DIR="+t.TempDir(), "DEFAULT_FLUSH_INTERVAL_SECONDS=1",
		"ARIZE_SPACE_KEY=space-7", "ARIZE_API_KEY=arize-secret", "ARIZE_HTTP_ENDPOINT="+srv.URL+"/arize/v1/traces", "ARIZE_PROJECT_NAME=proj-a",
		"PHOENIX_API_KEY=phx-secret", "PHOENIX_COLLECTOR_HTTP_ENDPOINT="+srv.URL+"/phx", "PHOENIX_PROJECT_NAME=proj-p")
	k := keyAPI{t, g}
	st, team := k.call("POST", "/team/new", master, `{"team_alias":"Search Team"}`)
	if st != 200 {
		t.Fatalf("/team/new: %d %v", st, team)
	}
	key, _ := k.generate(fmt.Sprintf(`{"team_id":%q,"key_alias":"arize-key","user_id":"u-42"}`, team["team_id"]))

	client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(key), option.WithMaxRetries(0))
	msgs := []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hi")}
	const traceID, parentID = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	status := map[string]string{} // call id → success/failure
	var raw *http.Response
	if _, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "good", Messages: msgs},
		option.WithResponseInto(&raw), option.WithHeader("traceparent", "00-"+traceID+"-"+parentID+"-01")); err != nil {
		t.Fatalf("good: %v", err)
	}
	good := raw.Header.Get("x-litellm-call-id")
	status[good] = "success"
	_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "bad", Messages: msgs})
	var apiErr *openai.Error
	if !errors.As(err, &apiErr) || apiErr.StatusCode != 500 {
		t.Fatalf("bad: %v, want 500", err)
	}
	status[apiErr.Response.Header.Get("x-litellm-call-id")] = "failure"
	if len(status) != 2 || status[""] != "" {
		t.Fatalf("call ids: %v", status)
	}

	// checkAttrs checks a span's OpenInference attributes against its request.
	checkAttrs := func(who string, sp arizeSpan) string {
		a := sp.attrs
		id := a["litellm.trace_id"]
		st, ok := status[id]
		if !ok {
			t.Errorf("%s: span %q for an unknown call id %q: %v", who, sp.span.Name, id, a)
			return ""
		}
		var md map[string]any
		if err := json.Unmarshal([]byte(a["metadata"]), &md); err != nil || md["user_api_key_alias"] != "arize-key" {
			t.Errorf("%s %s: metadata %q (%v)", who, id, a["metadata"], err)
		}
		for k, want := range map[string]string{"openinference.span.kind": "LLM", "llm.model_name": "gpt-4o", "llm.provider": "openai",
			"llm.request.type": "acompletion", "llm.is_streaming": "False", "litellm.key_alias": "arize-key",
			"litellm.team_alias": "Search Team", "litellm.team_id": fmt.Sprint(team["team_id"]), "user.id": "u-42"} {
			if a[k] != want {
				t.Errorf("%s %s (%s): %s = %q, want %q", who, sp.span.Name, st, k, a[k], want)
			}
		}
		if st == "success" {
			if a["llm.token_count.total"] == "" || a["llm.token_count.total"] == "0" || a["llm.token_count.prompt"] == "" || a["llm.cost.total"] == "" || a["llm.cost.total"] == "0" ||
				sp.span.Status.GetCode() != tracepb.Status_STATUS_CODE_OK {
				t.Errorf("%s success: tokens %q/%q, cost %q, status %v", who, a["llm.token_count.total"], a["llm.token_count.prompt"], a["llm.cost.total"], sp.span.Status)
			}
		} else if sp.span.Status.GetCode() != tracepb.Status_STATUS_CODE_ERROR || sp.span.Status.GetMessage() == "" ||
			a["error.code"] != "500" || a["http.response.status_code"] != "500" || a["error.type"] == "" || a["llm.token_count.total"] != "" {
			t.Errorf("%s failure: status %v, error.code %q, http.response.status_code %q, error.type %q, tokens %q", who, sp.span.Status,
				a["error.code"], a["http.response.status_code"], a["error.type"], a["llm.token_count.total"])
		}
		for _, v := range a {
			if strings.Contains(v, "sk-provider-secret") || strings.Contains(v, key) {
				t.Errorf("%s %s: an attribute carries a secret", who, id)
			}
		}
		return id
	}

	for _, sp := range col.wait(t, g, "/arize/v1/traces", 2) {
		id := checkAttrs("arize", sp)
		if sp.hdr.Get("space_id") != "space-7" || sp.hdr.Get("api_key") != "arize-secret" {
			t.Errorf("arize headers: space_id %q, api_key %q", sp.hdr.Get("space_id"), sp.hdr.Get("api_key"))
		}
		if sp.span.Name != "litellm_request" || sp.resource["service.name"] != "proj-a" || sp.resource["model_id"] != "proj-a" {
			t.Errorf("arize span %q, resource %v", sp.span.Name, sp.resource)
		}
		if id == good && (hex.EncodeToString(sp.span.TraceId) != traceID || hex.EncodeToString(sp.span.ParentSpanId) != parentID) {
			t.Errorf("arize span of the traced request: trace %x parent %x, want %s %s", sp.span.TraceId, sp.span.ParentSpanId, traceID, parentID)
		}
	}

	phx := col.wait(t, g, "/phx/v1/traces", 4)
	byTrace := map[string]map[string]*tracepb.Span{}
	for _, sp := range phx {
		id := checkAttrs("phoenix", sp)
		if sp.hdr.Get("Authorization") != "Bearer phx-secret" || sp.resource["openinference.project.name"] != "proj-p" || sp.resource["service.name"] != "proj-p" {
			t.Errorf("phoenix: Authorization %q, resource %v", sp.hdr.Get("Authorization"), sp.resource)
		}
		if byTrace[id] == nil {
			byTrace[id] = map[string]*tracepb.Span{}
		}
		byTrace[id][sp.span.Name] = sp.span
	}
	for id, spans := range byTrace {
		proxy, req := spans["litellm_proxy_request"], spans["litellm_request"]
		if proxy == nil || req == nil || proxy.Kind != tracepb.Span_SPAN_KIND_SERVER || string(req.ParentSpanId) != string(proxy.SpanId) || string(req.TraceId) != string(proxy.TraceId) {
			t.Errorf("phoenix %s: spans %v", id, spans)
			continue
		}
		if id == good && (hex.EncodeToString(proxy.TraceId) != traceID || hex.EncodeToString(proxy.ParentSpanId) != parentID) {
			t.Errorf("phoenix proxy span of the traced request: trace %x parent %x", proxy.TraceId, proxy.ParentSpanId)
		}
	}
}
