package extproc

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

func TestClassify(t *testing.T) {
	for _, tc := range []struct {
		method, path string
		kind         routeKind
		ep           translator.Endpoint
		model        string
	}{
		{"POST", "/v1/chat/completions", routeLLM, translator.Chat, ""},
		{"POST", "/chat/completions", routeLLM, translator.Chat, ""},
		{"POST", "/v1/completions", routeLLM, translator.Completions, ""},
		{"POST", "/embeddings", routeLLM, translator.Embeddings, ""},
		{"POST", "/openai/deployments/my%2Fmodel/chat/completions?api-version=2024-06-01", routeLLM, translator.Chat, "my/model"},
		{"POST", "/v1/openai/deployments/gpt-4o/embeddings", routeLLM, translator.Embeddings, "gpt-4o"},
		{"GET", "/v1/models", routeModels, 0, ""},
		{"GET", "/models/", routeModels, 0, ""},
		{"GET", "/v1/models/anthropic/claude-3-haiku", routeModel, 0, "anthropic/claude-3-haiku"},
		{"GET", "/models/gpt-4o", routeModel, 0, "gpt-4o"},
		{"GET", "/model/info", routeModelInfo, 0, ""},
		{"GET", "/health/liveliness", routeLiveness, 0, ""},
		{"GET", "/health/liveness", routeLiveness, 0, ""},
		{"GET", "/health/readiness", routeReadiness, 0, ""},
		{"POST", "/v1/images/generations", routeLLM, translator.ImageGenerations, ""},
		{"POST", "/v1/audio/translations", routeUnknown, 0, ""},
		{"POST", "/openai/deployments/", routeUnknown, 0, ""},
	} {
		r := classify(tc.method, tc.path)
		if r.kind != tc.kind || (r.kind == routeLLM && r.endpoint != tc.ep) || r.pathModel != tc.model {
			t.Errorf("%s %s: got %+v", tc.method, tc.path, r)
		}
	}
}

