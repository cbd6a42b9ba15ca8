package filesapi

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// Service serves the Files and Batches routes for one config.
type Service struct {
	cfg    *config.Config
	getenv func(string) string
	client *http.Client
	// MaxAnswer bounds a provider's answer read (a file's content among
	// them); a larger one is a 500.
	MaxAnswer int
	// ModelCreds is the credentials of a model_list model group (its
	// first deployment), for LiteLLM's model-based routing (a zero Creds:
	// no such model); nil: none.
	ModelCreds func(model string) (Creds, *translator.Error)
}

// CallTimeout bounds one provider call (the request filter's message
// timeout allows 60 s at most; LiteLLM's default is 600 s).
const CallTimeout = 55 * time.Second

// New is the service of cfg; getenv reads the environment (the config's
// environment_variables first).
func New(cfg *config.Config, getenv func(string) string, client *http.Client, maxAnswer int) *Service {
	if client == nil {
		client = &http.Client{Timeout: CallTimeout}
	}
	return &Service{cfg: cfg, getenv: getenv, client: client, MaxAnswer: maxAnswer}
}

// Request is one client request to a Files or Batches route.
type Request struct {
	Op Op
	// Query is the request's query.
	Query url.Values
	// CheckModel is the caller's check of a model it routes by (nil: the
	// master key's, every model).
	CheckModel func(model string) *translator.Error
	// Header is the request's headers, names in lower case.
	Header map[string]string
	Body   []byte
}

// Answer is what the client gets on success.
type Answer struct {
	Status      int
	ContentType string
	Body        []byte
}

// Provider is the provider a request names, as each LiteLLM route reads
// it (requested is false when none did and openai is the default).
func (r *Request) Provider(u *Upload, body map[string]json.RawMessage) (p string, requested bool) {
	header := r.Header["custom-llm-provider"]
	query := r.Query.Get("custom_llm_provider")
	var fromBody string
	if u != nil {
		fromBody = u.Provider
	} else if raw, ok := body["custom_llm_provider"]; ok {
		_ = json.Unmarshal(raw, &fromBody)
	}
	var order []string
	switch r.Op.Kind {
	case FileCreate, FileList, FileGet, FileDelete, FileContent:
		order = []string{r.Op.PathProvider, header, query, fromBody}
	case BatchCreate:
		order = []string{r.Op.PathProvider, fromBody, header}
	case BatchCancel:
		order = []string{r.Op.PathProvider, fromBody, header, query}
	default: // BatchGet, BatchList
		order = []string{r.Op.PathProvider, header, query}
	}
	for _, v := range order {
		if v != "" {
			return v, true
		}
	}
	return "openai", false
}

// Serve answers r: the provider's answer on success, else the error the
// client gets (LiteLLM's words and status).
func (s *Service) Serve(ctx context.Context, r *Request) (*Answer, *translator.Error) {
	var up *Upload
	var body map[string]json.RawMessage
	switch r.Op.Kind {
	case FileCreate:
		var e *translator.Error
		if up, e = ParseUpload(r.Header["content-type"], r.Body); e != nil {
			return nil, e
		}
	case BatchCreate, BatchCancel:
		if len(bytes.TrimSpace(r.Body)) > 0 {
			if err := json.Unmarshal(r.Body, &body); err != nil {
				return nil, translator.NewError(400, "invalid_request_error", "Invalid JSON payload: "+err.Error(), "")
			}
		}
	}
	provider, requested := r.Provider(up, body)
	if up != nil {
		if e := up.Check(s.cfg.General.MaxFileSizeMB, s.cfg.General.MaxBatchFileSizeMB); e != nil {
			return nil, e
		}
		if !s.cfg.FilesSettingsSet {
			return nil, translator.NewError(500, "internal_server_error", "files_settings is not set, set it on your config.yaml file.", "")
		}
	}
	model, providerID := s.routedModel(r, up, body)
	if model != "" {
		return s.serveByModel(ctx, r, up, body, model, providerID)
	}
	creds, e := Resolve(r.Op.Kind, provider, s.cfg.FilesSettingFor(provider), s.getenv)
	if e != nil {
		return nil, e
	}
	if !requested && creds.APIKey == "" {
		// LiteLLM's _raise_not_found_when_openai_fallback_unservable.
		switch r.Op.Kind {
		case BatchCreate:
			var id string
			_ = json.Unmarshal(body["input_file_id"], &id)
			return nil, translator.NewError(404, "invalid_request_error", "No such File object: "+id, "")
		case BatchGet, BatchCancel:
			return nil, translator.NewError(404, "invalid_request_error", "No batch found with id '"+r.Op.ID+"'.", "")
		}
	}
	return s.forward(ctx, r, up, body, creds, r.Op.ID)
}

