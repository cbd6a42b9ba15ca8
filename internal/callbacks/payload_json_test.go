package callbacks

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// The payload's JSON is byte for byte what session 4's maps gave (D58: its
// objects are now structs in key order): a success with the key's
// identity and a stream's first token, a failure, an embedding under
// turn_off_message_logging and redact_user_api_key_info.
func TestStandardPayloadJSONUnchanged(t *testing.T) {
	want := []string{
		`{"id":"c1","trace_id":"c1","call_type":"acompletion","stream":true,"response_cost":0.25,"status":"success","status_fields":{"llm_api_status":"success"},"custom_llm_provider":"openai","total_tokens":15,"prompt_tokens":10,"completion_tokens":5,"startTime":1700000000,"endTime":1700000002,"completionStartTime":1700000001.3,"response_time":2,"model":"gpt-4o","model_id":"dep-1","model_group":"gpt","api_base":"api.openai.com","metadata":{"requester_ip_address":null,"requester_metadata":{},"user_api_key_alias":"alias","user_api_key_end_user_id":"u1","user_api_key_hash":"hash1","user_api_key_team_id":"team-1","user_api_key_user_id":null},"cache_hit":false,"request_tags":[],"end_user":"u1","messages":null,"response":null,"error_str":null,"error_information":null,"model_parameters":{},"hidden_params":{"api_base":"api.openai.com","attempt":1,"fallbacks":0,"litellm_call_id":"c1","litellm_overhead_time_ms":1.5,"model_id":"dep-1","response_cost":0.25,"retries":1}}`,
		`{"id":"c2","trace_id":"c2","call_type":"acompletion","stream":false,"response_cost":0,"status":"failure","status_fields":{"llm_api_status":"failure"},"custom_llm_provider":"openai","total_tokens":15,"prompt_tokens":10,"completion_tokens":5,"startTime":1700000000,"endTime":1700000002,"completionStartTime":1700000002,"response_time":2,"model":"gpt-4o","model_id":"dep-1","model_group":"gpt","api_base":"api.openai.com","metadata":{"requester_ip_address":null,"requester_metadata":{},"user_api_key_alias":null,"user_api_key_end_user_id":null,"user_api_key_hash":"hash1","user_api_key_team_id":null,"user_api_key_user_id":null},"cache_hit":false,"request_tags":[],"end_user":"","messages":null,"response":null,"error_str":"litellm.RateLimitError: slow down","error_information":{"error_code":"429","error_class":"RateLimitError","llm_provider":"openai","error_message":"litellm.RateLimitError: slow down"},"model_parameters":{},"hidden_params":{"api_base":"api.openai.com","attempt":0,"fallbacks":0,"litellm_call_id":"c2","litellm_overhead_time_ms":0,"model_id":"dep-1","response_cost":0,"retries":0}}`,
		`{"id":"c3","trace_id":"c3","call_type":"aembedding","stream":false,"response_cost":0.25,"status":"success","status_fields":{"llm_api_status":"success"},"custom_llm_provider":"openai","total_tokens":15,"prompt_tokens":10,"completion_tokens":5,"startTime":1700000000,"endTime":1700000002,"completionStartTime":1700000002,"response_time":2,"model":"gpt-4o","model_id":"dep-1","model_group":"gpt","api_base":"api.openai.com","metadata":{"requester_ip_address":null,"requester_metadata":{}},"cache_hit":false,"request_tags":[],"end_user":"","messages":"redacted-by-litellm","response":"redacted-by-litellm","error_str":null,"error_information":null,"model_parameters":{},"hidden_params":{"api_base":"api.openai.com","attempt":0,"fallbacks":0,"litellm_call_id":"c3","litellm_overhead_time_ms":0,"model_id":"dep-1","response_cost":0.25,"retries":0}}`,
	}
	for i, g := range goldenTries() {
		b, err := json.Marshal(Standard(&g.t, &g.s))
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != want[i] {
			t.Errorf("payload %d:\n got %s\nwant %s", i, b, want[i])
		}
	}
}

func goldenTries() []struct {
	t outcome.Try
	s Settings
} {
	a := sampleTry("c1", 200)
	a.KeyAlias, a.TeamID, a.EndUser, a.Overhead, a.Attempt, a.Retry, a.Stream, a.TimeToFirstToken = "alias", "team-1", "u1", 1500*time.Microsecond, 1, 1, true, 300*time.Millisecond
	b := sampleTry("c2", 429)
	b.ErrorMessage, b.CostKnown = "slow down", false
	c := sampleTry("c3", 200)
	c.Endpoint = "embeddings"
	return []struct {
		t outcome.Try
		s Settings
	}{{a, Settings{}}, {b, Settings{}}, {c, Settings{MessageLoggingOff: true, RedactKeyInfo: true}}}
}

