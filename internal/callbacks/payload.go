package callbacks

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Redacted replaces messages and responses under turn_off_message_logging,
// as LiteLLM writes it.
const Redacted = "redacted-by-litellm"

// StandardPayload is the part of LiteLLM's StandardLoggingPayload that the
// outcome of a try carries. Messages and Response are null: the outcome
// event does not carry prompts or completions (Redacted under
// turn_off_message_logging).
type StandardPayload struct {
	ID                  string            `json:"id"`
	TraceID             string            `json:"trace_id"`
	CallType            string            `json:"call_type"`
	Stream              bool              `json:"stream"`
	ResponseCost        float64           `json:"response_cost"`
	Status              string            `json:"status"`
	StatusFields        StatusFields      `json:"status_fields"`
	CustomLLMProvider   string            `json:"custom_llm_provider"`
	TotalTokens         int               `json:"total_tokens"`
	PromptTokens        int               `json:"prompt_tokens"`
	CompletionTokens    int               `json:"completion_tokens"`
	StartTime           float64           `json:"startTime"`
	EndTime             float64           `json:"endTime"`
	CompletionStartTime float64           `json:"completionStartTime"`
	ResponseTime        float64           `json:"response_time"`
	Model               string            `json:"model"`
	ModelID             string            `json:"model_id"`
	ModelGroup          string            `json:"model_group"`
	APIBase             string            `json:"api_base"`
	Metadata            any               `json:"metadata"` // KeyMetadata, or RequesterMetadata when redacted
	CacheHit            bool              `json:"cache_hit"`
	RequestTags         []string          `json:"request_tags"`
	EndUser             string            `json:"end_user"`
	Messages            any               `json:"messages"`
	Response            any               `json:"response"`
	ErrorStr            *string           `json:"error_str"`
	ErrorInformation    *ErrorInformation `json:"error_information"`
	ModelParameters     struct{}          `json:"model_parameters"`
	HiddenParams        HiddenParams      `json:"hidden_params"`
}

// The payload's objects are structs with their fields in key order (D58:
// encoding/json's maps sorted their keys on every event; the JSON is the
// same).

// StatusFields is the payload's status_fields.
type StatusFields struct {
	LLMAPIStatus string `json:"llm_api_status"`
}

// RequesterMetadata is the payload's metadata under
// redact_user_api_key_info.
type RequesterMetadata struct {
	RequesterIPAddress *string  `json:"requester_ip_address"`
	RequesterMetadata  struct{} `json:"requester_metadata"`
}

// KeyMetadata is the payload's metadata with the key's identity (null when
// unknown).
type KeyMetadata struct {
	RequesterIPAddress *string  `json:"requester_ip_address"`
	RequesterMetadata  struct{} `json:"requester_metadata"`
	KeyAlias           *string  `json:"user_api_key_alias"`
	EndUserID          *string  `json:"user_api_key_end_user_id"`
	KeyHash            *string  `json:"user_api_key_hash"`
	TeamID             *string  `json:"user_api_key_team_id"`
	UserID             *string  `json:"user_api_key_user_id"`
}

// HiddenParams is the payload's hidden_params.
type HiddenParams struct {
	APIBase        string  `json:"api_base"`
	Attempt        int     `json:"attempt"`
	Fallbacks      int     `json:"fallbacks"`
	CallID         string  `json:"litellm_call_id"`
	OverheadTimeMS float64 `json:"litellm_overhead_time_ms"`
	ModelID        string  `json:"model_id"`
	ResponseCost   float64 `json:"response_cost"`
	Retries        int     `json:"retries"`
}

// orNull is v, or null when empty.
func orNull(v string) *string {
	if v == "" {
		return nil
	}
	return &v
}

// ErrorInformation is StandardLoggingPayloadErrorInformation.
type ErrorInformation struct {
	ErrorCode    string `json:"error_code"`
	ErrorClass   string `json:"error_class"`
	LLMProvider  string `json:"llm_provider"`
	ErrorMessage string `json:"error_message"`
}

// callType is LiteLLM's call_type of the client's endpoint.
func callType(endpoint string) string { return outcome.CallType(endpoint) }

func unixSeconds(t time.Time) float64 {
	if t.IsZero() {
		return 0
	}
	return float64(t.UnixNano()) / 1e9
}