func stateWith(t *testing.T, yml string) *State {
	t.Helper()
	cfg, err := config.Parse([]byte(yml), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	return NewState(cfg, nil, "v", nil)
}

const authConfig = `
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_key: provider-secret}
general_settings:
  master_key: sk-master
  litellm_key_header_name: X-My-Key
`

func TestAuthenticate(t *testing.T) {
	st := stateWith(t, authConfig)
	for _, tc := range []struct {
		name string
		h    map[string]string
		ok   bool
		msg  string
	}{
		{"bearer", map[string]string{"authorization": "Bearer sk-master"}, true, ""},
		{"bearer any case", map[string]string{"authorization": "bearer sk-master"}, true, ""},
		{"custom header first", map[string]string{"x-my-key": "sk-master", "authorization": "Bearer wrong"}, true, ""},
		{"x-litellm-api-key", map[string]string{"x-litellm-api-key": "sk-master"}, true, ""},
		{"x-litellm-api-key bearer", map[string]string{"x-litellm-api-key": "Bearer sk-master"}, true, ""},
		{"custom header bearer", map[string]string{"x-my-key": "Bearer sk-master"}, true, ""},
		{"api-key is not stripped", map[string]string{"api-key": "Bearer sk-master"}, false, "Invalid"},
		{"api-key", map[string]string{"api-key": "sk-master"}, true, ""},
		{"x-api-key", map[string]string{"x-api-key": "sk-master"}, true, ""},
		{"x-goog-api-key", map[string]string{"x-goog-api-key": "sk-master"}, true, ""},
		{"ocp", map[string]string{"ocp-apim-subscription-key": "sk-master"}, true, ""},
		{"missing", map[string]string{}, false, "No api key passed in"},
		{"wrong", map[string]string{"authorization": "Bearer sk-mastex"}, false, "Invalid proxy server token"},
		{"prefix of the key", map[string]string{"authorization": "Bearer sk-mast"}, false, "Invalid"},
		{"provider key is not a gateway key", map[string]string{"authorization": "Bearer provider-secret"}, false, "Invalid"},
	} {
		_, e := st.authenticate(tc.h, true)
		if (e == nil) != tc.ok {
			t.Errorf("%s: got %v", tc.name, e)
			continue
		}
		if e != nil && (e.Status != 401 || !strings.Contains(e.Message, tc.msg)) {
			t.Errorf("%s: %d %q", tc.name, e.Status, e.Message)
		}
		if e != nil && strings.Contains(e.Message, "sk-master") {
			t.Errorf("%s: the error echoes the master key", tc.name)
		}
	}
	open := stateWith(t, "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o}\n")
	if _, e := open.authenticate(map[string]string{}, true); e != nil {
		t.Errorf("no master_key: everything is open, got %v", e)
	}
}

func TestMergeDefaults(t *testing.T) {
	out, err := mergeDefaults([]byte(`{"model":"m","temperature":0.9}`), map[string]any{"temperature": 0.1, "max_tokens": 50})
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	_ = json.Unmarshal(out, &m)
	if m["temperature"] != 0.9 || m["max_tokens"] != float64(50) {
		t.Errorf("merged %v: the request wins, defaults fill the rest", m)
	}
	if _, err := mergeDefaults([]byte(`{bad`), map[string]any{"a": 1}); err == nil {
		t.Error("bad JSON must fail")
	}
	same, _ := mergeDefaults([]byte(`{"a":1}`), nil)
	if string(same) != `{"a":1}` {
		t.Errorf("no defaults: body unchanged, got %s", same)
	}
}

func TestFallbackTicket(t *testing.T) {
	now := time.Now()
	tk := fallbackTicket{Kind: int(router.ContextWindowFallbacks), Group: "g", CallID: "c", Expires: now.Add(time.Minute).Unix(), Taken: []int32{1}}
	st := &State{}
	s := st.signTicket(tk)
	got := st.readTicket(s, now)
	if got == nil || got.Group != "g" || got.Kind != tk.Kind || got.CallID != "c" {
		t.Fatalf("round trip: %+v", got)
	}
	if st.readTicket(s, now.Add(2*time.Minute)) != nil {
		t.Error("an expired ticket must be refused")
	}
	body, sig, _ := strings.Cut(s, ".")
	forged := body[:len(body)-2] + "AA." + sig
	if st.readTicket(forged, now) != nil || st.readTicket("garbage", now) != nil || st.readTicket("", now) != nil {
		t.Error("a forged or malformed ticket must be refused")
	}
}

func TestContextRoundTrip(t *testing.T) {
	c := &llmgatev1.RequestContext{CallId: "id", ModelGroup: "g", Attempts: []*llmgatev1.Attempt{{DeploymentId: "d1", Model: "m"}}}
	s, err := encodeContext(c)
	if err != nil {
		t.Fatal(err)
	}
	back, err := decodeContext(s)
	if err != nil || back.CallId != "id" || back.Attempts[0].DeploymentId != "d1" {
		t.Fatalf("%v %v", back, err)
	}
	if _, err := decodeContext(""); err == nil {
		t.Error("missing context must fail")
	}
	if _, err := decodeContext("!!!"); err == nil {
		t.Error("bad context must fail")
	}
}

func TestPlanMetadata(t *testing.T) {
	st := stateWith(t, "model_list:\n  - model_name: m\n    litellm_params: {model: openai/gpt-4o, api_base: 'http://127.0.0.1:1/v1'}\n    model_info: {id: d1}\n  - model_name: '*'\n    litellm_params: {model: '*', api_base: 'http://127.0.0.1:1/v1'}\n    model_info: {id: star}\n")
	md, err := planMetadata(st, []*llmgatev1.Attempt{{DeploymentId: "d1"}, {DeploymentId: "star", Provider: "groq"}, {DeploymentId: "star"}}, "ctx")
	if err != nil {
		t.Fatal(err)
	}
	groups := md.Fields[contract.PlanMetadataNamespace].GetStructValue().Fields["priority_groups"].GetListValue().Values
	var clusters []string
	for _, g := range groups {
		c := g.GetStructValue().Fields["clusters"].GetListValue().Values[0].GetStructValue().Fields["cluster_name"].GetStringValue()
		clusters = append(clusters, c)
	}
	want := []string{"dep_d1", "dep_star_groq", "dep_star_openai"}
	if strings.Join(clusters, ",") != strings.Join(want, ",") {
		t.Errorf("clusters %v, want %v", clusters, want)
	}
	if md.Fields[contract.ContextMetadataNamespace].GetStructValue().Fields["ctx"].GetStringValue() != "ctx" {
		t.Error("request context missing from metadata")
	}
}

func TestDecodeBody(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	_, _ = zw.Write([]byte(`{"ok":true}`))
	_ = zw.Close()
	if got := decodeBody(buf.Bytes(), "gzip"); string(got) != `{"ok":true}` {
		t.Errorf("gzip body not decoded: %q", got)
	}
	if got := decodeBody([]byte("plain"), ""); string(got) != "plain" {
		t.Errorf("identity body changed: %q", got)
	}
	if got := decodeBody([]byte("not gzip"), "gzip"); string(got) != "not gzip" {
		t.Errorf("a bad gzip body is passed on as is, got %q", got)
	}
}

func TestStampCreated(t *testing.T) {
	now := time.Unix(1700000000, 0)
	if got := string(stampCreated([]byte(`{"id":"x","created":0}`), now)); got != `{"id":"x","created":1700000000}` {
		t.Errorf("zero created not stamped: %s", got)
	}
	if got := string(stampCreated([]byte(`{"created":42}`), now)); got != `{"created":42}` {
		t.Errorf("a provider's timestamp must be kept: %s", got)
	}
	if got := string(stampCreated([]byte(`{"object":"list"}`), now)); got != `{"object":"list"}` {
		t.Errorf("a body without created must be kept: %s", got)
	}
}

func TestStampChunks(t *testing.T) {
	in := "data: {\"id\":\"a\",\"created\":0,\"choices\":[]}\n\ndata: {\"id\":\"b\",\"created\":7}\r\n\r\nevent: x\ndata: [DONE]\n\ndata: {\"created\":0}"
	want := "data: {\"id\":\"a\",\"created\":1700000000,\"choices\":[]}\n\ndata: {\"id\":\"b\",\"created\":7}\r\n\r\nevent: x\ndata: [DONE]\n\ndata: {\"created\":1700000000}"
	if got := string(stampChunks([]byte(in), 1700000000)); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	if got := string(stampChunks([]byte("data: {\"content\":\"no time here\"}\n\n"), 1)); got != "data: {\"content\":\"no time here\"}\n\n" {
		t.Errorf("a chunk without created changed: %q", got)
	}
}
