package extproc

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/config"
)

// checkClientSide (D156) as LiteLLM's is_request_body_safe: the refused
// param is the first banned one in LiteLLM's order that the model does not
// allow; the Entra params pass in metadata; metadata sent as a JSON string
// and escaped keys are read; a body's own credentials come back.
func TestCheckClientSide(t *testing.T) {
	st := stateWith(t, `
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_key: k, configurable_clientside_auth_params: [api_base]}
  - model_name: openai
    litellm_params: {model: openai/gpt-4o, api_key: k, configurable_clientside_auth_params: [base_url]}
`)
	for _, c := range []struct {
		body, model, refused string
		base, key            string
	}{
		{`{"model":"a","api_base":"http://x","aws_role_name":"r"}`, "a", "aws_role_name", "", ""},
		{`{"model":"a","input_cost_per_token":1}`, "a", "input_cost_per_token", "", ""},
		{`{"model":"a","api_base":"http://x","api_key":"sk-c"}`, "a", "", "http://x", "sk-c"},
		{`{"model":"b","api_base":"http://x"}`, "b", "api_base", "", ""},
		{`{"model":"b","api\u005fbase":"http://x"}`, "b", "api_base", "", ""},
		{`{"model":"b","client_id":"x"}`, "b", "client_id", "", ""},
		{`{"model":"b","metadata":{"client_id":"x","tags":["t"]}}`, "b", "", "", ""},
		{`{"model":"b","metadata":"{\"langsmith_api_key\":\"x\"}"}`, "b", "langsmith_api_key", "", ""},
		{`{"model":"b","litellm_embedding_config":{"api_base":"http://x"}}`, "b", "api_base", "", ""},
		{`{"model":"b","litellm_params":{"metadata":{"dd_api_key":"x"}}}`, "b", "dd_api_key", "", ""},
		{`{"model":"openai/gpt-4o","base_url":"http://x"}`, "openai/gpt-4o", "", "http://x", ""},
		{`{"model":"b","api_key":"sk-c"}`, "b", "", "", "sk-c"},
		{`{"model":"b","extra_body":{"aws_web_identity_token":"oidc/x"}}`, "b", "aws_web_identity_token holds a secret reference", "", ""},
	} {
		creds, e := st.checkClientSide([]byte(c.body), c.model)
		switch {
		case c.refused != "":
			if e == nil || e.Status != 401 || !strings.Contains(e.Message, "Rejected Request: "+c.refused) {
				t.Errorf("%s: %+v, want %s refused", c.body, e, c.refused)
			}
		case e != nil:
			t.Errorf("%s: refused: %s", c.body, e.Message)
		case c.base == "" && c.key == "":
			if creds != nil {
				t.Errorf("%s: credentials %+v", c.body, creds)
			}
		case creds == nil || creds.base != c.base || creds.key != c.key:
			t.Errorf("%s: credentials %+v", c.body, creds)
		}
	}
	st.Cfg.General.AllowClientSideCredentials = true
	if _, e := st.checkClientSide([]byte(`{"model":"b","api_base":"http://x","aws_role_name":"r","metadata":{"langfuse_host":"h"}}`), "b"); e != nil {
		t.Errorf("allow_client_side_credentials: refused: %s", e.Message)
	}
	if _, e := st.checkClientSide([]byte(`{"model":"b","api_base":"os.environ/X"}`), "b"); e == nil {
		t.Errorf("a secret reference passed with allow_client_side_credentials")
	}
}

// The SSRF guard's addresses (LiteLLM's _is_blocked_ip) and
// user_url_allowed_hosts' forms.
func TestClientSideAddresses(t *testing.T) {
	for _, c := range []struct {
		ip      string
		blocked bool
	}{
		{"127.0.0.1", true}, {"10.1.2.3", true}, {"172.16.0.1", true}, {"192.168.1.1", true}, {"169.254.169.254", true},
		{"100.64.0.1", true}, {"168.63.129.16", true}, {"0.0.0.0", true}, {"::1", true}, {"fd00::1", true}, {"fe80::1", true},
		{"8.8.8.8", false}, {"2606:4700:4700::1111", false}, {"::ffff:127.0.0.1", true},
	} {
		if got := blockedAddr(netip.MustParseAddr(c.ip).Unmap()); got != c.blocked {
			t.Errorf("%s: blocked %v, want %v", c.ip, got, c.blocked)
		}
	}
	allowed := []string{"ollama.internal", "[::1]:11434", "Box.Local."}
	for _, c := range []struct {
		host string
		port uint32
		want bool
	}{
		{"ollama.internal", 80, true}, {"OLLAMA.internal", 9, true}, {"::1", 11434, true}, {"::1", 80, false}, {"box.local", 1, true}, {"other", 80, false},
	} {
		if got := userURLAllowed(allowed, c.host, c.port); got != c.want {
			t.Errorf("%s:%d: %v, want %v", c.host, c.port, got, c.want)
		}
	}
}

// The check's cost on a body that only has metadata (it goes through
// checkClientSide: a container LiteLLM looks into).
func BenchmarkCheckClientSideMetadata(b *testing.B) {
	st := &State{}
	st.Cfg = &config.Config{}
	body := []byte(`{"model":"gpt-4o","messages":[{"role":"user","content":"` + strings.Repeat("hello ", 150) + `"}],"metadata":{"tags":["a","b"],"generation_name":"g","trace_id":"t"}}`)
	b.ReportAllocs()
	for b.Loop() {
		if _, e := st.checkClientSide(body, "gpt-4o"); e != nil {
			b.Fatal(e)
		}
	}
}