// forward sends r to the provider with creds, id the provider's own id of
// a by-id route.
func (s *Service) forward(ctx context.Context, r *Request, up *Upload, body map[string]json.RawMessage, creds Creds, providerID string) (*Answer, *translator.Error) {
	method, path, q := "GET", "", url.Values{}
	var out []byte
	var ct string
	id := url.PathEscape(providerID)
	switch r.Op.Kind {
	case FileCreate:
		method, path = "POST", "/files"
		ct, out = up.Form()
	case FileList:
		path = "/files"
		if p := r.Query.Get("purpose"); p != "" {
			q.Set("purpose", p)
		}
	case FileGet:
		path = "/files/" + id
	case FileDelete:
		method, path = "DELETE", "/files/"+id
	case FileContent:
		path = "/files/" + id + "/content"
	case BatchCreate:
		method, path, ct = "POST", "/batches", "application/json"
		out = batchCreateBody(body)
	case BatchList:
		path = "/batches"
		if v := r.Query.Get("limit"); v != "" {
			n, err := strconv.Atoi(v)
			if err != nil {
				return nil, translator.NewError(422, "invalid_request_error", "Input should be a valid integer, unable to parse string as an integer", "limit")
			}
			if n < 0 || n > 100 {
				bound, expected, code := "below minimum", ">= 0", "integer_below_min_value"
				if n > 100 {
					bound, expected, code = "above maximum", "<= 100", "integer_above_max_value"
				}
				return nil, &translator.Error{Status: 400, Type: "invalid_request_error", Param: "limit", Code: code,
					Message: "Invalid 'limit': integer " + bound + " value. Expected a value " + expected + ", but got " + v + " instead."}
			}
			q.Set("limit", v)
		}
		if v := r.Query.Get("after"); v != "" {
			q.Set("after", v)
		}
	case BatchGet:
		path = "/batches/" + id
	case BatchCancel:
		method, path = "POST", "/batches/"+id+"/cancel"
	}
	return s.call(ctx, creds, method, creds.URL(path, q), ct, out)
}

// batchCreateBody is the create request the provider gets: the client's
// body without LiteLLM's own fields.
func batchCreateBody(body map[string]json.RawMessage) []byte {
	fwd := make(map[string]json.RawMessage, len(body))
	for k, v := range body {
		switch k {
		case "custom_llm_provider", "litellm_metadata", "target_model_names", "model":
			continue
		}
		fwd[k] = v
	}
	b, _ := json.Marshal(fwd)
	return b
}

// call sends one request to the provider and reads its answer.
func (s *Service) call(ctx context.Context, creds Creds, method, u, ct string, body []byte) (*Answer, *translator.Error) {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, u, rd)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "Connection error.", "")
	}
	req.Header = creds.Header()
	if ct != "" {
		req.Header.Set("Content-Type", ct)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		// The OpenAI SDK's APIConnectionError / APITimeoutError.
		if errors.Is(err, context.DeadlineExceeded) {
			return nil, translator.NewError(500, "internal_server_error", "Request timed out.", "")
		}
		return nil, translator.NewError(500, "internal_server_error", "Connection error.", "")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, int64(s.MaxAnswer)+1))
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "Connection error.", "")
	}
	if len(b) > s.MaxAnswer {
		return nil, translator.NewError(500, "internal_server_error",
			"The provider's answer is over "+strconv.Itoa(s.MaxAnswer)+" bytes, more than the gateway passes on (max_request_size_mb)", "")
	}
	if resp.StatusCode >= 400 {
		return nil, ProviderError(resp.StatusCode, b)
	}
	rct := resp.Header.Get("Content-Type")
	if rct == "" {
		rct = "application/json"
	}
	return &Answer{Status: resp.StatusCode, ContentType: rct, Body: b}, nil
}

