package keystore

import (
	"encoding/json"
	"math"
	"strconv"
	"time"
	"unicode/utf8"
)

// JSON lines written per answered request (the spend write-ahead file, the
// embedded store's spend logs) are encoded by hand, byte for byte as
// encoding/json writes them, without its reflection: at a few thousand
// requests per second that was most of the spend path's CPU.

// AppendJSONString appends s as encoding/json writes a string: plain
// printable ASCII as is, anything else through encoding/json itself.
func AppendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c >= utf8.RuneSelf || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// AppendJSONFloat appends f as encoding/json writes it (NaN and ±Inf, which
// JSON cannot hold, as 0).
func AppendJSONFloat(b []byte, f float64) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		f = 0
	}
	format := byte('f')
	if a := math.Abs(f); a != 0 && (a < 1e-6 || a >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		// 1e-07 → 1e-7, as encoding/json writes it.
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// AppendJSONTime appends t as encoding/json writes a time.Time (RFC 3339
// with nanoseconds; a year outside 0…9999, which it refuses, as the zero time).
func AppendJSONTime(b []byte, t time.Time) []byte {
	if y := t.Year(); y < 0 || y > 9999 {
		t = time.Time{}
	}
	b = append(b, '"')
	b = t.AppendFormat(b, time.RFC3339Nano)
	return append(b, '"')
}

// AppendJSONStrings appends a list of strings (nil as null, as encoding/json).
func AppendJSONStrings(b []byte, s []string) []byte {
	if s == nil {
		return append(b, "null"...)
	}
	b = append(b, '[')
	for i, x := range s {
		if i > 0 {
			b = append(b, ',')
		}
		b = AppendJSONString(b, x)
	}
	return append(b, ']')
}

// AppendSpendLog appends l as one line, as json.Encoder writes it: the
// embedded store's spend log line, and the spend write-ahead file's line of
// an event (internal/keys, D155: one encoding for both, Spend.LogFile).
func AppendSpendLog(b []byte, l *SpendLog) []byte {
	b = append(b, `{"request_id":`...)
	b = AppendJSONString(b, l.RequestID)
	b = append(b, `,"call_type":`...)
	b = AppendJSONString(b, l.CallType)
	b = append(b, `,"api_key":`...)
	b = AppendJSONString(b, l.APIKey)
	b = append(b, `,"spend":`...)
	b = AppendJSONFloat(b, l.Spend)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, l.TotalTokens, 10)
	b = append(b, `,"prompt_tokens":`...)
	b = strconv.AppendInt(b, l.PromptTokens, 10)
	b = append(b, `,"completion_tokens":`...)
	b = strconv.AppendInt(b, l.CompletionTokens, 10)
	b = append(b, `,"startTime":`...)
	b = AppendJSONTime(b, l.StartTime)
	b = append(b, `,"endTime":`...)
	b = AppendJSONTime(b, l.EndTime)
	b = append(b, `,"model":`...)
	b = AppendJSONString(b, l.Model)
	b = append(b, `,"model_id":`...)
	b = AppendJSONString(b, l.ModelID)
	b = append(b, `,"model_group":`...)
	b = AppendJSONString(b, l.ModelGroup)
	b = append(b, `,"custom_llm_provider":`...)
	b = AppendJSONString(b, l.Provider)
	b = append(b, `,"user":`...)
	b = AppendJSONString(b, l.User)
	if l.TeamID != "" {
		b = append(b, `,"team_id":`...)
		b = AppendJSONString(b, l.TeamID)
	}
	if l.EndUser != "" {
		b = append(b, `,"end_user":`...)
		b = AppendJSONString(b, l.EndUser)
	}
	if len(l.Metadata) > 0 {
		m, err := json.Marshal(l.Metadata)
		if err == nil {
			b = append(b, `,"metadata":`...)
			b = append(b, m...)
		}
	}
	b = append(b, `,"request_tags":`...)
	b = AppendJSONStrings(b, l.RequestTags)
	b = append(b, `,"status":`...)
	b = AppendJSONString(b, l.Status)
	if l.CacheHit != "" {
		b = append(b, `,"cache_hit":`...)
		b = AppendJSONString(b, l.CacheHit)
		b = append(b, `,"cache_key":`...)
		b = AppendJSONString(b, l.CacheKey)
	}
	if len(l.Request) > 0 {
		b = append(b, `,"proxy_server_request":`...)
		b = append(b, l.Request...)
	}
	if len(l.Response) > 0 {
		b = append(b, `,"response":`...)
		b = append(b, l.Response...)
	}
	return append(b, "}\n"...)
}
