package extproc

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"math"
	"math/bits"
	"strconv"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/wire"
	"github.com/llmgate/llmgate/translator"
)

// The response side of the fast path in the module (docs/architecture.md
// D54). With the request filter in Envoy (D53) the listener has no Lua
// filter: the module's response hooks (dynmod/response.go) do what
// xds.FastPathLua does, with this code, byte for byte:
//   - the x-litellm-* headers of the plan entry that answered (Envoy's
//     x-envoy-attempt-count), x-litellm-response-duration-ms;
//   - a JSON answer: the top-level "model" restamped with the requested name
//     (nested ones left), its usage read for the outcome and priced into
//     x-litellm-response-cost;
//   - a stream, event by event as it passes: each chunk's top-level model
//     restamped, a "created" of 0 stamped, the usage chunk read and, when the
//     client did not ask for it, removed with every chunk's "usage" key.
// A request the module served keeps its RespPlan in the module's memory; one
// the ext_proc filter served (handed on) carries it as JSON in llmgate.fp
// "j" (Server.ModuleResponses), which the module reads at the response.

// RespPlan is what the module does to a fast request's answer: llmgate.fp
// (fastAnswer) in Go form.
type RespPlan struct {
	// Common are the headers every plan entry shares.
	Common [][2]string `json:"h,omitempty"`
	// Entries are the plan entries, by try (Envoy's attempt count - 1).
	Entries []RespEntry `json:"a"`
	// StartMs is the request's start (unix milliseconds).
	StartMs int64 `json:"s"`
	// Stream: the answer is an SSE stream; Usage: the client asked for the
	// usage chunk (stream_options.include_usage).
	Stream bool `json:"st,omitempty"`
	Usage  bool `json:"u,omitempty"`
	// Quiet: a success of the plan's first try is read by nobody in the
	// gateway; the module writes no outcome record for it (quietPlan,
	// D124). The module's own plans only: never in llmgate.fp.
	Quiet bool `json:"-"`
	// SpendOnly: a success of the plan's first try is read only by the
	// spend sink; the module sends it as a compact spend record
	// (spendPlan, alsspend.go, D145). The module's own plans only.
	SpendOnly bool `json:"-"`
	// Observed: a success of the plan's first try is read by the gateway's
	// other sinks (metrics, logging callbacks); the module sends it as a
	// compact record too, with its logged response headers, reported as the
	// join would report it (observedPlan, alsspend.go, D177). The module's
	// own plans only.
	Observed bool `json:"-"`
}

// RespEntry is one plan entry: its own headers, the model the answer is
// restamped with, its prices per token (when known).
type RespEntry struct {
	Headers [][2]string `json:"h,omitempty"`
	Model   string      `json:"m"`
	Cost    bool        `json:"c,omitempty"`
	In      float64     `json:"ci,omitempty"`
	Out     float64     `json:"co,omitempty"`
	// CacheRead prices the prompt tokens read from the provider's prompt
	// cache (usage.prompt_tokens_details.cached_tokens), as LiteLLM's cost
	// does (D146).
	CacheRead float64 `json:"cr,omitempty"`
}

// RespPlanKey is the llmgate.fp key of a handed-on request's RespPlan (JSON).
const RespPlanKey = "j"

// respPlanOf reads fastAnswer's Struct.
func respPlanOf(s *structpb.Struct) *RespPlan {
	f := s.GetFields()
	p := &RespPlan{StartMs: int64(f["s"].GetNumberValue()), Stream: f["st"].GetBoolValue(), Usage: f["u"].GetBoolValue()}
	p.Common = headerPairs(f["h"].GetStructValue())
	for _, v := range f["a"].GetListValue().GetValues() {
		ef := v.GetStructValue().GetFields()
		p.Entries = append(p.Entries, RespEntry{
			Headers: headerPairs(ef["h"].GetStructValue()), Model: ef["m"].GetStringValue(),
			Cost: ef["c"].GetBoolValue(), In: ef["ci"].GetNumberValue(), Out: ef["co"].GetNumberValue(), CacheRead: ef["cr"].GetNumberValue(),
		})
	}
	return p
}

func headerPairs(s *structpb.Struct) [][2]string {
	if len(s.GetFields()) == 0 {
		return nil
	}
	out := make([][2]string, 0, len(s.GetFields()))
	for k, v := range s.GetFields() {
		out = append(out, [2]string{k, v.GetStringValue()})
	}
	return out
}

