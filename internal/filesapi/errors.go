package filesapi

import (
	"encoding/json"
	"strconv"

	"github.com/llmgate/llmgate/internal/pyrepr"
	"github.com/llmgate/llmgate/translator"
)

func reprOf(b []byte) string { return pyrepr.Repr(json.RawMessage(b)) }

// ProviderError is a provider's error answer as LiteLLM's proxy passes it
// on: the OpenAI SDK's APIStatusError ("Error code: <status> - <body as
// Python prints it>") with the status, and the type and param of the
// body's error object.
func ProviderError(status int, body []byte) *translator.Error {
	msg := string(body)
	var env struct {
		Error *struct {
			Type  string `json:"type"`
			Param any    `json:"param"`
		} `json:"error"`
	}
	e := &translator.Error{Status: status, Code: strconv.Itoa(status)}
	if json.Valid(body) {
		msg = reprOf(body)
		if json.Unmarshal(body, &env) == nil && env.Error != nil {
			e.Type = env.Error.Type
			if p, ok := env.Error.Param.(string); ok {
				e.Param = p
			}
		}
	}
	if e.Type == "" {
		e.Type = translator.TypeForStatus(status)
	}
	e.Message = "Error code: " + strconv.Itoa(status) + " - " + msg
	return e
}
