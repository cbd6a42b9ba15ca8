package callbacks

import (
	"encoding/json"
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
