package config

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestCloudPassThroughs: the /vertex_ai and /bedrock routes (D169) from
// LiteLLM's variables, default_vertex_config winning over them, and the
// cases that serve no route.
func TestCloudPassThroughs(t *testing.T) {
	const models = "model_list:\n  - {model_name: m, litellm_params: {model: openai/gpt-4o, api_key: k}}\n"
	routes := func(cfg *Config) map[string]PassThroughEndpoint {
		got := map[string]PassThroughEndpoint{}
		for _, ep := range cfg.General.PassThroughEndpoints {
			got[ep.Path] = ep
		}
		return got
	}
	cfg := mustParse(t, models, env("DEFAULT_VERTEXAI_PROJECT", "p1", "DEFAULT_VERTEXAI_LOCATION", "europe-west4",
		"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS", "/etc/sa.json", "AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "SECRET",
		"AWS_REGION", "eu-central-1"))
	got := routes(cfg)
	for _, p := range []string{"/vertex_ai", "/vertex-ai"} {
		v := got[p]
		if v.Vertex == nil || v.Target.String() != "https://europe-west4-aiplatform.googleapis.com" || !v.Auth || !v.IncludeSubpath ||
			*v.Vertex != (VertexPassThrough{Project: "p1", Location: "europe-west4", Credentials: "/etc/sa.json"}) || len(v.Headers) != 0 {
			t.Errorf("%s: %+v", p, v)
		}
	}
	if b := got["/bedrock"]; b.AWS == nil || b.Target.String() != "https://bedrock-runtime.eu-central-1.amazonaws.com" ||
		*b.AWS != (AWSPassThrough{Region: "eu-central-1", AccessKeyID: "AKID", SecretAccessKey: "SECRET"}) || !b.Auth || b.Provider != "bedrock" {
		t.Errorf("/bedrock: %+v", b)
	}
	if len(cfg.Warnings) != 0 {
		t.Errorf("warnings %v", cfg.Warnings)
	}
	// The agent-runtime paths come before /bedrock (the first match serves).
	var order []string
	for _, ep := range cfg.General.PassThroughEndpoints {
		if strings.HasPrefix(ep.Path, "/bedrock") {
			order = append(order, ep.Path+" "+ep.Target.String())
		}
	}
	if len(order) != 7 || order[1] != "/bedrock/knowledgebases https://bedrock-agent-runtime.eu-central-1.amazonaws.com/knowledgebases" ||
		order[6] != "/bedrock https://bedrock-runtime.eu-central-1.amazonaws.com" {
		t.Errorf("bedrock routes %q", order)
	}

	// default_vertex_config replaces the variables (os.environ/ resolved);
	// AWS_BEDROCK_RUNTIME_ENDPOINT and VERTEXAI_API_BASE move the hosts.
	cfg = mustParse(t, models+`default_vertex_config:
  vertex_project: p2
  vertex_location: global
  vertex_credentials: os.environ/MY_SA
`, env("MY_SA", `{"type":"service_account"}`, "DEFAULT_VERTEXAI_PROJECT", "p1", "DEFAULT_VERTEXAI_LOCATION", "us",
		"AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "SECRET", "AWS_BEDROCK_RUNTIME_ENDPOINT", "http://127.0.0.1:9/base/"))
	got = routes(cfg)
	if v := got["/vertex_ai"]; v.Vertex == nil || *v.Vertex != (VertexPassThrough{Project: "p2", Location: "global", Credentials: `{"type":"service_account"}`}) ||
		v.Target.String() != "https://aiplatform.googleapis.com" {
		t.Errorf("default_vertex_config: %+v", v)
	}
	if b := got["/bedrock"]; b.AWS == nil || b.Target.String() != "http://127.0.0.1:9/base" || b.AWS.Region != DefaultBedrockRegion {
		t.Errorf("/bedrock with AWS_BEDROCK_RUNTIME_ENDPOINT: %+v", b)
	}
	if u := VertexBaseURL("us"); u != "https://aiplatform.us.rep.googleapis.com" {
		t.Errorf("multi-region base %s", u)
	}

	// No location (the route's host unknown), no project (LiteLLM's
	// caller-credential branch), no AWS keys: no route; a configured
	// entry on the path wins.
	cfg = mustParse(t, models+`general_settings:
  pass_through_endpoints:
    - {path: /bedrock, target: "http://mine.internal"}
`, env("DEFAULT_VERTEXAI_PROJECT", "p1", "AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "SECRET"))
	got = routes(cfg)
	if _, ok := got["/vertex_ai"]; ok || len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), "no vertex_location") {
		t.Errorf("no location: route %v, warnings %v", ok, cfg.Warnings)
	}
	if _, ok := got["/bedrock/agents"]; ok {
		t.Errorf("an agent-runtime route beside the configured /bedrock entry")
	}
	if b := got["/bedrock"]; b.AWS != nil || b.Target.Host != "mine.internal" {
		t.Errorf("the configured /bedrock entry: %+v", b)
	}
	cfg = mustParse(t, models, env("DEFAULT_VERTEXAI_LOCATION", "us-central1"))
	if len(cfg.General.PassThroughEndpoints) != 0 || len(cfg.Warnings) != 1 || !strings.Contains(cfg.Warnings[0].String(), "no vertex_project") {
		t.Errorf("no project: %+v, warnings %v", cfg.General.PassThroughEndpoints, cfg.Warnings)
	}
}

// TestBedrockPassThroughChain (D181): without keys the /bedrock route is
// served with the AWS SDK's default chain when the environment names an
// AWS source (a profile, a shared credentials or config file, web identity,
// a region); with none of them there is no route, as before.
func TestBedrockPassThroughChain(t *testing.T) {
	const models = "model_list:\n  - {model_name: m, litellm_params: {model: openai/gpt-4o, api_key: k}}\n"
	home := t.TempDir()
	t.Setenv("HOME", home)
	bedrock := func(cfg *Config) *PassThroughEndpoint {
		for i, ep := range cfg.General.PassThroughEndpoints {
			if ep.Path == "/bedrock" {
				return &cfg.General.PassThroughEndpoints[i]
			}
		}
		return nil
	}
	if b := bedrock(mustParse(t, models, env())); b != nil {
		t.Fatalf("no AWS source: a /bedrock route %+v", b)
	}
	creds := filepath.Join(t.TempDir(), "credentials")
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKID\naws_secret_access_key = S\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name    string
		env     []string
		region  string
		profile string
	}{
		{"a shared credentials file", []string{"AWS_SHARED_CREDENTIALS_FILE", creds}, DefaultBedrockRegion, ""},
		{"a profile", []string{"AWS_PROFILE", "team", "AWS_REGION_NAME", "eu-west-1"}, "eu-west-1", "team"},
		{"web identity", []string{"AWS_WEB_IDENTITY_TOKEN_FILE", "/var/run/token", "AWS_ROLE_ARN", "arn:aws:iam::1:role/r"}, DefaultBedrockRegion, ""},
		{"a region (an instance's role)", []string{"AWS_REGION", "ap-south-1"}, "ap-south-1", ""},
	} {
		cfg := mustParse(t, models, env(c.env...))
		b := bedrock(cfg)
		if b == nil || b.AWS == nil || *b.AWS != (AWSPassThrough{Chain: true, Region: c.region, Profile: c.profile}) ||
			b.Target.Host != "bedrock-runtime."+c.region+".amazonaws.com" || len(cfg.Warnings) != 0 {
			t.Errorf("%s: %+v %+v, warnings %v", c.name, b, b.AWS, cfg.Warnings)
		}
	}
	if err := os.MkdirAll(filepath.Join(home, ".aws"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, ".aws", "config"), []byte("[default]\nregion = us-east-1\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if b := bedrock(mustParse(t, models, env())); b == nil || b.AWS == nil || !b.AWS.Chain {
		t.Errorf("~/.aws/config: %+v", b)
	}
	// Keys win over the chain (LiteLLM's environment keys).
	if b := bedrock(mustParse(t, models, env("AWS_ACCESS_KEY_ID", "AKID", "AWS_SECRET_ACCESS_KEY", "S", "AWS_PROFILE", "team"))); b == nil || b.AWS.Chain || b.AWS.AccessKeyID != "AKID" {
		t.Errorf("keys and a profile: %+v", b)
	}
}
