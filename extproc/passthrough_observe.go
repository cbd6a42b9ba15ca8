package extproc

import (
	"bytes"
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	"github.com/llmgate/llmgate/internal/eventstream"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/modelfacts"
	"github.com/llmgate/llmgate/translator"
)

// maxObservedBody bounds a non-streamed pass-through answer the observer
// keeps to read its usage; a longer one is not counted.
const maxObservedBody = 8 << 20

// maxObservedLine bounds one line of a streamed (SSE) answer.
const maxObservedLine = 1 << 20

// observe reads one pass-through request's answer (the observer filter:
// Envoy sends and never waits, so nothing is answered). A request the
// checks did not keep (the master key, a configured entry without parallel
// slots) is let go at its headers.
func (s *Server) observe(stream extprocv3.ExternalProcessor_ProcessServer) error {
	var id string
	var status int
	var u ptUsage
	var done bool
	defer func() {
		if id != "" {
			s.observed(id, status, &u, done)
		}
	}()
	for {
		msg, err := recv(stream)
		if err != nil {
			return err
		}
		switch {
		case msg.GetRequestHeaders() != nil:
			rid := oneHeader(msg.GetRequestHeaders().GetHeaders(), "x-request-id")
			r := s.pt.get(rid)
			if r == nil {
				return nil
			}
			if r.rt != nil {
				return s.observeRealtime(stream, rid) // realtime.go (D159)
			}
			id = rid
		case msg.GetResponseHeaders() != nil:
			rh := msg.GetResponseHeaders()
			status, _ = strconv.Atoi(oneHeader(rh.GetHeaders(), ":status"))
			ct := oneHeader(rh.GetHeaders(), "content-type")
			u.sse = strings.HasPrefix(ct, "text/event-stream")
			u.es = strings.HasPrefix(ct, "application/vnd.amazon.eventstream") // Bedrock's streams
			if rh.GetEndOfStream() {
				done = true
				return nil
			}
		case msg.GetResponseBody() != nil:
			rb := msg.GetResponseBody()
			if status >= 200 && status < 300 {
				u.feed(rb.GetBody())
			}
			if rb.GetEndOfStream() {
				done = true
				return nil
			}
		}
	}
}

// observed finishes a pass-through request: its parallel slots released,
// and, on a provider route whose answer ended with a 2xx, the spend of the
// usage it reports recorded as LiteLLM's pass-through logging does
// (call_type pass_through_endpoint, the provider's model and prices).
func (s *Server) observed(id string, status int, u *ptUsage, done bool) {
	r := s.pt.take(id)
	if r == nil {
		return
	}
	r.release()
	if !done || status < 200 || status >= 300 || r.provider == "" {
		return
	}
	u.end()
	if !u.seen {
		return
	}
	model := u.model
	if model == "" || r.provider == "cohere" {
		model = r.model // Cohere's answer names no model
	}
	callType := "pass_through_endpoint"
	switch r.provider {
	case "gemini", "vertex_ai":
		// LiteLLM's gemini and vertex handlers price the path's model
		// (extract_model_from_url), not the answer's modelVersion.
		if m := geminiPathModel(r.path); m != "" {
			model = m
		}
	case "bedrock":
		// The direct /bedrock/model/{model}/… route: LiteLLM's
		// BedrockPassthroughConfig logs the path's model under
		// allm_passthrough_route (base_passthrough_process_llm_request).
		if m := bedrockPathModel(r.path); m != "" {
			model, callType = m, "allm_passthrough_route"
		}
	}
	end := s.now()
	e := keys.SpendEvent{RequestID: id, CallType: callType, KeyToken: r.token, TeamID: r.team, UserID: r.user,
		Model: model, Provider: r.provider, PromptTokens: u.prompt, CompletionTokens: u.completion, Start: r.start, End: end}
	if f, ok := modelfacts.Lookup(r.provider, model); ok {
		p, c := f.Rates().Cost(u.usage.PromptTokens, u.usage.CachedTokens, u.usage.CacheCreationTokens, u.usage.CompletionTokens)
		e.Cost = p + c
	}
	if n := u.prompt + u.completion; n > 0 && r.token != "" {
		ctx, cancel := context.WithTimeout(context.Background(), keys.LimitTimeout)
		r.keys.RecordUsage(ctx, r.token, "", n) // the key's tpm_limit
		cancel()
	}
	r.keys.Record(e)
}

// geminiPathModel is the model of a Gemini path (/gemini/v1beta/models/<model>:generateContent).
func geminiPathModel(p string) string {
	_, rest, ok := strings.Cut(p, "/models/")
	if !ok {
		return ""
	}
	m, _, _ := strings.Cut(rest, ":")
	m, _, _ = strings.Cut(m, "/")
	return m
}