// appendStandard (D74) writes exactly json.Marshal(Standard(t, s)): the
// golden tries, and tries whose strings need every escape encoding/json
// makes (quotes, control bytes, <>&, invalid UTF-8, U+2028/2029) and whose
// numbers take its exponent form; a refused request, a timeout, a stream.
func TestAppendStandardMatchesMarshal(t *testing.T) {
	type tc struct {
		t outcome.Try
		s Settings
	}
	var cases []tc
	for _, g := range goldenTries() {
		cases = append(cases, tc{g.t, g.s})
	}
	odd := []string{"", "plain", "quote\" back\\slash", "ctl\x00\x01\b\f\n\r\t\x1f\x7f", "<script>&amp;</script>",
		"bad\xff\xfeutf8", "sep\u2028\u2029", "émoji 😀 ünïcode", "\xe2\x82", strings.Repeat("x", 300)}
	for i, str := range odd {
		tr := sampleTry(str, []int{200, 429, 0, 500}[i%4])
		tr.KeyAlias, tr.TeamID, tr.UserID, tr.EndUser, tr.Provider, tr.Model = str, str, str, str, str, str
		tr.DeploymentID, tr.ModelGroup, tr.APIBase, tr.ErrorMessage = str, str, str, str
		tr.Cost = []float64{1e-7, 3.5e21, 0, 123456.789, 1e-6, 0.1 + 0.2, 1e20, 2.5e-10, 1, 9.99e-5}[i]
		tr.Overhead = time.Duration(i*12345) * time.Microsecond
		tr.Stream, tr.TimeToFirstToken, tr.Attempt, tr.Retry, tr.Fallback = i%2 == 0, time.Duration(i)*time.Millisecond, i, i/2, i/3
		tr.Timeout = i == 6
		if i%2 == 1 {
			tr.Tags, tr.LateTags = []string{str, "team-a"}, []string{"User-Agent: " + str}
		}
		cases = append(cases, tc{tr, Settings{MessageLoggingOff: i%3 == 0, RedactKeyInfo: i%4 == 0}})
	}
	refused := outcome.Try{CallID: "r1", RequestedModel: "no-such", Refused: true, Status: 400, ErrorClass: "BadRequestError",
		ErrorMessage: "Invalid model name", Answer: outcome.AnswerSent, Start: time.Unix(1700000000, 5)}
	hit := sampleTry("hit", 200)
	hit.CacheHit, hit.CacheKey, hit.Cost, hit.CostKnown = true, "ns:abc", 0, true // a response cache hit (D111)
	cases = append(cases, tc{refused, Settings{}}, tc{outcome.Try{}, Settings{}}, tc{hit, Settings{}})
	if b := appendStandard(nil, &hit, &Settings{}); !strings.Contains(string(b), `"cache_hit":true`) {
		t.Errorf("a cache hit's payload: %s", b)
	}
	tagged := sampleTry("tagged", 200)
	tagged.Tags, tagged.LateTags = []string{"prod"}, []string{"User-Agent: curl"}
	if b := appendStandard(nil, &tagged, &Settings{}); !strings.Contains(string(b), `"request_tags":["prod","User-Agent: curl"]`) {
		t.Errorf("a tagged request's payload: %s", b) // LiteLLM logs the request's tags (D151)
	}
	var batch []outcome.Try
	for i, c := range cases {
		want, err := json.Marshal(Standard(&c.t, &c.s))
		if err != nil {
			t.Fatal(err)
		}
		if got := appendStandard([]byte("x"), &c.t, &c.s); string(got[1:]) != string(want) {
			t.Errorf("case %d:\n got %s\nwant %s", i, got[1:], want)
		}
		if !c.s.MessageLoggingOff && !c.s.RedactKeyInfo {
			batch = append(batch, c.t)
		}
	}
	out := make([]StandardPayload, len(batch))
	for i := range batch {
		out[i] = Standard(&batch[i], &Settings{})
	}
	want, _ := json.Marshal(out)
	if got := appendStandardBatch(nil, batch, &Settings{}); string(got) != string(want) {
		t.Errorf("batch:\n got %s\nwant %s", got, want)
	}
}
