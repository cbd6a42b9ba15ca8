package extproc

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
	"sort"

	"github.com/tidwall/gjson"

	"github.com/llmgate/llmgate/internal/tokenizer"
	"github.com/llmgate/llmgate/router"
)

// optional_pre_call_checks' prompt_caching (D179): the keys of a chat
// request's cacheable prompt prefix, as LiteLLM's PromptCachingCache derives
// them (router_utils/prompt_caching_cache.py). The prefix is the messages up
// to and including the last content block (or message) marked
// cache_control {"type": "ephemeral"}; each content block of it has a key,
// the SHA-256 chain of the blocks before it and itself with their
// cache_control marks left out, seeded with the tools' hash, so a block's
// key is the same whichever later turn's breakpoint the prefix ends at. A
// tool list whose last marked tool ends a breakpoint has its own key first.
// Positions count a run of tool_use (or tool_result) blocks as one; the
// lookback keys are those of the last router.PromptLookback positions,
// newest first. The bytes hashed are this gateway's canonical JSON (keys
// sorted), not Python's: the keys are only ever compared with this
// gateway's own.

var cacheControlMark = []byte(`"cache_control"`)

// promptPrefix is the request's cacheable prefix for the plan: nil when the
// body has no breakpoint or holds fewer than router.PromptMinTokens tokens
// (LiteLLM's is_prompt_caching_valid_prompt, with its default minimum).
func promptPrefix(model string, body []byte) *router.PromptPrefix {
	if !bytes.Contains(body, cacheControlMark) || tokenizer.RequestBound(body) < router.PromptMinTokens {
		return nil
	}
	keys, hour := promptKeys(body)
	if len(keys) == 0 {
		return nil
	}
	if n, _ := tokenizer.CountRequest(model, body); n < router.PromptMinTokens {
		return nil
	}
	return &router.PromptPrefix{Keys: keys, Hour: hour}
}

// promptKeys are the lookback keys of the body's cacheable prefix, newest
// first, and whether a breakpoint asks for ttl "1h".
func promptKeys(body []byte) (keys []string, hour bool) {
	r := gjson.ParseBytes(body)
	msgs := r.Get("messages").Array()
	if sys := r.Get("system"); (sys.Type == gjson.String && sys.Str != "") || (sys.IsArray() && len(sys.Array()) > 0) {
		// /v1/messages' system prompt is the prefix's first message
		// (prepend_system_prompt).
		if len(msgs) == 0 || msgs[0].Get("role").Str != "system" || msgs[0].Get("content").Raw != sys.Raw {
			sm := gjson.Parse(`{"role":"system","content":` + sys.Raw + `}`)
			msgs = append([]gjson.Result{sm}, msgs...)
		}
	}
	tools := r.Get("tools").Array()
	type position struct {
		key string
		pos int
	}
	var ps []position
	// The tools up to the last marked one: a breakpoint of their own.
	lastTool := -1
	for i, t := range tools {
		if ephemeral(t.Get("cache_control")) || ephemeral(t.Get("function.cache_control")) {
			lastTool = i
		}
		hour = hour || hourMark(t)
	}
	if lastTool >= 0 {
		ps = append(ps, position{key: pinKey(toolsSeed(tools[:lastTool+1])), pos: 0})
	}
	// The messages up to the last marked block.
	lastMsg, lastBlock := -1, -1
	for i, m := range msgs {
		if ephemeral(m.Get("cache_control")) {
			lastMsg, lastBlock = i, -1
		}
		if c := m.Get("content"); c.IsArray() {
			for j, b := range c.Array() {
				if b.IsObject() && ephemeral(b.Get("cache_control")) {
					lastMsg, lastBlock = i, j
				}
			}
		}
	}
	if lastMsg >= 0 {
		d := toolsSeed(tools)
		prevRun, pos := "", 0
		var unit []byte
		for i, m := range msgs[:lastMsg+1] {
			hour = hour || hourMark(m)
			env := canonical(nil, m, "content", "cache_control")
			msgRun := ""
			if m.Get("role").Str == "tool" {
				msgRun = "tool_result"
			}
			blocks := m.Get("content")
			add := func(b []byte, run string) {
				h := sha256.New()
				h.Write(d[:])
				h.Write(b)
				h.Sum(d[:0])
				if run == "" || run != prevRun {
					pos++
				}
				prevRun = run
				ps = append(ps, position{key: pinKey(d), pos: pos})
			}
			switch {
			case blocks.IsArray() && len(blocks.Array()) > 0:
				bs := blocks.Array()
				if i == lastMsg && lastBlock >= 0 {
					bs = bs[:lastBlock+1]
				}
				for _, b := range bs {
					hour = hour || hourMark(b)
					run := msgRun
					if b.IsObject() {
						if t := b.Get("type").Str; run == "" && (t == "tool_use" || t == "tool_result") {
							run = t
						}
					}
					unit = append(append(append(unit[:0], '['), env...), ',')
					unit = append(canonical(unit, b, "cache_control"), ']')
					add(unit, run)
				}
			case blocks.Type == gjson.String && blocks.Str != "":
				// A string is hashed as the one text block it stands for.
				unit = append(append(append(unit[:0], '['), env...), `,{"text":`...)
				unit = append(appendString(unit, blocks.Str), `,"type":"text"}]`...)
				add(unit, msgRun)
			default:
				unit = append(append(append(unit[:0], '['), env...), ",null]"...)
				add(unit, msgRun)
			}
		}
	}
	if len(ps) == 0 {
		return nil, false
	}
	oldest := ps[len(ps)-1].pos - router.PromptLookback
	for i := len(ps) - 1; i >= 0 && ps[i].pos > oldest; i-- {
		keys = append(keys, ps[i].key)
	}
	return keys, hour
}