// bedrockPathModel is the model of a direct Bedrock runtime path
// (/bedrock/model/<model id, escaped or not>/<action>), as LiteLLM's
// extract_model_from_bedrock_endpoint: everything between model/ and the
// last segment, unescaped ("" for another path).
func bedrockPathModel(p string) string {
	_, rest, ok := strings.Cut(p, "/model/")
	if !ok {
		return ""
	}
	rest, _, _ = strings.Cut(rest, "?")
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return ""
	}
	m, err := url.PathUnescape(rest[:i])
	if err != nil || len(m) > 256 {
		return ""
	}
	return m
}

// ptUsage gathers the usage of a provider's answer as it passes: the body
// (bounded) or each SSE data line, read by translator.UsageFold, the same
// per-provider usage readers the translators use.
type ptUsage struct {
	sse  bool
	es   bool // an AWS event stream (Bedrock's ConverseStream, InvokeModelWithResponseStream)
	dec  eventstream.Decoder
	buf  []byte
	over bool
	fold translator.UsageFold
	// seen, model, prompt and completion are what end found.
	seen               bool
	model              string
	usage              translator.Usage
	prompt, completion int64
}

// feed takes a chunk of the answer.
func (u *ptUsage) feed(b []byte) {
	if u.over {
		return
	}
	if u.es {
		u.frames(b)
		return
	}
	if !u.sse {
		if len(u.buf)+len(b) > maxObservedBody {
			u.over, u.buf = true, nil
			return
		}
		u.buf = append(u.buf, b...)
		return
	}
	for len(b) > 0 {
		i := bytes.IndexByte(b, '\n')
		if i < 0 {
			if len(u.buf)+len(b) > maxObservedLine {
				u.buf = u.buf[:0] // a line too long to hold usage: skipped
				return
			}
			u.buf = append(u.buf, b...)
			return
		}
		line := b[:i]
		if len(u.buf) > 0 {
			u.buf = append(u.buf, line...)
			line = u.buf
		}
		u.line(line)
		u.buf = u.buf[:0]
		b = b[i+1:]
	}
}

// frames reads an AWS event stream's frames as LiteLLM's
// BedrockEventStreamCollector does: a ConverseStream event's payload is
// Converse JSON (its metadata event carries the usage); an
// InvokeModelWithResponseStream chunk's payload is {"bytes": <base64 of the
// model's own event>} (Anthropic's message_start, message_delta). Only
// events that can name usage or a model are decoded; a corrupt frame ends
// the reading (the stream is passed on regardless).
func (u *ptUsage) frames(b []byte) {
	msgs, err := u.dec.Feed(b)
	for _, m := range msgs {
		if m.Header(":message-type") != "event" {
			continue
		}
		switch m.Header(":event-type") {
		case "metadata":
			u.fold.Doc(m.Payload)
		case "chunk":
			var c struct {
				Bytes []byte `json:"bytes"` // base64 in the JSON
			}
			if json.Unmarshal(m.Payload, &c) == nil && (bytes.Contains(c.Bytes, []byte("sage")) || bytes.Contains(c.Bytes, []byte(`"model"`))) {
				u.fold.Doc(c.Bytes)
			}
		}
	}
	if err != nil {
		u.over, u.dec = true, eventstream.Decoder{}
	}
}

// line reads one SSE line.
func (u *ptUsage) line(l []byte) {
	l = bytes.TrimRight(l, "\r")
	d, ok := bytes.CutPrefix(l, []byte("data:"))
	if !ok {
		return
	}
	d = bytes.TrimSpace(d)
	if len(d) == 0 || d[0] != '{' || !bytes.Contains(d, []byte("sage")) && !bytes.Contains(d, []byte(`"model"`)) && !bytes.Contains(d, []byte("billed_units")) {
		return
	}
	u.fold.Doc(d)
}

// end reads a whole (non-streamed) answer and totals the usage.
func (u *ptUsage) end() {
	if u.es {
		// read as it came
	} else if !u.sse && !u.over && len(u.buf) > 0 {
		u.fold.Doc(u.buf)
	} else if u.sse && len(u.buf) > 0 {
		u.line(u.buf)
	}
	u.buf = nil
	u.usage, u.seen = u.fold.Usage()
	u.model = u.fold.Model
	u.prompt, u.completion = int64(u.usage.PromptTokens), int64(u.usage.CompletionTokens)
}

// oneHeader is one header of a map ("" when absent).
func oneHeader(h *corev3.HeaderMap, name string) string {
	for _, kv := range h.GetHeaders() {
		if kv.GetKey() == name {
			if v := kv.GetValue(); v != "" {
				return v
			}
			return string(kv.GetRawValue())
		}
	}
	return ""
}