// moduleAnswerStruct is llmgate.fp for the module to read (one string).
func moduleAnswerStruct(p *RespPlan) *structpb.Struct {
	b, _ := json.Marshal(p)
	return &structpb.Struct{Fields: map[string]*structpb.Value{RespPlanKey: structpb.NewStringValue(string(b))}}
}

// moduleRoute is what routeRequestFor hands the module instead of the
// ext_proc answer: the planned request's answer (routed.go, D65) and the
// fast path's answer plan (nil when not fast).
type moduleRoute struct {
	routed *routed
	resp   *RespPlan
	leased []string // the key's counters a module view charged (refunded on a hand-on, D83)
	// model: where a plain body's model value is (plainBody; end 0: not
	// spliced), for prepareBody (splicedBody, D93)
	model bodySpan
	// valid: the body is valid JSON (plainBody checked it)
	valid bool
}

// respPlanOfEntries is the answer plan of a fast request's entries:
// respPlanOf(fastAnswer(...)) with the stream flags, without the Struct
// between them (D60). A header is common when every entry has it with the
// same value; extra headers follow those (the same for every entry, none
// of the entries' names).
func respPlanOfEntries(entries []fastEntry, extra [][2]string, startUnixNano int64, stream, usage bool) *RespPlan {
	// The plan, its entries and its headers in one allocation when small
	// (D93): the common headers, then each entry's own.
	n := 0
	for _, e := range entries {
		n += len(e.headers)
	}
	var p *RespPlan
	var block [][2]string
	if len(entries) <= smallPlan {
		// (A block too small grows like any slice: the sub-slices taken
		// before keep their bytes.)
		b := new(respPlanBuf)
		p, block = &b.plan, b.block[:0]
		p.Entries = b.entries[:len(entries)]
	} else {
		p = &RespPlan{Entries: make([]RespEntry, len(entries))}
		block = make([][2]string, 0, n)
	}
	p.StartMs, p.Stream, p.Usage = startUnixNano/1e6, stream, stream && usage
	// Which headers are common: by position when every entry has the same
	// names in the same order (fastPlan writes them so), else by name.
	mask, byPos := commonMask(entries)
	common := func(j int, kv [2]string) bool {
		if byPos {
			return mask&(1<<j) != 0
		}
		return commonHeader(entries, kv[0], kv[1])
	}
	for j, kv := range entries[0].headers {
		if common(j, kv) {
			block = append(block, kv)
		}
	}
	block = append(block, extra...)
	if len(block) > 0 {
		p.Common = block[:len(block):len(block)]
	}
	for i, e := range entries {
		r := &p.Entries[i]
		r.Model = e.model
		if e.cost {
			r.Cost, r.In, r.Out, r.CacheRead = true, e.in, e.out, e.cr
		}
		at := len(block)
		for j, kv := range e.headers {
			if common(j, kv) {
				continue
			}
			block = append(block, kv)
		}
		if len(block) > at {
			r.Headers = block[at:len(block):len(block)]
		}
	}
	return p
}

// respPlanBuf is a small answer plan in one allocation (respPlanOfEntries).
type respPlanBuf struct {
	plan    RespPlan
	entries [smallPlan]RespEntry
	block   [24][2]string
}

// commonMask is commonHeader for every header at once, by position (D105:
// commonHeader per header was ≈ 13 % of Serve on the typical config): bit j
// is set when header j has the same value in every entry. ok false when
// the entries' names differ in number or order, a name repeats, or there
// are more than 64: then commonHeader decides.
func commonMask(entries []fastEntry) (mask uint64, ok bool) {
	h0 := entries[0].headers
	if len(h0) > 64 {
		return 0, false
	}
	for i := range h0 {
		for j := range i {
			if h0[j][0] == h0[i][0] {
				return 0, false // (headerIn reads the first of a repeated name)
			}
		}
	}
	for _, e := range entries[1:] {
		if len(e.headers) != len(h0) {
			return 0, false
		}
		for j := range h0 {
			if e.headers[j][0] != h0[j][0] {
				return 0, false
			}
		}
	}
	for j := range h0 {
		same := true
		for _, e := range entries[1:] {
			if e.headers[j][1] != h0[j][1] {
				same = false
				break
			}
		}
		if same {
			mask |= 1 << j
		}
	}
	return mask, true
}

// commonHeader reports whether every entry has header k with value v.
func commonHeader(entries []fastEntry, k, v string) bool {
	for _, e := range entries {
		if w, ok := headerIn(e.headers, k); !ok || w != v {
			return false
		}
	}
	return true
}