// toolsSeed is the hash of the tools with their cache_control marks left
// out (that of nothing without tools).
func toolsSeed(tools []gjson.Result) (d [32]byte) {
	if len(tools) == 0 {
		return sha256.Sum256(nil)
	}
	b := []byte{'['}
	for i, t := range tools {
		if i > 0 {
			b = append(b, ',')
		}
		b = canonicalTool(b, t)
	}
	return sha256.Sum256(append(b, ']'))
}

// canonicalTool is a tool's canonical JSON without its cache_control, nor
// its function's.
func canonicalTool(b []byte, t gjson.Result) []byte {
	return canonicalObject(b, t, []string{"cache_control"}, func(b []byte, k string, v gjson.Result) []byte {
		if k == "function" {
			return canonical(b, v, "cache_control")
		}
		return canonical(b, v)
	})
}

// canonical appends v as JSON with its objects' keys sorted, leaving out
// the top-level keys skip names.
func canonical(b []byte, v gjson.Result, skip ...string) []byte {
	switch {
	case v.IsObject():
		return canonicalObject(b, v, skip, func(b []byte, _ string, v gjson.Result) []byte { return canonical(b, v) })
	case v.IsArray():
		b = append(b, '[')
		for i, e := range v.Array() {
			if i > 0 {
				b = append(b, ',')
			}
			b = canonical(b, e)
		}
		return append(b, ']')
	case v.Type == gjson.String:
		return appendString(b, v.Str)
	case !v.Exists():
		return append(b, "null"...)
	}
	return append(b, v.Raw...)
}

// canonicalObject appends an object (a non-object: as canonical does) with
// its keys sorted, but those skip names, each value appended by value.
func canonicalObject(b []byte, v gjson.Result, skip []string, value func(b []byte, k string, v gjson.Result) []byte) []byte {
	if !v.IsObject() {
		return canonical(b, v)
	}
	type kv struct{ k, v gjson.Result }
	var fs []kv
	v.ForEach(func(k, val gjson.Result) bool {
		if !slices.Contains(skip, k.Str) {
			fs = append(fs, kv{k, val})
		}
		return true
	})
	sort.SliceStable(fs, func(i, j int) bool { return fs[i].k.Str < fs[j].k.Str })
	b = append(b, '{')
	for i, f := range fs {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(appendString(b, f.k.Str), ':')
		b = value(b, f.k.Str, f.v)
	}
	return append(b, '}')
}

func appendString(b []byte, s string) []byte {
	q, _ := json.Marshal(s)
	return append(b, q...)
}

func ephemeral(cc gjson.Result) bool { return cc.IsObject() && cc.Get("type").Str == "ephemeral" }

// hourMark: a carrier's breakpoint asks for an hour.
func hourMark(c gjson.Result) bool {
	if !c.IsObject() {
		return false
	}
	cc := c.Get("cache_control")
	if !cc.Exists() {
		cc = c.Get("function.cache_control")
	}
	return ephemeral(cc) && cc.Get("ttl").Str == "1h"
}

// pinKey names a prefix digest in the pin table.
func pinKey(d [32]byte) string { return "p" + hex.EncodeToString(d[:16]) }
