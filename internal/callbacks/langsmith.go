package callbacks

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/llmgate/llmgate/internal/outcome"
)

// LangSmith is LiteLLM's "langsmith" callback: each request a run of
// LangSmith's batch ingestion API (POST <base>/api/v1/runs/batch,
// {"post": [runs]}), as LiteLLM's LangsmithLogger sends it.
const LangSmith = "langsmith"

// LangSmithSettings are the langsmith callback's settings: LANGSMITH_API_KEY
// (secret), LANGSMITH_PROJECT, LANGSMITH_BASE_URL (URL is it with
// /api/v1/runs/batch), LANGSMITH_TENANT_ID, LANGSMITH_DEFAULT_RUN_NAME, the
// batch size (LANGSMITH_BATCH_SIZE, else litellm_settings'
// langsmith_batch_size, else DEFAULT_BATCH_SIZE) and Off
// (LANGSMITH_SAMPLING_RATE 0).
type LangSmithSettings struct {
	Events
	URL, APIKey, TenantID string
	Project, RunName      string
	BatchSize             int
	Off                   bool
}

// LangSmithRunsURL is LiteLLM's _add_endpoint_to_url(base, "runs/batch"):
// /api/v1 added unless the base holds it.
func LangSmithRunsURL(base string) string {
	if !strings.Contains(base, "/api/v1") {
		base = strings.TrimRight(base, "/") + "/api/v1"
	}
	if strings.HasSuffix(base, "/") {
		return base + "runs/batch"
	}
	return base + "/runs/batch"
}

// appendLangSmithRun appends a try's run as LiteLLM's _prepare_log_data
// builds it: the StandardLoggingPayload as inputs, the usage and cost as
// outputs.usage_metadata (the outcome carries no response: output null),
// its metadata as extra, the request tags, error_str as error on a
// failure; the run's id is the call id when it is a UUID (a retried batch
// then names the same runs), else a new one; a root run's trace_id is its
// id and its dotted_order the start time and id.
func appendLangSmithRun(b []byte, t *outcome.Try, s *Settings, l *LangSmithSettings) []byte {
	payload := appendStandard(nil, t, s)
	var p struct {
		Metadata  json.RawMessage `json:"metadata"`
		StartTime json.RawMessage `json:"startTime"`
		EndTime   json.RawMessage `json:"endTime"`
		ErrorStr  *string         `json:"error_str"`
		Cost      json.RawMessage `json:"response_cost"`
	}
	_ = json.Unmarshal(payload, &p)
	id := t.CallID
	if u, err := uuid.Parse(id); err != nil || u.String() != id {
		id = uuid.NewString()
	}
	tags := requestTags(t, s)
	b = append(b, `{"name":`...)
	b = appendJSONString(b, l.RunName)
	b = append(b, `,"run_type":"llm","inputs":`...)
	b = append(b, payload...)
	b = append(b, `,"outputs":{"output":null,"usage_metadata":{"input_tokens":`...)
	b = strconv.AppendInt(b, int64(t.PromptTokens), 10)
	b = append(b, `,"output_tokens":`...)
	b = strconv.AppendInt(b, int64(t.CompletionTokens), 10)
	b = append(b, `,"total_tokens":`...)
	b = strconv.AppendInt(b, int64(t.TotalTokens), 10)
	b = append(b, `,"total_cost":`...)
	b = append(b, p.Cost...)
	b = append(b, `}},"session_name":`...)
	b = appendJSONString(b, l.Project)
	b = append(b, `,"start_time":`...)
	b = append(b, p.StartTime...)
	b = append(b, `,"end_time":`...)
	b = append(b, p.EndTime...)
	b = append(b, `,"tags":`...)
	tj, _ := json.Marshal(tags)
	b = append(b, tj...)
	b = append(b, `,"extra":`...)
	b = append(b, p.Metadata...)
	if t.Failed() && p.ErrorStr != nil {
		b = append(b, `,"error":`...)
		b = appendJSONString(b, *p.ErrorStr)
	}
	b = append(b, `,"id":`...)
	b = appendJSONString(b, id)
	b = append(b, `,"trace_id":`...)
	b = appendJSONString(b, id)
	start := t.Start
	if start.IsZero() {
		start = time.Now()
	}
	b = append(b, `,"dotted_order":`...)
	b = appendJSONString(b, dottedOrder(start, id))
	return append(b, '}')
}

// postLangSmith posts a batch of runs.
func (m *Manager) postLangSmith(ctx context.Context, batch []outcome.Try) error {
	s := m.settings.Load()
	l := s.LangSmith
	if l == nil {
		return nil
	}
	b := []byte(`{"post":[`)
	for i := range batch {
		if i > 0 {
			b = append(b, ',')
		}
		b = appendLangSmithRun(b, &batch[i], s, l)
	}
	b = append(b, "]}"...)
	hdr := map[string]string{"x-api-key": l.APIKey}
	if l.TenantID != "" {
		hdr["x-tenant-id"] = l.TenantID
	}
	return post(ctx, m.client, l.URL, "application/json", b, hdr)
}

// dottedOrder is LiteLLM's make_dot_order: the start time as
// %Y%m%dT%H%M%S%fZ (microseconds right after the seconds), then the id.
func dottedOrder(start time.Time, id string) string {
	u := start.UTC()
	us := strconv.Itoa(u.Nanosecond()/1000 + 1_000_000)[1:]
	return u.Format("20060102T150405") + us + "Z" + id
}
