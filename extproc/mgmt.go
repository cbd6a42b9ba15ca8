package extproc

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/modelfacts"
	"github.com/llmgate/llmgate/internal/upstream"
	"github.com/llmgate/llmgate/translator"
)

// management answers the gateway's own endpoints; nil for LLM routes.
func (s *Server) management(st *State, rt route, h map[string]string) *extprocv3.ProcessingResponse {
	switch rt.kind {
	case routeMetrics:
		return s.metricsReply(st, h)
	case routeLiveness:
		return immediate(200, "application/json", []byte(`"I'm alive!"`), nil, "llmgate_health")
	case routeReadiness:
		if s.draining.Load() {
			return drainingReply(st)
		}
		if s.StartupReady != nil && !s.StartupReady() {
			return startingReply(st)
		}
		b, _ := json.Marshal(map[string]any{"status": "healthy", "db": "Not connected", "cache": nil,
			"litellm_version": nil, "llmgate_config_version": st.Version})
		return immediate(200, "application/json", b, nil, "llmgate_health")
	case routeHealth:
		if _, e := st.authenticate(h, true); e != nil {
			return errorReply(e, nil)
		}
		if s.SelfURL == "" {
			return errorReply(&translator.Error{Status: 501, Type: "not_implemented_error",
				Message: "/health needs the gateway's own listener address (served by `llmgate run`); use /health/liveliness and /health/readiness"}, nil)
		}
		if st.Cfg.General.BackgroundHealthChecks {
			// LiteLLM's /health with background_health_checks: the latest
			// background run, no call to any deployment.
			b, _ := json.Marshal(healthView(st, s.latestHealth()))
			return immediate(200, "application/json", b, nil, "llmgate_health")
		}
		b, _ := json.Marshal(healthView(st, s.healthCheck(st, true)))
		return immediate(200, "application/json", b, nil, "llmgate_health")
	case routeHealthServices:
		if _, e := st.authenticate(h, true); e != nil {
			return errorReply(e, nil)
		}
		service := queryParam(h[":path"], "service")
		if service == "" {
			return errorReply(translator.NewError(400, "invalid_request_error", "service is required: /health/services?service=slack", "service"), nil)
		}
		c := s.services.Load()
		if c == nil {
			return errorReply(&translator.Error{Status: 422, Type: "invalid_request_error",
				Message: fmt.Sprintf("%q not in proxy config: general_settings. Unable to test this.", service)}, nil)
		}
		status, body := (*c)(st.Cfg, service)
		b, _ := json.Marshal(body)
		if status >= 400 {
			return errorReply(&translator.Error{Status: status, Type: "invalid_request_error", Message: fmt.Sprint(body)}, nil)
		}
		return immediate(status, "application/json", b, nil, "llmgate_health")
	case routeModels, routeModelInfo, routeModelGroupInfo, routeModel:
		if _, e := st.authenticate(h, true); e != nil {
			return errorReply(e, nil)
		}
		if rt.kind == routeModel {
			return st.modelReply(rt.pathModel)
		}
		var body any
		switch rt.kind {
		case routeModels:
			body = st.modelsList()
		case routeModelInfo:
			body = st.modelInfo()
		default:
			body = st.modelGroupInfo()
		}
		b, _ := json.Marshal(body)
		return immediate(200, "application/json", b, nil, "llmgate_models")
	}
	return nil
}

type modelEntry struct {
	ID      string `json:"id"`
	Object  string `json:"object"`
	Created int64  `json:"created"`
	OwnedBy string `json:"owned_by"`
}

// modelsList is /v1/models: model groups, then aliases that are not hidden.
func (st *State) modelsList() any {
	data := []modelEntry{}
	for _, name := range st.modelNames() {
		data = append(data, modelEntry{ID: name, Object: "model", Created: 1677610602, OwnedBy: "openai"})
	}
	return map[string]any{"object": "list", "data": data}
}

