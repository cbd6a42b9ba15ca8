package callbacks

import (
	"math"
	"strconv"
	"unicode/utf8"

	"github.com/llmgate/llmgate/internal/outcome"
)

// The StandardLoggingPayload written straight to JSON (D74): encoding/json
// walked StandardPayload by reflection for every event, most of the
// generic_api and s3 callbacks' CPU. appendStandard writes the bytes
// json.Marshal(Standard(t, s)) gives — the same keys in the same order, the
// same number and string forms (TestAppendStandardMatchesMarshal) — with no
// intermediate values.

// appendStandardBatch appends a batch as a JSON array of payloads
// (LiteLLM's json_array log format).
func appendStandardBatch(b []byte, batch []outcome.Try, s *Settings) []byte {
	b = append(b, '[')
	for i := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendStandard(b, &batch[i], s)
	}
	return append(b, ']')
}

// appendStandard appends a try's StandardLoggingPayload (Standard's fields).
func appendStandard(b []byte, t *outcome.Try, s *Settings) []byte {
	failed := t.Failed()
	status := "success"
	if failed {
		status = "failure"
	}
	cost := 0.0
	if t.CostKnown {
		cost = t.Cost
	}
	model := t.Model
	if t.Refused && model == "" {
		model = t.RequestedModel
	}
	end := unixSeconds(t.End)
	b = append(b, `{"id":`...)
	b = appendJSONString(b, t.CallID)
	b = append(b, `,"trace_id":`...)
	b = appendJSONString(b, t.CallID)
	b = append(b, `,"call_type":`...)
	b = appendJSONString(b, callType(t.Endpoint))
	b = append(b, `,"stream":`...)
	b = strconv.AppendBool(b, t.Stream)
	b = append(b, `,"response_cost":`...)
	// The cost and the end time are written twice: formatted once (D110:
	// the floats' shortest form was a tenth of the payload's CPU).
	var costBuf, endBuf [32]byte
	costJSON := appendJSONFloat(costBuf[:0], cost)
	b = append(b, costJSON...)
	b = append(b, `,"status":"`...)
	b = append(b, status...)
	b = append(b, `","status_fields":{"llm_api_status":"`...)
	b = append(b, status...)
	b = append(b, `"},"custom_llm_provider":`...)
	b = appendJSONString(b, t.Provider)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(t.TotalTokens), 10)
	b = append(b, `,"prompt_tokens":`...)
	b = strconv.AppendInt(b, int64(t.PromptTokens), 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, int64(t.CompletionTokens), 10)
	b = append(b, `,"startTime":`...)
	b = appendJSONFloat(b, unixSeconds(t.Start))
	b = append(b, `,"endTime":`...)
	endJSON := appendJSONFloat(endBuf[:0], end)
	b = append(b, endJSON...)
	b = append(b, `,"completionStartTime":`...)
	if t.TimeToFirstToken > 0 && !t.End.IsZero() {
		b = appendJSONFloat(b, unixSeconds(t.End.Add(-t.Latency+t.TimeToFirstToken)))
	} else {
		b = append(b, endJSON...)
	}
	b = append(b, `,"response_time":`...)
	rt := 0.0
	if !t.Start.IsZero() && !t.End.IsZero() {
		rt = t.End.Sub(t.Start).Seconds()
	}
	b = appendJSONFloat(b, rt)
	b = append(b, `,"model":`...)
	b = appendJSONString(b, model)
	b = append(b, `,"model_id":`...)
	b = appendJSONString(b, t.DeploymentID)
	b = append(b, `,"model_group":`...)
	b = appendJSONString(b, t.ModelGroup)
	b = append(b, `,"api_base":`...)
	b = appendJSONString(b, t.APIBase)
	b = append(b, `,"metadata":{"requester_ip_address":null,"requester_metadata":{}`...)
	if !s.RedactKeyInfo {
		b = append(b, `,"user_api_key_alias":`...)
		b = appendJSONOrNull(b, t.KeyAlias)
		b = append(b, `,"user_api_key_end_user_id":`...)
		b = appendJSONOrNull(b, t.EndUser)
		b = append(b, `,"user_api_key_hash":`...)
		b = appendJSONOrNull(b, t.KeyHash)
		b = append(b, `,"user_api_key_team_id":`...)
		b = appendJSONOrNull(b, t.TeamID)
		b = append(b, `,"user_api_key_user_id":`...)
		b = appendJSONOrNull(b, t.UserID)
	}
	b = append(b, `},"cache_hit":`...)
	b = strconv.AppendBool(b, t.CacheHit)
	b = append(b, `,"request_tags":[`...)
	for i, tag := range requestTags(t, s) {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendJSONString(b, tag)
	}
	b = append(b, `],"end_user":`...)
	b = appendJSONString(b, t.EndUser)
	if s.MessageLoggingOff {
		b = append(b, `,"messages":"`+Redacted+`","response":"`+Redacted+`"`...)
	} else {
		b = append(b, `,"messages":null,"response":null`...)
	}
	if failed {
		cls := errorClass(t)
		msg := "litellm." + cls
		if t.ErrorMessage != "" {
			msg += ": " + t.ErrorMessage
		}
		b = append(b, `,"error_str":`...)
		b = appendJSONString(b, msg)
		b = append(b, `,"error_information":{"error_code":`...)
		b = appendJSONString(b, statusCode(t))
		b = append(b, `,"error_class":`...)
		b = appendJSONString(b, cls)
		b = append(b, `,"llm_provider":`...)
		b = appendJSONString(b, t.Provider)
		b = append(b, `,"error_message":`...)
		b = appendJSONString(b, msg)
		b = append(b, '}')
	} else {
		b = append(b, `,"error_str":null,"error_information":null`...)
	}
	b = append(b, `,"model_parameters":{},"hidden_params":{"api_base":`...)
	b = appendJSONString(b, t.APIBase)
	b = append(b, `,"attempt":`...)
	b = strconv.AppendInt(b, int64(t.Attempt), 10)
	b = append(b, `,"fallbacks":`...)
	b = strconv.AppendInt(b, int64(t.Fallback), 10)
	b = append(b, `,"litellm_call_id":`...)
	b = appendJSONString(b, t.CallID)
	b = append(b, `,"litellm_overhead_time_ms":`...)
	b = appendJSONFloat(b, float64(t.Overhead.Microseconds())/1000)
	b = append(b, `,"model_id":`...)
	b = appendJSONString(b, t.DeploymentID)
	b = append(b, `,"response_cost":`...)
	b = append(b, costJSON...)
	b = append(b, `,"retries":`...)
	b = strconv.AppendInt(b, int64(t.Retry), 10)
	return append(b, `}}`...)
}

func appendJSONOrNull(b []byte, s string) []byte {
	if s == "" {
		return append(b, "null"...)
	}
	return appendJSONString(b, s)
}

// appendJSONFloat writes f as encoding/json does (ES6 number form); NaN
// and infinities, which encoding/json refuses, are written as 0.
func appendJSONFloat(b []byte, f float64) []byte {
	if math.IsInf(f, 0) || math.IsNaN(f) {
		return append(b, '0')
	}
	abs, format := math.Abs(f), byte('f')
	if abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' { // e-09 → e-9, as encoding/json
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

const jsonHex = "0123456789abcdef"

// appendJSONString writes s quoted and escaped as encoding/json does
// (HTML-safe: <, > and & escaped; invalid UTF-8 as U+FFFD; U+2028 and
// U+2029 escaped).
func appendJSONString(b []byte, s string) []byte {
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' && c != '<' && c != '>' && c != '&' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '\\', '"':
				b = append(b, '\\', c)
			case '\b':
				b = append(b, '\\', 'b')
			case '\f':
				b = append(b, '\\', 'f')
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', jsonHex[c>>4], jsonHex[c&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', jsonHex[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
