package translator

import (
	"bytes"
	"encoding/json"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/provider"
)

// openAI is the pass-through translator for OpenAI and every OpenAI-compatible
// provider (groq, mistral, together_ai, deepseek, fireworks_ai, openrouter,
// perplexity, xai, hosted_vllm, ...), and for Azure OpenAI, whose bodies are
// OpenAI's but whose paths name the deployment and carry api-version.
type openAI struct{ azure bool }

func init() {
	Register(provider.WireOpenAI, openAI{})
	Register(provider.WireAzure, openAI{azure: true})
}

// IsPassThrough reports whether a provider speaks OpenAI's wire format, so
// bodies need no translation (only the model id and dropped params change).
func IsPassThrough(name string) bool {
	p, ok := provider.Lookup(name)
	return ok && p.Wire.PassThrough()
}

// DefaultAzureAPIVersion is used when neither the deployment nor AZURE_API_VERSION sets one.
const DefaultAzureAPIVersion = "2024-10-21"

func endpointPath(ep Endpoint) string {
	switch ep {
	case Completions:
		return "/completions"
	case Embeddings:
		return "/embeddings"
	case Moderations:
		return "/moderations"
	case ImageGenerations:
		return "/images/generations"
	case AudioSpeech:
		return "/audio/speech"
	case AudioTranscriptions:
		return "/audio/transcriptions"
	case ImageEdits:
		return "/images/edits"
	case Rerank:
		return "/rerank"
	}
	return "/chat/completions"
}

// Request sets the provider's model id and drops the params the deployment
// says to drop; everything else passes through untouched.
func (o openAI) Request(ep Endpoint, body []byte, t Target) (*UpstreamRequest, error) {
	if ep == AudioTranscriptions {
		// A multipart form: its model field replaced, LiteLLM's own fields dropped.
		out, err := setFormField(body, t.ContentType, "model", t.Model, formDropped(t))
		if err != nil {
			return nil, err
		}
		return &UpstreamRequest{Method: "POST", Path: o.Path(ep, t), Headers: map[string]string{"content-type": t.ContentType}, Body: out}, nil
	}
	if ep == ImageEdits {
		out, err := imageEditForm(body, t, o.azure)
		if err != nil {
			return nil, err
		}
		return &UpstreamRequest{Method: "POST", Path: o.Path(ep, t), Headers: map[string]string{"content-type": t.ContentType}, Body: out}, nil
	}
	out, err := o.body(ep, body, t)
	if err != nil {
		return nil, err
	}
	return &UpstreamRequest{Method: "POST", Path: o.Path(ep, t), Headers: map[string]string{"content-type": "application/json"}, Body: out}, nil
}

// PassThroughBody is the body Request writes for a pass-through provider
// (IsPassThrough), without the rest of the request; ok false when provider
// is not one.
func PassThroughBody(provider string, ep Endpoint, body []byte, t Target) (out []byte, ok bool, err error) {
	o, isOpenAI := For(provider).(openAI)
	if !isOpenAI {
		return nil, false, nil
	}
	out, err = o.body(ep, body, t)
	return out, true, err
}

func (o openAI) body(ep Endpoint, body []byte, t Target) ([]byte, error) {
	// Splice the few changes into the body instead of decoding and encoding
	// it whole: a pass-through must stay cheap (docs/benchmarks.md).
	if !gjson.ValidBytes(body) || !isObject(body) {
		return nil, NewError(400, "invalid_request_error", "request body is not a valid JSON object", "")
	}
	out, err := sjson.SetBytes(append([]byte(nil), body...), "model", t.Model)
	if err != nil {
		return nil, err
	}
	// Azure is left out: api-versions before 2024-09 reject stream_options.
	if t.Stream && !o.azure && (ep == Chat || ep == Completions) && gjson.GetBytes(out, "stream_options.include_usage").Type != gjson.True {
		// LiteLLM always asks for the usage chunk so that streamed tokens
		// and spend are counted; the stream strips it again when the client
		// did not ask (openAIStream.stripUsage).
		if out, err = sjson.SetBytes(out, "stream_options.include_usage", true); err != nil {
			return nil, err
		}
	}
	var drop []string
	gjson.ParseBytes(out).ForEach(func(k, _ gjson.Result) bool {
		if name := k.String(); IsLiteLLMOnly(name) || slices.Contains(t.AdditionalDropParams, name) {
			drop = append(drop, name)
		}
		return true
	})
	for _, p := range drop {
		// Every occurrence: a field written twice must not reach the provider either.
		for i := 0; i < 64 && gjson.GetBytes(out, gjsonKey(p)).Exists(); i++ {
			if out, err = sjson.DeleteBytes(out, gjsonKey(p)); err != nil {
				return nil, err
			}
		}
	}
	return out, nil
}

// isObject: a valid JSON text is an object (gjson's IsObject, without
// copying the body into a string).
func isObject(b []byte) bool {
	for _, c := range b {
		switch c {
		case ' ', '\t', '\n', '\r':
			continue
		}
		return c == '{'
	}
	return false
}

// gjsonKey escapes a top-level field name for gjson/sjson paths.
func gjsonKey(k string) string {
	if !strings.ContainsAny(k, ".*?|#@") {
		return k
	}
	return gjsonEscaper.Replace(k)
}

var gjsonEscaper = strings.NewReplacer(".", `\.`, "*", `\*`, "?", `\?`, "|", `\|`, "#", `\#`, "@", `\@`)