// Standard builds the StandardLoggingPayload of a try.
func Standard(t *outcome.Try, s *Settings) StandardPayload {
	p := StandardPayload{
		ID:                t.CallID,
		TraceID:           t.CallID,
		CallType:          callType(t.Endpoint),
		Stream:            t.Stream,
		Status:            "success",
		CustomLLMProvider: t.Provider,
		TotalTokens:       t.TotalTokens,
		PromptTokens:      t.PromptTokens,
		CompletionTokens:  t.CompletionTokens,
		StartTime:         unixSeconds(t.Start),
		EndTime:           unixSeconds(t.End),
		Model:             t.Model,
		ModelID:           t.DeploymentID,
		ModelGroup:        t.ModelGroup,
		APIBase:           t.APIBase,
		RequestTags:       requestTags(t, s),
		EndUser:           t.EndUser,
		CacheHit:          t.CacheHit, // answered from the response cache (D111)
	}
	if t.CostKnown {
		p.ResponseCost = t.Cost
	}
	if !t.Start.IsZero() && !t.End.IsZero() {
		p.ResponseTime = t.End.Sub(t.Start).Seconds()
	}
	p.CompletionStartTime = p.EndTime
	if t.TimeToFirstToken > 0 && !t.End.IsZero() {
		p.CompletionStartTime = unixSeconds(t.End.Add(-t.Latency + t.TimeToFirstToken))
	}
	if t.Refused && p.Model == "" {
		p.Model = t.RequestedModel // refused before any try: the name the client sent
	}
	if t.Failed() {
		p.Status = "failure"
		msg := "litellm." + errorClass(t)
		if t.ErrorMessage != "" {
			msg += ": " + t.ErrorMessage
		}
		p.ErrorStr = &msg
		p.ErrorInformation = &ErrorInformation{ErrorCode: statusCode(t), ErrorClass: errorClass(t), LLMProvider: t.Provider, ErrorMessage: msg}
	}
	p.StatusFields = StatusFields{LLMAPIStatus: p.Status}
	if s.MessageLoggingOff {
		p.Messages, p.Response = Redacted, Redacted
	}
	if s.RedactKeyInfo {
		p.Metadata = &RequesterMetadata{}
	} else {
		p.Metadata = &KeyMetadata{KeyAlias: orNull(t.KeyAlias), EndUserID: orNull(t.EndUser), KeyHash: orNull(t.KeyHash),
			TeamID: orNull(t.TeamID), UserID: orNull(t.UserID)}
	}
	p.HiddenParams = HiddenParams{ModelID: t.DeploymentID, APIBase: t.APIBase, ResponseCost: p.ResponseCost,
		OverheadTimeMS: float64(t.Overhead.Microseconds()) / 1000, CallID: t.CallID, Attempt: t.Attempt, Retries: t.Retry, Fallbacks: t.Fallback}
	return p
}

// requestTags are a try's request_tags as LiteLLM logs them: the
// request's tags with its key's and team's (Settings.RequestTags), else
// the request's own; never nil.
func requestTags(t *outcome.Try, s *Settings) []string {
	var tags []string
	if s.RequestTags != nil {
		tags = s.RequestTags(t)
	} else if len(t.Tags)+len(t.LateTags) > 0 {
		tags = append(append(tags, t.Tags...), t.LateTags...)
	}
	if tags == nil {
		return []string{}
	}
	return tags
}

func errorClass(t *outcome.Try) string {
	if t.ErrorClass != "" {
		return t.ErrorClass
	}
	if t.Timeout {
		return "Timeout"
	}
	if t.Status == 0 {
		return "APIConnectionError"
	}
	return "APIError"
}

func statusCode(t *outcome.Try) string {
	switch {
	case t.Timeout:
		return "408"
	case t.Status == 0:
		return "500"
	}
	return strconv.Itoa(t.Status)
}

// postGeneric posts a batch to GENERIC_LOGGER_ENDPOINT as a JSON array of
// StandardLoggingPayload (LiteLLM's default json_array format).
func (m *Manager) postGeneric(ctx context.Context, batch []outcome.Try) error {
	s := m.settings.Load()
	if s.Generic == nil {
		return nil
	}
	body := appendStandardBatch(genericSize.buf(len(batch), 1280), batch, s)
	genericSize.observe(body, len(batch))
	return m.postReusing(ctx, &genericSize, s.Generic.Endpoint, body, s.Generic.Headers)
}

// postReusing posts a JSON body taken from h and gives it back once the
// transport is done with it.
func (m *Manager) postReusing(ctx context.Context, h *sizeHint, url string, body []byte, hdr map[string]string) error {
	released, err := postReleased(ctx, m.client, url, "application/json", body, hdr)
	if released {
		h.release(body)
	}
	return err
}

// genericSize sizes the generic_api bodies (every generic_api logger's
// payloads are alike).
var genericSize sizeHint

// postNamed posts a batch to a callback_settings generic_api instance in
// its log_format: json_array (one JSON array per batch, as postGeneric),
// ndjson (one payload per line, one post per batch) or single (one post per
// event).
func (m *Manager) postNamed(name string) func(context.Context, []outcome.Try) error {
	return func(ctx context.Context, batch []outcome.Try) error {
		s := m.settings.Load()
		var nc *NamedSettings
		for i := range s.Named {
			if s.Named[i].Name == name {
				nc = &s.Named[i]
			}
		}
		if nc == nil {
			return nil // removed by a reload
		}
		switch nc.Format {
		case "single":
			for i := range batch {
				if err := m.postJSON(ctx, nc.Endpoint, appendStandard(nil, &batch[i], s), nc.Headers); err != nil {
					return err
				}
			}
			return nil
		case "ndjson":
			buf := genericSize.buf(len(batch), 1280)
			for i := range batch {
				buf = append(appendStandard(buf, &batch[i], s), '\n')
			}
			return m.postReusing(ctx, &genericSize, nc.Endpoint, buf, nc.Headers)
		}
		return m.postReusing(ctx, &genericSize, nc.Endpoint, appendStandardBatch(genericSize.buf(len(batch), 1280), batch, s), nc.Headers)
	}
}