// headerIn is the value of header k among hs.
func headerIn(hs [][2]string, k string) (string, bool) {
	for _, kv := range hs {
		if kv[0] == k {
			return kv[1], true
		}
	}
	return "", false
}

// ParseRespPlan reads a handed-on request's RespPlan.
func ParseRespPlan(b []byte) (*RespPlan, error) {
	p := &RespPlan{}
	if err := json.Unmarshal(b, p); err != nil {
		return nil, err
	}
	return p, nil
}

// Entry is the plan entry of Envoy's attempt count n (1 for the first try).
func (p *RespPlan) Entry(n int) *RespEntry {
	if p == nil || n < 1 || n > len(p.Entries) {
		return nil
	}
	return &p.Entries[n-1]
}

// DurationHeader is x-litellm-response-duration-ms as the Lua wrote it
// (whole milliseconds since the start, three decimals).
func (p *RespPlan) DurationHeader(nowMs int64) string {
	return strconv.FormatFloat(float64(nowMs-p.StartMs), 'f', 3, 64)
}

// MaxRespBody is the largest JSON answer the response side reads.
const MaxRespBody = 4 << 20

// RespUsage is what an answer told: the usage, the provider's model, a
// choice's finish_reason (llmgate.usage).
type RespUsage struct {
	Prompt, Completion, Total          int64
	HasPrompt, HasCompletion, HasTotal bool
	// Cached: usage.prompt_tokens_details.cached_tokens (D146).
	Cached        int64
	HasCached     bool
	Model, Finish string
	HasModel      bool
}

// Known reports whether any usage number was read.
func (u *RespUsage) Known() bool { return u.HasPrompt || u.HasCompletion || u.HasTotal }

func (u *RespUsage) keep(r *scanResult) {
	if r.hasPrompt {
		u.Prompt, u.HasPrompt = r.prompt, true
	}
	if r.hasCompletion {
		u.Completion, u.HasCompletion = r.completion, true
	}
	if r.hasTotal {
		u.Total, u.HasTotal = r.total, true
	}
	if r.hasCached {
		u.Cached, u.HasCached = r.cached, true
	}
	if r.ms >= 0 {
		u.Model, u.HasModel = r.model, true
	}
	if r.finish != "" {
		u.Finish = r.finish
	}
}

// Struct is llmgate.usage, serialized (what the Lua's record wrote).
func (u *RespUsage) Struct() []byte { return u.AppendStruct(nil) }

// AppendStruct appends Struct's fields to b (D105: the outcome record
// writes them in place, without a buffer of their own).
func (u *RespUsage) AppendStruct(b []byte) []byte {
	num := func(k string, v int64) {
		b = wire.AppendNested(b, 1, func(b []byte) []byte {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendString(b, k)
			return wire.AppendNested(b, 2, func(b []byte) []byte {
				b = protowire.AppendTag(b, 2, protowire.Fixed64Type)
				return protowire.AppendFixed64(b, math.Float64bits(float64(v)))
			})
		})
	}
	str := func(k, v string) {
		b = wire.AppendNested(b, 1, func(b []byte) []byte {
			b = protowire.AppendTag(b, 1, protowire.BytesType)
			b = protowire.AppendString(b, k)
			return wire.AppendNested(b, 2, func(b []byte) []byte {
				b = protowire.AppendTag(b, 3, protowire.BytesType)
				return protowire.AppendString(b, v)
			})
		})
	}
	if u.HasPrompt {
		num("prompt_tokens", u.Prompt)
	}
	if u.HasCompletion {
		num("completion_tokens", u.Completion)
	}
	if u.HasTotal {
		num("total_tokens", u.Total)
	}
	if u.HasCached {
		num("cached_tokens", u.Cached)
	}
	if u.HasModel {
		str("model", u.Model)
	}
	if u.Finish != "" {
		str("finish", u.Finish)
	}
	return b
}

// empty reports whether Struct writes nothing.
func (u *RespUsage) empty() bool {
	return !u.HasPrompt && !u.HasCompletion && !u.HasTotal && !u.HasCached && !u.HasModel && u.Finish == ""
}

// UsageNamespace is the namespace RespUsage.Struct is written to.
const UsageNamespace = contract.UsageMetadataNamespace

