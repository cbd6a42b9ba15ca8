package translator

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
)

// A provider error inside a stream whose headers were 200 (docs/architecture.md
// D82). The client already has the status line, so the error travels as an
// SSE event — an OpenAI-compatible provider's `data: {"error": {...}}`, an
// Anthropic `error` event the translator turns into the former — and the try
// failed all the same. LiteLLM counts it where its stream wrapper raises it
// (CustomStreamWrapper: the failure callbacks, its Router's cooldown and the
// deployment failure metric get the exception the stream raised; the client
// gets it mapped by exception_type):
//   - Anthropic's `error` event: an AnthropicError with status 500 whatever
//     the event's type (LiteLLM's handler hard-codes it: the event carries no
//     status), mapped by its message (ContextWindowExceededError for "prompt is
//     too long", InternalServerError otherwise); a 5xx for the cooldown.
//   - an OpenAI-format error event: the OpenAI SDK raises APIError, which has
//     no status, so LiteLLM's Router does not cool the deployment down
//     (_is_cooldown_required with an empty status); mapped by its message —
//     RateLimitError (429) for a rate-limit text, ContextWindowExceededError or
//     ContentPolicyViolationError (400), else APIConnectionError (500).
//   - another translator's stream error (Bedrock's exception events): its
//     status and class.

// StreamFailure is how a try whose stream carried the provider's error is
// counted: the status its exception reports (exception_status) and its class.
type StreamFailure struct {
	Status int
	Class  ErrorClass
}

// StreamFailureOf is the failure LiteLLM counts for error e inside a stream
// of a deployment of provider.
func StreamFailureOf(provider string, e *Error) StreamFailure {
	if e == nil {
		return StreamFailure{}
	}
	switch {
	case provider == "anthropic":
		return StreamFailure{Status: 500, Class: ClassifyMessage(500, e.Message)}
	case IsPassThrough(provider) || provider == "":
		switch c := ClassifyMessage(500, e.Message); {
		case c == ErrContextWindow || c == ErrContentPolicy:
			return StreamFailure{Status: 400, Class: c}
		case isRateLimitText(e.Message):
			return StreamFailure{Status: 429, Class: ErrRateLimit}
		}
		return StreamFailure{Status: 500, Class: ErrInternal}
	}
	f := StreamFailure{Status: e.Status, Class: e.Class}
	if f.Status < 400 {
		f.Status = 500
	}
	if f.Class == ErrNone {
		f.Class = ClassForStatus(f.Status)
	}
	return f
}

// StreamFailureCoolsDown reports whether a stream failure of a deployment of
// provider counts toward its cooldown: not for an OpenAI-compatible
// provider's error event (the OpenAI SDK's APIError has no status, which
// LiteLLM's Router does not cool down for); by its status otherwise.
func StreamFailureCoolsDown(provider string) bool {
	return !(IsPassThrough(provider) || provider == "")
}

var rateLimitText = regexp.MustCompile(`\b429\b|rate[\s_\-]*limit|service tier capacity exceeded|request too large`)

// isRateLimitText is LiteLLM's rate-limit reading of an error message without
// a status (ExceptionCheckers.is_error_str_rate_limit, "Request too large").
func isRateLimitText(m string) bool { return rateLimitText.MatchString(strings.ToLower(m)) }

// maxStreamErrorJSON bounds the error event read (a provider's message can
// be long; the class needs its start).
const maxStreamErrorJSON = 16 << 10

// ParseStreamError reads one SSE event's data as an OpenAI-format error
// event: an object whose top-level "error" is an object (its message, type,
// code, param) or a string, as the OpenAI SDK reads it. nil when the data is
// not one.
func ParseStreamError(data []byte) *Error {
	data = bytes.TrimSpace(data)
	if len(data) == 0 || data[0] != '{' || !bytes.Contains(data, []byte(`"error"`)) {
		return nil
	}
	if len(data) > maxStreamErrorJSON {
		return nil
	}
	var top struct {
		Error json.RawMessage `json:"error"`
	}
	if json.Unmarshal(data, &top) != nil || len(top.Error) == 0 {
		return nil
	}
	e := &Error{Status: 500, Type: "internal_server_error", Code: "500"}
	switch top.Error[0] {
	case '{':
		var o struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Param   *string         `json:"param"`
			Code    json.RawMessage `json:"code"`
		}
		if json.Unmarshal(top.Error, &o) != nil || bytes.Equal(bytes.Join(bytes.Fields(top.Error), nil), []byte("{}")) {
			return nil // an empty object is no error (the SDK's data.get("error"))
		}
		e.Message = o.Message
		if o.Type != "" {
			e.Type = o.Type
		}
		if o.Param != nil {
			e.Param = *o.Param
		}
	case '"':
		if json.Unmarshal(top.Error, &e.Message) != nil || e.Message == "" {
			return nil
		}
	default:
		// null, false, 0 are no error (the SDK's data.get("error")); true or
		// another number is one, without a message.
		if s := string(top.Error); s == "null" || s == "false" || s == "0" {
			return nil
		}
	}
	if e.Message == "" {
		e.Message = "An error occurred during streaming" // the OpenAI SDK's
	}
	e.Class = ClassifyMessage(500, e.Message)
	return e
}
