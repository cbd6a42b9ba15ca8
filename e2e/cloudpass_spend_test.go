package e2e

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws/protocol/eventstream"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestCloudPassThroughSpend (D181): a virtual key's calls through the
// cloud pass-throughs become its spend as LiteLLM records them — Bedrock
// Converse and ConverseStream (its event stream's metadata) on /bedrock
// priced by the path's model, call_type allm_passthrough_route; Vertex
// generateContent and streamGenerateContent on /vertex_ai priced by the
// path's model (not the answer's modelVersion), call_type
// pass_through_endpoint. The /bedrock route has no keys in the
// environment: its requests are signed with the AWS SDK's default chain,
// here a profile of a shared credentials file (D181's second part), which
// the fake Bedrock verifies (SigV4 with the profile's keys and session
// token). No AWS secret or Google token in the logs or answers.
func TestCloudPassThroughSpend(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{AWSRegion: "eu-central-1"})
	vx := newVertexFake(t)
	dir := t.TempDir()
	saFile, credsFile := vx.serviceAccountFile(t), filepath.Join(dir, "credentials")
	const sessionToken = "profile-session-token-7"
	if err := os.WriteFile(credsFile, []byte(fmt.Sprintf("[default]\naws_access_key_id = AKIAWRONGWRONGWRONG1\naws_secret_access_key = wrong\n\n"+
		"[llmgate-test]\naws_access_key_id = %s\naws_secret_access_key = %s\naws_session_token = %s\n",
		fakeprovider.DefaultAWSAccessKeyID, fakeprovider.DefaultAWSSecretAccessKey, sessionToken)), 0o600); err != nil {
		t.Fatal(err)
	}
	g := startGateway(t, fmt.Sprintf(`
model_list: [{model_name: unused, litellm_params: {model: openai/gpt-4o-mini, api_base: %[1]s/v1, api_key: sk-unused}}]
general_settings: {master_key: %[2]s, proxy_batch_write_at: 1}
`, fake.URL(), master),
		"LLMGATE_DATA_DIR="+t.TempDir(),
		// No AWS keys: the default chain's shared credentials file and profile.
		"AWS_ACCESS_KEY_ID=", "AWS_SECRET_ACCESS_KEY=", "AWS_SESSION_TOKEN=", "AWS_EC2_METADATA_DISABLED=true",
		"AWS_SHARED_CREDENTIALS_FILE="+credsFile, "AWS_CONFIG_FILE="+filepath.Join(dir, "none"), "AWS_PROFILE=llmgate-test",
		"AWS_REGION_NAME=eu-central-1", "AWS_BEDROCK_RUNTIME_ENDPOINT="+fake.URL(),
		"DEFAULT_VERTEXAI_PROJECT=vx-project", "DEFAULT_VERTEXAI_LOCATION=europe-west4",
		"DEFAULT_GOOGLE_APPLICATION_CREDENTIALS="+saFile, "VERTEXAI_API_BASE="+vx.srv.URL)
	k := keyAPI{t, g}
	key, token := k.generate(`{"max_budget": 10}`)

	const haiku = "anthropic.claude-3-haiku-20240307-v1:0"
	const haikuIn, haikuOut = 2.5e-07, 1.25e-06 // LiteLLM's price table
	const geminiIn, geminiOut = 1.25e-06, 5e-06 // gemini-1.5-pro on vertex_ai
	brkBody := `{"messages":[{"role":"user","content":[{"text":"count my bedrock spend"}]}],"inferenceConfig":{"maxTokens":50}}`
	var want float64

	st, h, b := post(t, g.URL+"/bedrock/model/"+haiku+"/converse", key, brkBody)
	var conv struct {
		Usage struct{ InputTokens, OutputTokens int } `json:"usage"`
	}
	if st != 200 || json.Unmarshal(b, &conv) != nil || conv.Usage.InputTokens == 0 {
		t.Fatalf("converse with the default chain's profile: %d %s\n%s", st, b, g.Logs())
	}
	rec, _ := fake.Last()
	if rec.Header.Get("X-Amz-Security-Token") != sessionToken || !strings.Contains(rec.Header.Get("Authorization"), "Credential="+fakeprovider.DefaultAWSAccessKeyID+"/") {
		t.Fatalf("Bedrock was not signed with the profile's keys: %v", rec.Header)
	}
	noSecretsInAnswer(t, h, b)
	want += float64(conv.Usage.InputTokens)*haikuIn + float64(conv.Usage.OutputTokens)*haikuOut

	st, _, b = post(t, g.URL+"/bedrock/model/"+strings.ReplaceAll(haiku, ":", "%3A")+"/converse-stream", key, brkBody)
	if st != 200 {
		t.Fatalf("converse-stream: %d %.300q", st, b)
	}
	var in, out int
	dec := eventstream.NewDecoder()
	for r := bytes.NewReader(b); r.Len() > 0; {
		m, err := dec.Decode(r, nil)
		if err != nil {
			t.Fatalf("the client's event stream: %v", err)
		}
		if ev := m.Headers.Get(":event-type"); ev != nil && ev.String() == "metadata" {
			var md struct {
				Usage struct{ InputTokens, OutputTokens int } `json:"usage"`
			}
			_ = json.Unmarshal(m.Payload, &md)
			in, out = md.Usage.InputTokens, md.Usage.OutputTokens
		}
	}
	if in == 0 {
		t.Fatalf("the fake's stream has no usage")
	}
	want += float64(in)*haikuIn + float64(out)*haikuOut

	vxBody := `{"contents":[{"role":"user","parts":[{"text":"count my vertex spend"}]}]}`
	for _, path := range []string{"/vertex_ai/v1/projects/p/locations/l/publishers/google/models/gemini-1.5-pro:generateContent",
		"/vertex-ai/publishers/google/models/gemini-1.5-pro:streamGenerateContent"} {
		st, h, b := post(t, g.URL+path, key, vxBody)
		if st != 200 || !strings.Contains(string(b), "hi from vertex") {
			t.Fatalf("%s: %d %s", path, st, b)
		}
		noSecretsInAnswer(t, h, b)
		want += 4*geminiIn + 3*geminiOut // the vertex fake's usageMetadata
	}

	deadline := time.Now().Add(15 * time.Second)
	for got := k.spend(key); math.Abs(got-want) > 1e-12; got = k.spend(key) {
		if time.Now().After(deadline) {
			t.Fatalf("key spend %v, want %v (each answer's usage at the path model's list price)\n%s", got, want, g.Logs())
		}
		time.Sleep(100 * time.Millisecond)
	}
	rows := keySpendLogs(t, g, key, 4)
	seen := map[string]int{}
	for _, r := range rows {
		seen[fmt.Sprint(r["call_type"], " ", r["model"])]++
		if r["api_key"] != token || r["spend"] == nil || r["spend"].(float64) <= 0 {
			t.Errorf("spend log row: %v", r)
		}
	}
	if seen["allm_passthrough_route "+haiku] != 2 || seen["pass_through_endpoint gemini-1.5-pro"] != 2 {
		t.Errorf("spend log rows by call_type and model: %v", seen)
	}
	logs := g.Logs()
	if strings.Contains(logs, fakeprovider.DefaultAWSSecretAccessKey) || strings.Contains(logs, sessionToken) || strings.Contains(logs, "ya29.") {
		t.Errorf("a credential is in the gateway's logs")
	}
}

// keySpendLogs waits (15 s at most) until /spend/logs holds n rows of the
// key (they are written in batches: proxy_batch_write_at) and returns them.
func keySpendLogs(t *testing.T, g *Gateway, key string, n int) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st, _, b := do(t, "GET", g.URL+"/spend/logs?api_key="+key, master, "")
		if st != 200 || json.Unmarshal(b, &rows) != nil {
			t.Fatalf("/spend/logs: %d %s", st, b)
		}
		if len(rows) == n {
			return rows
		}
		if time.Now().After(deadline) {
			t.Fatalf("/spend/logs: %d rows, want %d: %s", len(rows), n, b)
		}
	}
}