// RespondJSON reads a whole JSON answer of entry e: the body with its
// top-level model restamped (nil when unchanged), the usage, and the
// x-litellm-response-cost value ("" when not priced).
func RespondJSON(body []byte, e *RespEntry) (out []byte, u RespUsage, cost string) {
	r := scanJSON(body)
	u.keep(&r)
	var pt, ct int64
	if r.hasPrompt {
		pt = r.prompt
	}
	if r.hasCompletion {
		ct = r.completion
	}
	if e.Cost && (pt > 0 || ct > 0) {
		cost = strconv.FormatFloat(e.price(pt, r.cached, ct), 'g', 12, 64)
	}
	if r.ms >= 0 && e.Model != "" && r.model != e.Model {
		out = make([]byte, 0, len(body)+len(e.Model)+8)
		out = append(out, body[:r.ms]...)
		out = appendJSONString(out, e.Model)
		out = append(out, body[r.me+1:]...)
	}
	return out, u, cost
}

// price is an answer's cost at the entry's rates: the prompt's cached
// tokens at the cache-read price, the rest at the input price (LiteLLM's
// generic_cost_per_token; modelfacts.Rates.Cost), the Lua's formula too.
func (e *RespEntry) price(prompt, cached, completion int64) float64 {
	cached = min(max(cached, 0), prompt)
	return float64(prompt-cached)*e.In + float64(cached)*e.CacheRead + float64(completion)*e.Out
}

// scanResult is what scanJSON reads of a JSON object (offsets into it; -1
// when absent). ms..me are the model value's quotes; us..ue the usage key's
// opening quote to its value's last byte; cs the position of a created 0.
type scanResult struct {
	ms, me, us, ue, cs int
	// err: a top-level "error" whose value is not null (an error event, D82)
	err                                bool
	model, finish                      string
	unull, choices                     bool
	prompt, completion, total          int64
	hasPrompt, hasCompletion, hasTotal bool
	cached                             int64 // usage.prompt_tokens_details.cached_tokens
	hasCached                          bool
}

func isWS(c byte) bool { return c == ' ' || c == '\t' || c == '\r' || c == '\n' }

// isSpace is Lua's %s (C isspace).
func isSpace(c byte) bool { return isWS(c) || c == '\v' || c == '\f' }

// skipWSFrom is the index of the first non-whitespace byte at or after i (-1: none).
func skipWSFrom(s []byte, i int) int {
	for ; i < len(s); i++ {
		if !isWS(s[i]) {
			return i
		}
	}
	return -1
}

// strEnd is the index of the closing quote of the string whose opening
// quote is at i (-1: unterminated). It finds the quotes with IndexByte
// (D175); a quote ends the string when an even number of backslashes is
// right before it (after i), as the byte-by-byte scan's escapes pair them.
func strEnd(s []byte, i int) int {
	for j := i + 1; j < len(s); {
		q := bytes.IndexByte(s[j:], '"')
		if q < 0 {
			return -1
		}
		q += j
		k := q - 1
		for k > i && s[k] == '\\' {
			k--
		}
		if (q-1-k)%2 == 0 {
			return q
		}
		j = q + 1
	}
	return -1
}

// structural: the bytes scanJSON stops at.
var structural = [256]bool{'{': true, '}': true, '[': true, ']': true, '"': true}

// nextStructural is the index of the first '{', '}', '[', ']' or '"' at or
// after i (-1: none), a table's lookup per byte (D175: the switch's
// compares were a third of scanJSON's instructions).
func nextStructural(s []byte, i int) int {
	for ; i < len(s); i++ {
		if structural[s[i]] {
			return i
		}
	}
	return -1
}