// langfuseEvent is one entry of Langfuse's ingestion batch.
type langfuseEvent struct {
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Type      string `json:"type"`
	Body      any    `json:"body"`
}

func newID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func isoTime(t time.Time) string {
	if t.IsZero() {
		t = time.Now()
	}
	return t.UTC().Format("2006-01-02T15:04:05.000Z")
}

// LangfuseEvents builds a try's trace-create and generation-create events
// (the trace id is the call id, as LiteLLM's Langfuse logger uses it).
func LangfuseEvents(t *outcome.Try, s *Settings) []any {
	p := Standard(t, s)
	name := "litellm-" + p.CallType
	meta := map[string]any{
		"model_group":     t.ModelGroup,
		"model_id":        t.DeploymentID,
		"api_base":        t.APIBase,
		"litellm_call_id": t.CallID,
		"status":          p.Status,
		"attempt":         t.Attempt,
		"retries":         t.Retry,
		"fallbacks":       t.Fallback,
	}
	if !s.RedactKeyInfo {
		for k, v := range map[string]string{"user_api_key_hash": t.KeyHash, "user_api_key_alias": t.KeyAlias, "user_api_key_team_id": t.TeamID,
			"user_api_key_user_id": t.UserID} {
			if v != "" {
				meta[k] = v
			}
		}
	}
	trace := map[string]any{
		"id":        t.CallID,
		"timestamp": isoTime(t.Start),
		"name":      name,
		"metadata":  meta,
		"tags":      langfuseTags(t, s),
		"input":     p.Messages,
		"output":    p.Response,
	}
	if t.EndUser != "" {
		trace["userId"] = t.EndUser
	}
	level := "DEFAULT"
	gen := map[string]any{
		"id":                  t.CallID,
		"traceId":             t.CallID,
		"name":                name,
		"startTime":           isoTime(t.Start),
		"endTime":             isoTime(t.End),
		"completionStartTime": isoTime(time.Unix(0, int64(p.CompletionStartTime*1e9))),
		"model":               p.Model,
		"modelParameters":     map[string]any{},
		"input":               p.Messages,
		"output":              p.Response,
		"usage": map[string]any{
			"input": t.PromptTokens, "output": t.CompletionTokens, "total": t.TotalTokens,
			"unit": "TOKENS", "totalCost": p.ResponseCost,
		},
		"usageDetails": map[string]int{"input": t.PromptTokens, "output": t.CompletionTokens, "total": t.TotalTokens},
		"costDetails":  map[string]float64{"total": p.ResponseCost},
		"metadata":     meta,
	}
	if p.ErrorStr != nil {
		level = "ERROR"
		gen["statusMessage"] = *p.ErrorStr
	}
	gen["level"] = level
	return []any{
		langfuseEvent{ID: newID(), Timestamp: isoTime(t.Start), Type: "trace-create", Body: trace},
		langfuseEvent{ID: newID(), Timestamp: isoTime(t.End), Type: "generation-create", Body: gen},
	}
}

// postLangfuse posts a batch to Langfuse's ingestion API
// (POST {LANGFUSE_HOST}/api/public/ingestion, basic auth with the keys).
func (m *Manager) postLangfuse(ctx context.Context, batch []outcome.Try) error {
	s := m.settings.Load()
	if s.Langfuse == nil {
		return nil
	}
	return m.postLangfuseTo(ctx, s, s.Langfuse, batch)
}

// postTeamLangfuse posts a team's events to the team's Langfuse project
// (default_team_settings).
func (m *Manager) postTeamLangfuse(team string) func(context.Context, []outcome.Try) error {
	return func(ctx context.Context, batch []outcome.Try) error {
		s := m.settings.Load()
		lf := s.Teams[team]
		if lf == nil {
			return nil // removed by a reload
		}
		return m.postLangfuseTo(ctx, s, lf, batch)
	}
}

func (m *Manager) postLangfuseTo(ctx context.Context, s *Settings, lf *LangfuseSettings, batch []outcome.Try) error {
	events := make([]any, 0, 2*len(batch))
	for i := range batch {
		events = append(events, LangfuseEvents(&batch[i], s)...)
	}
	body, err := json.Marshal(map[string]any{"batch": events, "metadata": map[string]any{"sdk_name": "llmgate"}})
	if err != nil {
		return err
	}
	auth := base64.StdEncoding.EncodeToString([]byte(lf.PublicKey + ":" + lf.SecretKey))
	return m.postJSON(ctx, lf.Host+"/api/public/ingestion", body, map[string]string{"Authorization": "Basic " + auth})
}
