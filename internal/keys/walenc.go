package keys

import (
	"strconv"

	"github.com/llmgate/llmgate/internal/keystore"
)

// appendEvent appends e as one line of JSON, as json.Marshal writes it (read
// back with json.Unmarshal), without reflection: the write-ahead file takes
// one line per answered request of a virtual key.
func appendEvent(b []byte, e *SpendEvent) []byte {
	str := keystore.AppendJSONString
	b = append(b, `{"request_id":`...)
	b = str(b, e.RequestID)
	b = append(b, `,"call_type":`...)
	b = str(b, e.CallType)
	b = append(b, `,"api_key":`...)
	b = str(b, e.KeyToken)
	if e.TeamID != "" {
		b = append(b, `,"team_id":`...)
		b = str(b, e.TeamID)
	}
	if e.UserID != "" {
		b = append(b, `,"user_id":`...)
		b = str(b, e.UserID)
	}
	if e.EndUser != "" {
		b = append(b, `,"end_user":`...)
		b = str(b, e.EndUser)
	}
	b = append(b, `,"model":`...)
	b = str(b, e.Model)
	b = append(b, `,"model_group":`...)
	b = str(b, e.ModelGroup)
	b = append(b, `,"model_id":`...)
	b = str(b, e.ModelID)
	b = append(b, `,"provider":`...)
	b = str(b, e.Provider)
	b = append(b, `,"cost":`...)
	b = keystore.AppendJSONFloat(b, e.Cost)
	b = append(b, `,"prompt_tokens":`...)
	b = strconv.AppendInt(b, e.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, e.CompletionTokens, 10)
	b = append(b, `,"start":`...)
	b = keystore.AppendJSONTime(b, e.Start)
	b = append(b, `,"end":`...)
	b = keystore.AppendJSONTime(b, e.End)
	if len(e.Tags) > 0 {
		b = append(b, `,"tags":`...)
		b = keystore.AppendJSONStrings(b, e.Tags)
	}
	if e.CacheHit {
		b = append(b, `,"cache_hit":true,"cache_key":`...)
		b = str(b, e.CacheKey)
	}
	if len(e.Request) > 0 {
		b = append(b, `,"proxy_server_request":`...)
		b = append(b, e.Request...)
	}
	if len(e.Response) > 0 {
		b = append(b, `,"response":`...)
		b = append(b, e.Response...)
	}
	return append(b, "}\n"...)
}