// scanJSON reads a JSON object with a depth-tracking scan (the Lua's scan):
// the top-level "model" (its value's span), "usage" (numbers, and the span of
// the key and its value), "created" when it is 0, whether "choices" is a
// non-empty array, and a choice's finish_reason.
func scanJSON(s []byte) scanResult {
	r := scanResult{ms: -1, me: -1, us: -1, ue: -1, cs: -1}
	i, depth := 0, 0
	var key1, key2 []byte
	ustart := -1
	for {
		p := nextStructural(s, i)
		if p < 0 {
			break
		}
		c := s[p]
		switch c {
		case '"':
			q := strEnd(s, p)
			if q < 0 {
				return r
			}
			t := skipWSFrom(s, q+1)
			if t < 0 || s[t] != ':' {
				i = q + 1
				continue
			}
			k := s[p+1 : q]
			i = t + 1
			switch {
			case depth == 1:
				key1 = k
				v := skipWSFrom(s, t+1)
				switch {
				case string(key1) == "model" && v >= 0 && s[v] == '"':
					e := strEnd(s, v)
					if e < 0 {
						return r
					}
					r.ms, r.me, r.model = v, e, string(s[v+1:e])
					i = e + 1
				case string(key1) == "usage" && v >= 0:
					r.us = p
					if bytes.HasPrefix(s[v:], []byte("null")) {
						r.ue, r.unull = v+3, true
						i = v + 4
					} else {
						ustart = v
					}
				case string(key1) == "choices" && v >= 0:
					r.choices = false
					if s[v] == '[' {
						for j := v + 1; j < len(s); j++ {
							if !isSpace(s[j]) {
								r.choices = s[j] != ']'
								break
							}
						}
					}
				case string(key1) == "error" && v >= 0:
					r.err = !bytes.HasPrefix(s[v:], []byte("null"))
				case string(key1) == "created" && v >= 0:
					if s[v] == '0' && v+1 < len(s) && (isSpace(s[v+1]) || s[v+1] == ',' || s[v+1] == '}') {
						r.cs = v
					}
				}
			case depth == 2 && string(key1) == "usage":
				key2 = k
				j := t + 1
				for j < len(s) && isSpace(s[j]) {
					j++
				}
				d := j
				for j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				if j > d {
					n, err := strconv.ParseInt(string(s[d:j]), 10, 64)
					if err != nil {
						n = math.MaxInt64
					}
					switch string(k) {
					case "prompt_tokens":
						r.prompt, r.hasPrompt = n, true
					case "completion_tokens":
						r.completion, r.hasCompletion = n, true
					case "total_tokens":
						r.total, r.hasTotal = n, true
					}
				}
			case depth == 3 && string(key1) == "usage" && string(key2) == "prompt_tokens_details" && string(k) == "cached_tokens":
				j := skipWSFrom(s, t+1)
				d := j
				for j >= 0 && j < len(s) && s[j] >= '0' && s[j] <= '9' {
					j++
				}
				if d >= 0 && j > d {
					n, err := strconv.ParseInt(string(s[d:j]), 10, 64)
					if err != nil {
						n = math.MaxInt64
					}
					r.cached, r.hasCached = n, true
				}
			case depth == 3 && string(key1) == "choices" && string(k) == "finish_reason":
				v := skipWSFrom(s, t+1)
				if v >= 0 && s[v] == '"' {
					e := strEnd(s, v)
					if e < 0 {
						return r
					}
					if e > v+1 {
						r.finish = internFinish(s[v+1 : e])
					}
					i = e + 1
				}
			}
		case '{', '[':
			depth++
			i = p + 1
		default:
			depth--
			if depth == 1 && ustart >= 0 && r.ue < 0 {
				r.ue = p
			}
			i = p + 1
		}
	}
	return r
}

// appendJSONString appends v as a JSON string as the Lua's jstr writes it:
// '"' and '\' escaped, control bytes as \u00XX, everything else as is.
func appendJSONString(b []byte, v string) []byte {
	b = append(b, '"')
	for i := 0; i < len(v); i++ {
		c := v[i]
		switch {
		case c == '"':
			b = append(b, '\\', '"')
		case c == '\\':
			b = append(b, '\\', '\\')
		case c < 0x20 || c == 0x7f:
			const hex = "0123456789abcdef"
			b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&15])
		default:
			b = append(b, c)
		}
	}
	return append(b, '"')
}

// RespStream rewrites a fast stream as it passes (the Lua's stream): Write
// takes each body chunk and returns what goes to the client in its place
// (nil: the chunk unchanged), holding only the tail of an event split
// across chunks; End returns the rewritten tail at the end of the stream.
type RespStream struct {
	model   string
	strip   bool
	created string
	rest    []byte
	Usage   RespUsage
	// Done: the stream's `data: [DONE]` passed — the answer is whole for
	// the client, which may close before the provider's end of stream
	// (the official OpenAI SDKs close at [DONE]).
	Done bool
	// Err: the stream's first OpenAI-format error event (`data: {"error":
	// ...}` after the 200 headers), nil while there is none: the try failed
	// inside its stream, and the client may close at it (the SDKs raise and
	// close), before the provider's end of stream (D82).
	Err *translator.Error
	// Buffers reused from chunk to chunk: what Write and End return is
	// valid until the next call.
	out, ev, q, qs []byte
}

// NewRespStream starts the stream of entry e.
func (p *RespPlan) NewRespStream(e *RespEntry) *RespStream {
	st := &RespStream{model: e.Model, strip: !p.Usage}
	if p.StartMs != 0 {
		st.created = strconv.FormatInt(int64(math.Floor(float64(p.StartMs)/1000)), 10)
	}
	return st
}