// Path is the upstream path (and query) of an endpoint for a deployment.
func (o openAI) Path(ep Endpoint, t Target) string {
	base := strings.TrimRight(t.APIBase, "/")
	path := endpointPath(ep)
	if o.azure {
		v := t.APIVersion
		if v == "" {
			v = DefaultAzureAPIVersion
		}
		path = "/openai/deployments/" + url.PathEscape(t.Model) + path + "?api-version=" + url.QueryEscape(v)
		base = trimAzureBase(base)
	}
	return apiBasePath(base) + path
}

// PassThroughPath is the upstream path of an OpenAI-compatible or Azure
// deployment, for callers that send a body prepared earlier.
func PassThroughPath(ep Endpoint, t Target) string {
	return openAI{azure: t.Provider == "azure"}.Path(ep, t)
}

// trimAzureBase drops a trailing /openai from an Azure api_base (users write both forms).
func trimAzureBase(b string) string { return strings.TrimSuffix(b, "/openai") }

// Response passes OpenAI JSON through, reading usage and the finish reason.
func (openAI) Response(ep Endpoint, body []byte, _ Target) (*Response, error) {
	if IsRoute(ep) {
		return &Response{Body: body, Usage: routeUsage(ep, body)}, nil
	}
	var probe struct {
		Usage   *UsageObject `json:"usage"`
		Choices []struct {
			FinishReason string `json:"finish_reason"`
		} `json:"choices"`
	}
	_ = json.Unmarshal(body, &probe)
	r := &Response{Body: body, Usage: UsageFrom(probe.Usage)}
	if len(probe.Choices) > 0 {
		r.FinishReason = probe.Choices[0].FinishReason
	}
	return r, nil
}

// Error keeps an OpenAI error body when there is one, else wraps the text.
func (openAI) Error(status int, headers map[string]string, body []byte) *Error {
	e := &Error{Status: status, Code: strconv.Itoa(status)}
	var eb struct {
		Error *struct {
			Message string          `json:"message"`
			Type    string          `json:"type"`
			Param   *string         `json:"param"`
			Code    json.RawMessage `json:"code"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &eb) == nil && eb.Error != nil {
		e.Message, e.Type = eb.Error.Message, eb.Error.Type
		if eb.Error.Param != nil {
			e.Param = *eb.Error.Param
		}
		var code string
		if json.Unmarshal(eb.Error.Code, &code) == nil && code != "" {
			e.Code = code
		}
	} else {
		e.Message = strings.TrimSpace(string(bytes.ToValidUTF8(body, nil)))
		if e.Message == "" {
			e.Message = "upstream returned status " + strconv.Itoa(status)
		}
	}
	if e.Type == "" {
		e.Type = TypeForStatus(status)
	}
	e.Class = ClassifyMessage(status, e.Message+" "+e.Code+" "+e.Type)
	e.RetryAfter = ParseRetryAfter(headers["retry-after"])
	return e
}

// NewStream passes SSE through event by event.
func (openAI) NewStream(Endpoint, Target) Stream { return &openAIStream{} }

type openAIStream struct {
	p      SSEParser
	usage  Usage
	finish string
	// model, when set, is restamped into every chunk (LiteLLM returns the
	// requested model name).
	model string
	// stripUsage removes the usage chunk (and the "usage": null of other
	// chunks) that the gateway asked for but the client did not.
	stripUsage bool
	// err is the provider's error event inside the stream (StreamErr, D82).
	err *Error
}

// SetResponseModel implements ModelSetter.
func (s *openAIStream) SetResponseModel(m string) { s.model = m }

// SetIncludeUsage implements IncludeUsageSetter: the gateway always asks an
// OpenAI-compatible provider for usage, so a client that did not ask gets
// the usage chunk stripped.
func (s *openAIStream) SetIncludeUsage(v bool) { s.stripUsage = !v }

func (s *openAIStream) Feed(chunk []byte, last bool) ([]byte, error) {
	var out []byte
	for _, ev := range s.p.Feed(chunk, last) {
		data := ev.Data
		if len(data) == 0 {
			continue
		}
		if !bytes.Equal(data, []byte("[DONE]")) {
			var probe struct {
				Usage   *UsageObject `json:"usage"`
				Choices []struct {
					FinishReason *string `json:"finish_reason"`
				} `json:"choices"`
			}
			if json.Unmarshal(data, &probe) == nil {
				if probe.Usage != nil {
					s.usage = UsageFrom(probe.Usage)
				}
				if s.err == nil && bytes.Contains(data, errorHint) {
					s.err = ParseStreamError(data)
				}
				for _, c := range probe.Choices {
					if c.FinishReason != nil && *c.FinishReason != "" {
						s.finish = *c.FinishReason
					}
				}
				if s.stripUsage && bytes.Contains(data, []byte(`"usage"`)) {
					if probe.Usage != nil && len(probe.Choices) == 0 {
						continue // the usage chunk itself
					}
					if d, err := sjson.DeleteBytes(data, "usage"); err == nil {
						data = d
					}
				}
			}
			data = stampChunk(data, s.model)
		}
		out = WriteSSE(out, ev.Event, data)
	}
	return out, nil
}

func (s *openAIStream) Usage() Usage         { return s.usage }
func (s *openAIStream) FinishReason() string { return s.finish }

// Err implements StreamErr: the provider's `data: {"error": ...}` event, the
// stream's first.
func (s *openAIStream) Err() *Error { return s.err }

// errorHint is the end of an "error" key (a rarer first byte than a quote).
var errorHint = []byte(`rror"`)

// ParseRetryAfter reads a Retry-After header in seconds (HTTP dates are not
// used by LLM providers); 0 when absent or malformed.
func ParseRetryAfter(v string) time.Duration {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil || f < 0 {
		return 0
	}
	return time.Duration(f * float64(time.Second))
}
