package extproc

import (
	"bytes"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

const translateTestConfig = `
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: http://a.test, api_key: sk-ant-1}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: http://b.test, api_key: sk-ant-2}
  - model_name: mix
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: http://c.test, api_key: sk-ant-3}
  - model_name: mix
    litellm_params: {model: openai/gpt-4o-mini, api_base: http://o.test/v1, api_key: sk-o}
  - model_name: co
    litellm_params: {model: cohere/command-r, api_base: http://co.test, api_key: sk-co}
  - model_name: co
    litellm_params: {model: cohere/command-r, api_base: http://co2.test, api_key: sk-co2}
  - model_name: br
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, aws_region_name: us-east-1, aws_access_key_id: a, aws_secret_access_key: b}
  - model_name: br
    litellm_params: {model: bedrock/anthropic.claude-3-haiku-20240307-v1:0, aws_region_name: us-west-2, aws_access_key_id: a, aws_secret_access_key: b}
router_settings: {num_retries: 1}
general_settings: {master_key: sk-master}
`

// TestModuleTranslatedPlans (D61): in module mode a plan whose attempts are
// all deployments the module translates (Anthropic, Cohere and the others,
// streamed or not since D71) is tagged fast, chat only, with no per-token
// prices in its answer plan (the module prices a translated answer as the
// attempt filter does); a mixed plan, a signed provider (Bedrock), or
// ext_proc mode (no module upstream) is not.
func TestModuleTranslatedPlans(t *testing.T) {
	cfg, err := config.Parse([]byte(translateTestConfig), "t.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		t.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	for _, tc := range []struct {
		model, extra string
		up, fast     bool
	}{
		{"claude", "", true, true},
		{"claude", `,"stream":true`, true, true},
		{"claude", "", false, false},
		{"mix", "", true, false},
		{"co", "", true, true},
		{"co", `,"stream":true`, true, true},
		{"br", "", true, false},
	} {
		m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: tc.up}, log)
		body := []byte(`{"model":"` + tc.model + `","messages":[{"role":"user","content":"hi"}]` + tc.extra + `}`)
		h := moduleHeaders("sk-master")
		h["content-length"] = fmt.Sprint(len(body))
		a, ok := m.Serve(h, body, time.Now())
		if !ok || a.Reply != nil {
			t.Fatalf("%s: not served (%v)", tc.model, a.Reply)
		}
		fast := answerFast(t, a)
		if fast != tc.fast || (a.Resp != nil) != tc.fast {
			t.Errorf("%s%s, module upstream %v: fast = %v, want %v", tc.model, tc.extra, tc.up, fast, tc.fast)
		}
		if tc.fast && tc.model == "claude" {
			if a.Body != nil {
				t.Errorf("%s: the request filter rewrote the body of a translated plan", tc.model)
			}
			for _, e := range a.Resp.Entries {
				if e.Cost {
					t.Errorf("%s: the answer plan prices a translated answer", tc.model)
				}
			}
		}
	}
	m := NewModuleFilter(cfg, "v1", ModuleConfig{OffPathOutcomes: true, Upstream: true}, log)
	for _, d := range m.Model().Deployments {
		want := d.Provider == "anthropic" || d.Provider == "cohere"
		if got := m.ModuleTranslates(d.ClusterFor("")); got != want || xds.ModuleTranslated(d) != want || xds.ModuleTranslatedStream(d) != want {
			t.Errorf("%s (%s): translated by the module = %v", d.ID, d.Provider, got)
		}
	}
}

// TestModuleTryStreamAsAttemptFilter (D61): a translated stream the module
// writes with the usage chunk always on, then passed through the fast
// path's response side (D54), which removes the usage chunk the client did
// not ask for, is byte for byte the attempt filter's translation (usage
// chunk as asked), however the provider's events fall into chunks; the
// response side reads the usage either way.
func TestModuleTryStreamAsAttemptFilter(t *testing.T) {
	events := "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: ping\ndata: {\"type\":\"ping\"}\n\n" +
		"event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"he said \\\"model\\\"\"}}\n\n" +
		"event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
	tr := translator.For("anthropic")
	target := translator.Target{Provider: "anthropic", Model: "claude-x", Stream: true}
	for _, includeUsage := range []bool{false, true} {
		for _, step := range []int{len(events), 1, 7, 64} {
			rc := &llmgatev1.RequestContext{Stream: true, IncludeUsage: includeUsage, RequestedModel: "claude"}
			// The attempt filter (responseBody).
			st := tr.NewStream(translator.Chat, target)
			st.(translator.IncludeUsageSetter).SetIncludeUsage(includeUsage)
			st = translator.ModelStream(st, "claude")
			// The module: ModuleTry, then the response side.
			mt := &ModuleTry{t: &try{rc: rc, tr: tr, ep: translator.Chat, target: target}}
			if mode, _, _ := mt.ResponseHeaders(200, false); mode != ModuleTryStream {
				t.Fatalf("mode %d", mode)
			}
			plan := &RespPlan{Stream: true, Usage: includeUsage, Entries: []RespEntry{{Model: "claude"}}}
			rs := plan.NewRespStream(&plan.Entries[0])
			var want, got []byte
			for i := 0; i < len(events); i += step {
				end := min(i+step, len(events))
				last := end == len(events)
				out, _ := st.Feed([]byte(events[i:end]), last)
				want = append(want, stampChunks(out, 1700000000)...)
				m := mt.ResponseChunk([]byte(events[i:end]), last)
				if o, changed := rs.Write(m); changed {
					got = append(got, o...)
				} else {
					got = append(got, m...)
				}
			}
			got = append(got, rs.End()...)
			created := []byte(fmt.Sprintf(`"created":%d`, mt.created))
			got = bytes.ReplaceAll(got, created, []byte(`"created":1700000000`))
			if !bytes.Equal(got, want) {
				t.Errorf("include_usage %v, chunks of %d: the module's stream\n%s\nthe attempt filter's\n%s", includeUsage, step, got, want)
			}
			if rs.Usage.Prompt != 9 || rs.Usage.Completion != 5 {
				t.Errorf("include_usage %v: usage read %+v", includeUsage, rs.Usage)
			}
		}
	}
}