// Write rewrites one chunk: changed false means the chunk goes on as is;
// out is valid until the next Write or End.
func (st *RespStream) Write(c []byte) (out []byte, changed bool) {
	held := len(st.rest) > 0
	s := c
	if held {
		s = append(st.rest, c...)
		st.rest = nil
	}
	pos := 0
	var o []byte
	same := true
	for {
		e1 := indexEventEnd(s, pos)
		if e1 < 0 {
			break
		}
		ev := s[pos:e1]
		r, ch := st.event(ev)
		if ch {
			if same {
				o = append(st.out[:0], s[:pos]...)
				same = false
			}
			o = append(o, r...)
		} else if !same {
			o = append(o, ev...)
		}
		pos = e1
	}
	if pos < len(s) {
		st.rest = append([]byte(nil), s[pos:]...)
	}
	if same && !held && pos == len(s) {
		return nil, false
	}
	if same {
		o = append(st.out[:0], s[:pos]...)
	}
	st.out = o
	return o, true
}

// End is the rewritten tail of a stream that ended inside an event (no
// blank line after it); nil when nothing was held.
func (st *RespStream) End() []byte {
	if len(st.rest) == 0 {
		return nil
	}
	r, _ := st.event(st.rest)
	st.rest = nil
	return r
}

// indexEventEnd is the index after the next "\n\r?\n" at or after pos (-1: none).
func indexEventEnd(s []byte, pos int) int {
	for i := pos; i < len(s); i++ {
		if s[i] != '\n' {
			continue
		}
		if i+1 < len(s) && s[i+1] == '\n' {
			return i + 2
		}
		if i+2 < len(s) && s[i+1] == '\r' && s[i+2] == '\n' {
			return i + 3
		}
	}
	return -1
}

// event rewrites one SSE event (its lines and their endings kept); changed
// false: the event as is.
func (st *RespStream) event(ev []byte) (out []byte, changed bool) {
	if bytes.HasPrefix(ev, []byte("data: {")) {
		// The usual event: one data line, then the blank line.
		if nl := bytes.IndexByte(ev[7:], '\n'); nl >= 0 {
			nl += 7
			tail := ev[nl+1:]
			if len(tail) == 0 || string(tail) == "\n" || string(tail) == "\r\n" {
				dend := nl // exclusive
				if dend > 0 && ev[dend-1] == '\r' {
					dend--
				}
				d := ev[6:dend]
				r, drop, ch := st.rewrite(d)
				if drop {
					return nil, true
				}
				if !ch {
					return ev, false
				}
				o := append(st.ev[:0], "data: "...)
				o = append(o, r...)
				o = append(o, ev[dend:]...)
				st.ev = o
				return o, true
			}
		}
	}
	var o []byte
	changed = false
	for i := 0; i < len(ev); {
		j := bytes.IndexByte(ev[i:], '\n')
		var line []byte
		if j < 0 {
			line, i = ev[i:], len(ev)
		} else {
			line, i = ev[i:i+j+1], i+j+1
		}
		if bytes.HasPrefix(line, []byte("data:")) {
			pl := 5
			if pl < len(line) && isSpace(line[pl]) {
				pl++
			}
			end := len(line)
			if end > pl && line[end-1] == '\n' {
				end--
			}
			if end > pl && line[end-1] == '\r' {
				end--
			}
			if string(line[pl:end]) == "[DONE]" {
				st.Done = true
			}
			if end > pl && line[pl] == '{' {
				d, drop, ch := st.rewrite(line[pl:end])
				if drop {
					return nil, true
				}
				if ch {
					nl := make([]byte, 0, pl+len(d)+2)
					nl = append(nl, line[:pl]...)
					nl = append(nl, d...)
					line = append(nl, line[end:]...)
					changed = true
				}
			}
		}
		o = append(o, line...)
	}
	if !changed {
		return ev, false
	}
	return o, true
}

// rewrite rewrites one chunk's JSON: the quick rewrite, else the scan.
func (st *RespStream) rewrite(d []byte) (out []byte, drop, changed bool) {
	if r, ok := st.quick(d); ok {
		return r, false, !bytes.Equal(r, d)
	}
	return st.chunk(d)
}

var (
	// errorHint is the end of an "error" key: its first byte is rarer in a
	// chunk than a quote, which keeps the search that every chunk pays
	// cheap (D82); a value ending in "rror" only sends the chunk to the scan.
	errorHint  = []byte(`rror"`)
	usageKey   = []byte(`"usage"`)
	contentFlt = []byte(`"content_filter"`)
)