// routedModel is the model a request routes by (LiteLLM's model-based
// routing, no database): a model-encoded id (by-id routes, a batch's
// input_file_id), else the body's or form's model, the model query
// parameter, the x-litellm-model header. providerID is the provider's own
// id of a by-id route.
func (s *Service) routedModel(r *Request, up *Upload, body map[string]json.RawMessage) (model, providerID string) {
	providerID = r.Op.ID
	if r.Op.ID != "" {
		if orig, m, ok := DecodeID(r.Op.ID); ok {
			return m, orig
		}
	}
	if r.Op.Kind == BatchCreate {
		var in string
		_ = json.Unmarshal(body["input_file_id"], &in)
		if _, m, ok := DecodeID(in); ok {
			return m, providerID
		}
	}
	if up != nil {
		model = up.Model
	} else if raw, ok := body["model"]; ok {
		_ = json.Unmarshal(raw, &model)
	}
	if model == "" {
		model = r.Query.Get("model")
	}
	if model == "" {
		model = r.Header["x-litellm-model"]
	}
	return model, providerID
}

// serveByModel is LiteLLM's model-based routing: the caller's access to
// the model checked, the model group's credentials, the answer's ids
// written with the model.
func (s *Service) serveByModel(ctx context.Context, r *Request, up *Upload, body map[string]json.RawMessage, model, providerID string) (*Answer, *translator.Error) {
	if r.CheckModel != nil {
		if e := r.CheckModel(model); e != nil {
			return nil, e
		}
	}
	if s.ModelCreds == nil {
		return nil, modelNotFound(r.Op.Kind, model)
	}
	creds, e := s.ModelCreds(model)
	if e != nil {
		return nil, e
	}
	if creds.Provider == "" {
		return nil, modelNotFound(r.Op.Kind, model)
	}
	if r.Op.Kind == BatchCreate {
		if in, ok := body["input_file_id"]; ok {
			var id string
			if json.Unmarshal(in, &id) == nil {
				if orig, _, ok := DecodeID(id); ok {
					body["input_file_id"], _ = json.Marshal(orig)
				}
			}
		}
	}
	ans, e := s.forward(ctx, r, up, body, creds, providerID)
	if e != nil {
		return nil, e
	}
	switch r.Op.Kind {
	case FileContent:
	case FileGet, FileDelete:
		ans.Body = keepID(ans.Body, r.Op.ID)
	default:
		ans.Body = encodeAnswer(ans.Body, model, r.Op.Kind)
	}
	return ans, nil
}

// keepID puts the client's (encoded) id back in a file answer, as LiteLLM
// does after a retrieve by an encoded id.
func keepID(body []byte, id string) []byte {
	var obj map[string]any
	if json.Unmarshal(body, &obj) != nil {
		return body
	}
	obj["id"] = id
	if b, err := json.Marshal(obj); err == nil {
		return b
	}
	return body
}

// modelNotFound is LiteLLM's ProxyModelNotFoundError for a routed model.
func modelNotFound(k Kind, model string) *translator.Error {
	route := map[Kind]string{FileCreate: "file upload", BatchCreate: "batch creation", BatchList: "batch listing"}[k]
	if route == "" {
		route = "file operation"
	}
	b, _ := json.Marshal(map[string]string{"error": route + ": Invalid model name passed in model=" + model + ". Call `/v1/models` to view available models for your key."})
	return translator.NewError(400, "invalid_request_error", reprOf(b), "")
}
