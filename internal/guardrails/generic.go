package guardrails

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// genericPath is the generic guardrail API's route, appended to api_base
// unless it already ends with it (LiteLLM's GenericGuardrailAPI).
const genericPath = "/beta/litellm_basic_guardrail_api"

// genericRequest is the generic guardrail API's request body.
type genericRequest struct {
	LiteLLMCallID      *string          `json:"litellm_call_id"`
	LiteLLMTraceID     *string          `json:"litellm_trace_id"`
	Texts              []string         `json:"texts"`
	RequestData        map[string]any   `json:"request_data"`
	Images             []string         `json:"images"`
	Tools              []any            `json:"tools"`
	StructuredMessages []map[string]any `json:"structured_messages"`
	ToolCalls          []any            `json:"tool_calls"`
	AdditionalParams   map[string]any   `json:"additional_provider_specific_params"`
	InputType          string           `json:"input_type"`
}

// genericResponse is its answer: action BLOCKED (with blocked_reason),
// NONE, or GUARDRAIL_INTERVENED (with the changed texts).
type genericResponse struct {
	Action        string   `json:"action"`
	BlockedReason string   `json:"blocked_reason"`
	Texts         []string `json:"texts"`
}

// generic calls LiteLLM's generic guardrail API. A block is its
// GuardrailRaisedException: status 400, the blocked_reason as the message;
// a failed call is its "Generic Guardrail API failed: …", a plain
// exception, so 500.
func (c *Call) generic(ctx context.Context, g *config.Guardrail, texts []string, inputType string, d *document) ([]string, *translator.Error) {
	target := g.APIBase
	if !strings.HasSuffix(target, genericPath) {
		target = strings.TrimRight(target, "/") + genericPath
	}
	params := map[string]any{}
	for k, v := range g.ExtraParams {
		params[k] = v
	}
	for k, v := range c.extra[g.Name] {
		params[k] = v
	}
	req := genericRequest{Texts: texts, RequestData: c.meta, AdditionalParams: params, InputType: inputType}
	if req.RequestData == nil {
		req.RequestData = map[string]any{}
	}
	if c.callID != "" {
		id := c.callID
		req.LiteLLMCallID = &id
	}
	if inputType == "request" {
		req.StructuredMessages = d.messages()
	}
	body, err := marshal(req)
	if err != nil {
		return nil, proxyError(500, "Generic Guardrail API failed: "+err.Error())
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, proxyError(500, "Generic Guardrail API failed: "+err.Error())
	}
	hr.Header.Set("Content-Type", "application/json")
	for k, v := range g.Headers {
		hr.Header.Set(k, v)
	}
	var out genericResponse
	if err := c.set.do(hr, &out); err != nil {
		return nil, proxyError(500, "Generic Guardrail API failed: "+err.Error())
	}
	if out.Action == "BLOCKED" {
		// LiteLLM's GuardrailRaisedException(message=reason, unwrapped):
		// status 400, the reason as the message.
		reason := out.BlockedReason
		if reason == "" {
			reason = "Content violates policy"
		}
		return nil, proxyError(400, reason)
	}
	return out.Texts, nil
}

// do sends a guardrail request and decodes its JSON answer; a status
// other than 2xx is an error (httpx's raise_for_status in LiteLLM). The
// error never carries the request (it may hold credentials).
func (s *Set) do(hr *http.Request, out any) error {
	resp, err := s.client.Do(hr)
	if err != nil {
		return fmt.Errorf("%s %s: %v", hr.Method, hr.URL.Redacted(), unwrapURLError(err))
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return err
	}
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("status %d from %s", resp.StatusCode, hr.URL.Redacted())
	}
	return json.Unmarshal(b, out)
}

// send posts a JSON body with the given headers and reads the answer
// (bounded): its status and body. The error (a transport failure) never
// carries the request.
func (s *Set) send(ctx context.Context, target string, headers map[string]string, body []byte) (int, []byte, error) {
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	hr.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		hr.Header.Set(k, v)
	}
	resp, err := s.client.Do(hr)
	if err != nil {
		return 0, nil, unwrapURLError(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	return resp.StatusCode, b, err
}

func unwrapURLError(err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err
	}
	return err
}