// quick rewrites the usual chunk with a few searches, no scan: a top-level
// "model" before any nested object, a trailing "usage": null; ok false when
// the chunk needs the scan (a usage object, a "created" of 0, an unusual
// order). The keys it looks for are read in one pass over the chunk's
// quotes (chunkKeys, D175).
func (st *RespStream) quick(d []byte) (out []byte, ok bool) {
	k := readChunkKeys(d)
	if k.errorHint {
		return nil, false // maybe an error event: the scan reads it
	}
	if k.usage {
		if st.strip {
			us := trailingUsageNull(d)
			if us < 0 {
				return nil, false
			}
			// (what the pass read of d holds for this d: the cut
			// `,"usage":null}` and the '}' put in its place hold none of
			// the other keys, nor complete or change a match before it)
			st.qs = append(append(st.qs[:0], d[:us]...), '}')
			d = st.qs
		} else if !k.usageNull {
			return nil, false
		}
	}
	if k.createdZero {
		return nil, false
	}
	if k.finishCF {
		st.Usage.Finish = "content_filter"
	}
	ms, mq := k.ms, k.mq
	if ms < 0 {
		return d, true
	}
	if ms > 1 && (bytes.IndexByte(d[1:ms], '{') >= 0 || bytes.IndexByte(d[1:ms], '[') >= 0) {
		return nil, false // the model key may be a nested one (two IndexByte: a tenth of IndexAny's time)
	}
	e := strEnd(d, mq)
	if e < 0 {
		return nil, false
	}
	cur := d[mq+1 : e]
	if !st.Usage.HasModel || string(cur) != st.Usage.Model {
		st.Usage.Model, st.Usage.HasModel = string(cur), true
	}
	if st.model != "" && string(cur) != st.model {
		o := append(st.q[:0], d[:mq]...)
		o = appendJSONString(o, st.model)
		o = append(o, d[e+1:]...)
		st.q = o
		return o, true
	}
	return d, true
}

// chunkKeys is what quick reads of a stream chunk, each as a search of the
// chunk's bytes finds it (every one of them a quote's neighbourhood):
// errorHint `rror"` (a quote's four bytes before); usage `"usage"`,
// usageNull '"usage"%s*:%s*null'; createdZero '"created"%s*:%s*0[%s,}]';
// finishCF '"finish_reason"%s*:%s*"content_filter"'; ms, mq the first
// '"model"%s*:%s*"' — its start and the value's opening quote (-1: none).
type chunkKeys struct {
	errorHint, usage, usageNull, createdZero, finishCF bool
	ms, mq                                             int
}

// readChunkKeys reads a chunk's keys in one pass over its quotes, eight
// bytes at a time (D175: each key was a bytes.Index of its own, and a key
// that starts with '"' stops that search at every quote). It stops at an
// errorHint.
func readChunkKeys(d []byte) chunkKeys {
	k := chunkKeys{ms: -1, mq: -1}
	const low7 = 0x7f7f7f7f7f7f7f7f
	i := 0
	for ; i+8 <= len(d); i += 8 {
		x := binary.LittleEndian.Uint64(d[i:]) ^ (ones8 * '"')
		// the high bit of each byte that is a quote, exactly (no carry
		// crosses a byte)
		for m := ^((x&low7 + low7) | x | low7); m != 0; m &= m - 1 {
			if k.at(d, i+bits.TrailingZeros64(m)>>3) {
				return k
			}
		}
	}
	for ; i < len(d); i++ {
		if d[i] == '"' && k.at(d, i) {
			return k
		}
	}
	return k
}

// at reads the keys that may be at the quote d[p]; true: an errorHint.
func (k *chunkKeys) at(d []byte, p int) bool {
	if p >= 4 && string(d[p-4:p]) == "rror" {
		k.errorHint = true
		return true
	}
	if p+1 >= len(d) {
		return false
	}
	switch d[p+1] {
	case 'u':
		if bytes.HasPrefix(d[p:], usageKey) {
			k.usage = true
			if j := afterKeyColon(d, p, `"usage"`); j >= 0 && bytes.HasPrefix(d[j:], []byte("null")) {
				k.usageNull = true
			}
		}
	case 'c':
		if j := afterKeyColon(d, p, `"created"`); j >= 0 && j+1 < len(d) && d[j] == '0' && (isSpace(d[j+1]) || d[j+1] == ',' || d[j+1] == '}') {
			k.createdZero = true
		}
	case 'f':
		if j := afterKeyColon(d, p, `"finish_reason"`); j >= 0 && bytes.HasPrefix(d[j:], contentFlt) {
			k.finishCF = true
		}
	case 'm':
		if k.ms < 0 {
			if j := afterKeyColon(d, p, `"model"`); j >= 0 && j < len(d) && d[j] == '"' {
				k.ms, k.mq = p, j
			}
		}
	}
	return false
}