// modelInfo is /model/info: every deployment with its non-secret params.
// An allowlist, so a new secret field can never leak by default.
func (st *State) modelInfo() any {
	data := []any{}
	for _, md := range st.Router.Model().Deployments {
		d := md.Config
		p := map[string]any{"model": d.Params.Model}
		if base := md.APIBase; base != "" {
			p["api_base"] = upstream.Redact(base)
		}
		if d.Params.APIVersion != "" {
			p["api_version"] = d.Params.APIVersion
		}
		if d.Params.AWSRegionName != "" {
			p["aws_region_name"] = d.Params.AWSRegionName
		}
		if d.Params.VertexProject != "" {
			p["vertex_project"] = d.Params.VertexProject
		}
		if d.Params.VertexLocation != "" {
			p["vertex_location"] = d.Params.VertexLocation
		}
		if md.Limits.RPM > 0 {
			p["rpm"] = md.Limits.RPM
		}
		if md.Limits.TPM > 0 {
			p["tpm"] = md.Limits.TPM
		}
		if md.Weight > 0 {
			p["weight"] = md.Weight
		}
		info := map[string]any{"id": d.ID, "db_model": false}
		for k, v := range d.Info.Extra {
			info[k] = v
		}
		if d.Info.Mode != "" {
			info["mode"] = d.Info.Mode
		}
		if d.Info.MaxTokens > 0 {
			info["max_tokens"] = d.Info.MaxTokens
		}
		if d.Info.MaxInputTokens > 0 {
			info["max_input_tokens"] = d.Info.MaxInputTokens
		}
		if d.Info.MaxOutputTokens > 0 {
			info["max_output_tokens"] = d.Info.MaxOutputTokens
		}
		if d.Info.InputCostPerToken != nil {
			info["input_cost_per_token"] = *d.Info.InputCostPerToken
		}
		if d.Info.OutputCostPerToken != nil {
			info["output_cost_per_token"] = *d.Info.OutputCostPerToken
		}
		if d.Info.CacheReadInputTokenCost != nil {
			info["cache_read_input_token_cost"] = *d.Info.CacheReadInputTokenCost
		}
		if d.Info.CacheCreationInputTokenCost != nil {
			info["cache_creation_input_token_cost"] = *d.Info.CacheCreationInputTokenCost
		}
		if d.Info.InputCostPerSecond != nil {
			info["input_cost_per_second"] = *d.Info.InputCostPerSecond
		}
		if d.Info.OutputCostPerSecond != nil {
			info["output_cost_per_second"] = *d.Info.OutputCostPerSecond
		}
		if d.Info.BaseModel != "" {
			info["base_model"] = d.Info.BaseModel
		}
		if d.Info.Metadata != nil {
			info["metadata"] = d.Info.Metadata
		}
		info["litellm_provider"] = d.Provider
		data = append(data, map[string]any{"model_name": d.ModelName, "litellm_params": p, "model_info": info})
	}
	return map[string]any{"data": data}
}

// modelGroupInfo is /model_group/info: one entry per group.
func (st *State) modelGroupInfo() any {
	data := []any{}
	for _, g := range st.Router.Groups() {
		providers := map[string]bool{}
		for _, id := range g.Deployments {
			if d, ok := st.Router.Deployment(id); ok {
				providers[d.Provider] = true
			}
		}
		ps := []string{}
		for p := range providers {
			ps = append(ps, p)
		}
		data = append(data, map[string]any{"model_group": g.Name, "providers": ps, "is_alias": g.AliasOf != ""})
	}
	for _, w := range st.wildcardModels() {
		e := map[string]any{"model_group": w.name, "providers": []string{w.provider}, "is_alias": false}
		if f, ok := modelfacts.Lookup(w.provider, w.id); ok {
			for k, v := range map[string]any{"mode": f.Mode, "max_input_tokens": f.MaxInputTokens, "max_output_tokens": f.MaxOutputTokens,
				"input_cost_per_token": f.InputCostPerToken, "output_cost_per_token": f.OutputCostPerToken} {
				if v != "" && v != 0 && v != 0.0 {
					e[k] = v
				}
			}
		}
		data = append(data, e)
	}
	return map[string]any{"data": data}
}

// queryParam is one query parameter of a request path ("" when absent).
func queryParam(path, name string) string {
	_, q, ok := strings.Cut(path, "?")
	if !ok {
		return ""
	}
	v, err := url.ParseQuery(q)
	if err != nil {
		return ""
	}
	return v.Get(name)
}