// skipSpace skips Lua %s* from i.
func skipSpace(d []byte, i int) int {
	for i < len(d) && isSpace(d[i]) {
		i++
	}
	return i
}

// afterKeyColon: at i a `"key"` then %s*:%s*; the index after, -1 otherwise.
func afterKeyColon(d []byte, i int, key string) int {
	if !bytes.HasPrefix(d[i:], []byte(key)) {
		return -1
	}
	j := skipSpace(d, i+len(key))
	if j >= len(d) || d[j] != ':' {
		return -1
	}
	return skipSpace(d, j+1)
}

// trailingUsageNull finds ',%s*"usage"%s*:%s*null%s*}%s*$' (the match's
// start; -1: none). Read from the end: the match is anchored there and holds
// one comma, so it is the only one (a forward scan tried every comma of the
// event, ≈ a fifth of a streamed chunk's work, D165).
func trailingUsageNull(d []byte) int {
	j := skipSpaceBack(d, len(d))
	if j == 0 || d[j-1] != '}' {
		return -1
	}
	j = skipSpaceBack(d, j-1)
	if !bytes.HasSuffix(d[:j], []byte("null")) {
		return -1
	}
	j = skipSpaceBack(d, j-4)
	if j == 0 || d[j-1] != ':' {
		return -1
	}
	j = skipSpaceBack(d, j-1)
	if !bytes.HasSuffix(d[:j], []byte(`"usage"`)) {
		return -1
	}
	j = skipSpaceBack(d, j-len(`"usage"`))
	if j == 0 || d[j-1] != ',' {
		return -1
	}
	return j - 1
}

// skipSpaceBack is the index after the last byte before j that is not Lua
// %s (0: none).
func skipSpaceBack(d []byte, j int) int {
	for j > 0 && isSpace(d[j-1]) {
		j--
	}
	return j
}

// chunk rewrites one stream event's JSON with the scan; drop: the usage
// chunk the client did not ask for.
func (st *RespStream) chunk(d []byte) (out []byte, drop, changed bool) {
	r := scanJSON(d)
	st.Usage.keep(&r)
	if r.err && st.Err == nil {
		st.Err = translator.ParseStreamError(d)
	}
	type edit struct {
		from, to int // inclusive
		text     []byte
	}
	var ed [3]edit
	n := 0
	if st.strip && r.us >= 0 && r.ue >= 0 {
		if !r.unull && !r.choices {
			return nil, true, true
		}
		from, to := r.us, r.ue
		if nx := skipWSFrom(d, to+1); nx >= 0 && d[nx] == ',' {
			to = nx
		} else {
			b := from - 1
			for b >= 0 && isSpace(d[b]) {
				b--
			}
			if b >= 0 && d[b] == ',' {
				from = b
			}
		}
		ed[n] = edit{from, to, nil}
		n++
	}
	if r.ms >= 0 && st.model != "" && r.model != st.model {
		ed[n] = edit{r.ms, r.me, appendJSONString(nil, st.model)}
		n++
	}
	if r.cs >= 0 && st.created != "" {
		ed[n] = edit{r.cs, r.cs, []byte(st.created)}
		n++
	}
	if n == 0 {
		return d, false, false
	}
	// Apply from the last edit to the first (the Lua's splice).
	es := ed[:n]
	for a := 1; a < len(es); a++ {
		for b := a; b > 0 && es[b].from > es[b-1].from; b-- {
			es[b], es[b-1] = es[b-1], es[b]
		}
	}
	s := append([]byte(nil), d...)
	for _, e := range es {
		t := make([]byte, 0, len(s)-(e.to-e.from+1)+len(e.text))
		t = append(t, s[:e.from]...)
		t = append(t, e.text...)
		s = append(t, s[e.to+1:]...)
	}
	return s, false, true
}

// internFinish is a finish_reason as a string, the usual ones without an
// allocation.
func internFinish(b []byte) string {
	switch string(b) {
	case "stop":
		return "stop"
	case "length":
		return "length"
	case "tool_calls":
		return "tool_calls"
	case "content_filter":
		return "content_filter"
	case "function_call":
		return "function_call"
	}
	return string(b)
}
