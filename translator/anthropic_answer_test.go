package translator

import (
	"bytes"
	"reflect"
	"testing"
)

// anthAnswers are Anthropic answers, quick (the quick way must take them)
// or not (it must leave them to the full way).
var anthAnswers = []struct {
	name  string
	body  string
	quick bool
}{
	{"bench", `{"id":"msg_fake0000000000000001","type":"message","role":"assistant","model":"claude-3-5-haiku-20241022","content":[{"type":"text","text":"fake response to: Summarise the benefits."}],"stop_reason":"end_turn","stop_sequence":null,"usage":{"input_tokens":30,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":14}}`, true},
	{"escapes", `{"id":"msg_1","type":"message","model":"m","content":[{"type":"text","text":"line 1\nline \"2\"\t\u00e9 \/ <b>&amp;</b> \u2028"}],"stop_reason":"max_tokens","usage":{"input_tokens":1,"output_tokens":2}}`, true},
	{"non-ASCII and HTML", "{\"id\":\"msg_<1>\",\"type\":\"message\",\"model\":\"claude-é\",\"content\":[{\"type\":\"text\",\"text\":\"héllo — 日本 \u2029 <&>\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}", true},
	{"invalid UTF-8", "{\"id\":\"msg_1\",\"type\":\"message\",\"model\":\"m\",\"content\":[{\"type\":\"text\",\"text\":\"a\xff\xfeb\"}],\"stop_reason\":\"end_turn\",\"usage\":{\"input_tokens\":1,\"output_tokens\":2}}", true},
	{"two texts and thinking", `{"id":"msg_2","type":"message","model":"m","content":[{"type":"thinking","thinking":"let me think","signature":"sig=="},{"type":"text","text":"a"},{"type":"text","text":"b","citations":[{"type":"char_location","cited_text":"x"}]}],"stop_reason":"stop_sequence","usage":{"input_tokens":5,"output_tokens":7,"cache_read_input_tokens":3,"cache_creation":{"ephemeral_5m_input_tokens":0},"service_tier":"standard"}}`, true},
	{"prompt cache", `{"id":"msg_c","type":"message","model":"m","content":[{"type":"text","text":"c"}],"stop_reason":"end_turn","usage":{"input_tokens":4,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":12}}`, true},
	{"whitespace", " {\n \"id\" : \"msg_3\" ,\r\n\t\"type\":\"message\", \"model\" :\"m\", \"content\" : [ { \"type\" : \"text\" , \"text\" : \"x\" } ] , \"stop_reason\" : null , \"usage\" : { \"input_tokens\" : 10 , \"output_tokens\" : 0 } } \n", true},
	{"empty content", `{"id":"msg_4","type":"message","model":"","content":[],"stop_reason":"refusal","usage":{"input_tokens":0,"output_tokens":0}}`, true},
	{"no model, no usage", `{"id":"msg_5","type":"message","content":[{"type":"text","text":""}],"stop_reason":"tool_use"}`, true},
	{"null tokens, negative", `{"id":"msg_6","type":"message","model":"m","content":[{"type":"text","text":"y"}],"stop_reason":"pause_turn","usage":{"input_tokens":null,"output_tokens":-3,"cache_read_input_tokens":7}}`, true},
	{"unknown stop reason", `{"id":"msg_7","type":"message","model":"m","content":[{"type":"text","text":"y"}],"stop_reason":"something_new","usage":{"input_tokens":1,"output_tokens":1}}`, true},
	{"tool_use", `{"id":"msg_8","type":"message","model":"m","content":[{"type":"text","text":"calling"},{"type":"tool_use","id":"toolu_1","name":"get","input":{"q":1}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`, false},
	{"json mode", `{"id":"msg_9","type":"message","model":"m","content":[{"type":"tool_use","id":"toolu_1","name":"json_tool_call","input":{"a":1}}],"stop_reason":"tool_use","usage":{"input_tokens":1,"output_tokens":1}}`, false},
	{"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, false},
	{"repeated key", `{"id":"a","id":"b","type":"message","model":"m","content":[],"usage":{"input_tokens":1,"output_tokens":1}}`, false},
	{"repeated block key", `{"id":"a","type":"message","model":"m","content":[{"type":"text","text":"1","text":"2"}]}`, false},
	{"folded key", `{"id":"a","type":"message","Model":"m","content":[]}`, false},
	{"folded usage key", `{"id":"a","type":"message","model":"m","content":[],"usage":{"Input_Tokens":4}}`, false},
	{"escaped key", `{"\u0069d":"a","type":"message","model":"m","content":[]}`, false},
	{"non-ASCII key", "{\"id\":\"a\",\"typé\":1,\"type\":\"message\",\"model\":\"m\",\"content\":[]}", false},
	{"fraction", `{"id":"a","type":"message","model":"m","content":[],"usage":{"input_tokens":1.0,"output_tokens":1}}`, false},
	{"exponent", `{"id":"a","type":"message","model":"m","content":[],"usage":{"input_tokens":1e2,"output_tokens":1}}`, false},
	{"huge number", `{"id":"a","type":"message","model":"m","content":[],"usage":{"input_tokens":123456789012345678901234567890,"output_tokens":1}}`, false},
	{"string number", `{"id":"a","type":"message","model":"m","content":[],"usage":{"input_tokens":"1","output_tokens":1}}`, false},
	{"id number", `{"id":1,"type":"message","model":"m","content":[]}`, false},
	{"null id", `{"id":null,"type":"message","model":"m","content":[]}`, false},
	{"null content", `{"id":"a","type":"message","model":"m","content":null}`, false},
	{"null text", `{"id":"a","type":"message","model":"m","content":[{"type":"text","text":null}]}`, false},
	{"content object", `{"id":"a","type":"message","model":"m","content":{"type":"text"}}`, false},
	{"block not object", `{"id":"a","type":"message","model":"m","content":["x"]}`, false},
	{"image block", `{"id":"a","type":"message","model":"m","content":[{"type":"image","source":{"type":"url","url":"http://x"}}]}`, false},
	{"redacted thinking", `{"id":"a","type":"message","model":"m","content":[{"type":"redacted_thinking","data":"xx"}]}`, false},
	{"array", `[{"id":"a"}]`, false},
	{"truncated", `{"id":"a","type":"message","model":"m","content":[{"type":"text","text":"x"}`, false},
	{"empty", ``, false},
	{"trailing garbage", `{"id":"a","type":"message"} x`, false},
}

// TestAnthropicResponseQuick: the quick way's answer equals the full way's
// byte for byte (created, the restamped model, usage, finish reason) for
// every answer it takes, it takes the common ones, and it leaves every
// other one — errors included — to the full way.
func TestAnthropicResponseQuick(t *testing.T) {
	targets := []Target{
		{Provider: "anthropic", Model: "claude-x"},
		{Provider: "anthropic", Model: "claude-x", Created: 1764432000, ResponseModel: "my-claude"},
		{Provider: "anthropic", Model: "claude-x", Created: 1764432000, ResponseModel: "a<b>&\"c\" é"},
	}
	for _, c := range anthAnswers {
		for _, tg := range targets {
			full, ferr := anthropicResponseFull([]byte(c.body), tg)
			quick, ok := anthropicResponseQuick([]byte(c.body), tg)
			if ok != c.quick {
				t.Errorf("%s: quick way took it: %v, want %v", c.name, ok, c.quick)
			}
			if !ok {
				continue
			}
			if ferr != nil {
				t.Errorf("%s: the quick way answered what the full way rejects (%v)", c.name, ferr)
				continue
			}
			if !bytes.Equal(quick.Body, full.Body) {
				t.Errorf("%s (%+v):\nquick %s\nfull  %s", c.name, tg, quick.Body, full.Body)
			}
			if quick.Usage != full.Usage || quick.FinishReason != full.FinishReason {
				t.Errorf("%s: quick %+v %q, full %+v %q", c.name, quick.Usage, quick.FinishReason, full.Usage, full.FinishReason)
			}
		}
	}
}

// TestAnthropicPromptCacheUsage (D141): Anthropic's three disjoint prompt
// counts make prompt_tokens (input + cache write + cache read) with
// cached_tokens and cache_creation_tokens in prompt_tokens_details, as
// LiteLLM's calculate_usage; /v1/messages turns them back.
func TestAnthropicPromptCacheUsage(t *testing.T) {
	body := []byte(`{"id":"msg_c","type":"message","model":"m","content":[{"type":"text","text":"c"}],"stop_reason":"end_turn","usage":{"input_tokens":4,"cache_creation_input_tokens":100,"cache_read_input_tokens":1000,"output_tokens":12}}`)
	r, err := (anthropicTranslator{}).Response(Chat, body, Target{Provider: "anthropic", Model: "m"})
	if err != nil {
		t.Fatal(err)
	}
	want := Usage{PromptTokens: 1104, CompletionTokens: 12, TotalTokens: 1116, CachedTokens: 1000, CacheCreationTokens: 100}
	if r.Usage != want {
		t.Errorf("usage %+v, want %+v", r.Usage, want)
	}
	if !bytes.Contains(r.Body, []byte(`"usage":{"prompt_tokens":1104,"completion_tokens":12,"total_tokens":1116,"prompt_tokens_details":{"cached_tokens":1000,"cache_creation_tokens":100}}`)) {
		t.Errorf("answer %s", r.Body)
	}
	if m := msgsUsageOf(want); m != (msgsUsage{InputTokens: 4, OutputTokens: 12, CacheCreationInputTokens: 100, CacheReadInputTokens: 1000}) {
		t.Errorf("as Anthropic usage again: %+v", m)
	}
	var s brkUsage
	s.InputTokens, s.CacheReadInputTokens, s.CacheWriteInputTokens, s.OutputTokens = 4, 1000, 100, 12
	if got := s.openai(); got != want {
		t.Errorf("Bedrock's usage %+v, want %+v", got, want)
	}
}

// TestAnthropicResponseThroughQuick: Response answers the common answer the
// quick way (no encoding/json round trip: a handful of allocations) and
// others the full way, with the full way's result.
func TestAnthropicResponseThroughQuick(t *testing.T) {
	tg := Target{Provider: "anthropic", Model: "claude-x", Created: 1, ResponseModel: "g"}
	body := []byte(anthAnswers[0].body)
	allocs := testing.AllocsPerRun(100, func() {
		if _, err := (anthropicTranslator{}).Response(Chat, body, tg); err != nil {
			t.Fatal(err)
		}
	})
	fullAllocs := testing.AllocsPerRun(100, func() {
		if _, err := anthropicResponseFull(body, tg); err != nil {
			t.Fatal(err)
		}
	})
	if allocs > fullAllocs/2 {
		t.Errorf("Response made %.0f allocations, the full way %.0f: not the quick way", allocs, fullAllocs)
	}
	for _, c := range anthAnswers {
		if c.quick {
			continue
		}
		got, gerr := (anthropicTranslator{}).Response(Chat, []byte(c.body), tg)
		want, werr := anthropicResponseFull([]byte(c.body), tg)
		if !reflect.DeepEqual(got, want) || !reflect.DeepEqual(gerr, werr) {
			t.Errorf("%s: Response %v %v, the full way %v %v", c.name, got, gerr, want, werr)
		}
	}
}

// FuzzAnthropicResponseQuick: whatever the quick way takes, it answers as
// the full way does.
func FuzzAnthropicResponseQuick(f *testing.F) {
	for _, c := range anthAnswers {
		f.Add([]byte(c.body))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		tg := Target{Provider: "anthropic", Model: "claude-x", Created: 7, ResponseModel: "g"}
		quick, ok := anthropicResponseQuick(body, tg)
		if !ok {
			return
		}
		full, err := anthropicResponseFull(body, tg)
		if err != nil {
			t.Fatalf("quick answered %s, full: %v", quick.Body, err)
		}
		if !bytes.Equal(quick.Body, full.Body) || quick.Usage != full.Usage || quick.FinishReason != full.FinishReason {
			t.Fatalf("quick %s\nfull  %s", quick.Body, full.Body)
		}
	})
}

// anthStreamEvents are Anthropic stream events, quick (text deltas, pings:
// the quick way must take them) or not.
var anthStreamEvents = []struct {
	name, data string
	quick      bool
}{
	{"text", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"hello"}}`, true},
	{"text escapes", `{"type":"content_block_delta","index":3,"delta":{"type":"text_delta","text":"a\nb \"c\" \u00e9 <&> \ud83d\ude00"}}`, true},
	{"text raw non-ASCII", "{\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"日本 \xe2\x80\xa8 \xff\"}}", true},
	{"text empty, no text", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta"}}`, true},
	{"whitespace, extra keys", " { \"type\" : \"content_block_delta\" , \"index\" : 0 , \"x\" : [1,{\"y\":2}], \"delta\" : { \"type\" : \"text_delta\" , \"text\" : \"z\" , \"citations\" : null } } ", true},
	{"ping", `{"type": "ping"}`, true},
	{"thinking", `{"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hm"}}`, false},
	{"tool args", `{"type":"content_block_delta","index":1,"delta":{"type":"input_json_delta","partial_json":"{\"a\""}}`, false},
	{"index string", `{"type":"content_block_delta","index":"0","delta":{"type":"text_delta","text":"x"}}`, false},
	{"index fraction", `{"type":"content_block_delta","index":0.5,"delta":{"type":"text_delta","text":"x"}}`, false},
	{"delta not object", `{"type":"content_block_delta","index":0,"delta":"x"}`, false},
	{"delta null", `{"type":"content_block_delta","index":0,"delta":null}`, false},
	{"text number", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":5}}`, false},
	{"repeated text", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a","text":"b"}}`, false},
	{"folded key", `{"type":"content_block_delta","Index":0,"delta":{"type":"text_delta","text":"a"}}`, false},
	{"folded delta key", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","Text":"a"}}`, false},
	{"no type", `{"index":0,"delta":{"type":"text_delta","text":"a"}}`, false},
	{"invalid", `{"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"a"}`, false},
	{"ping with usage", `{"type":"ping","usage":{"output_tokens":3}}`, false},
	{"message_delta", `{"type":"message_delta","delta":{"stop_reason":"end_turn"},"usage":{"output_tokens":5}}`, false},
	{"error", `{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}`, false},
}

// anthStreamOf is a stream with msg_start, the event, and the end: the
// events as the provider sends them.
func anthStreamOf(data string) string {
	return "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\",\"role\":\"assistant\",\"model\":\"claude-x\",\"content\":[],\"usage\":{\"input_tokens\":9,\"output_tokens\":1}}}\n\n" +
		"event: content_block_start\ndata: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\",\"text\":\"\"}}\n\n" +
		"event: e\ndata: " + data + "\n\n" +
		"event: message_delta\ndata: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"end_turn\"},\"usage\":{\"output_tokens\":5}}\n\n" +
		"event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
}

// feedAnth feeds a stream to an anthropic stream in chunks of step bytes.
func feedAnth(events string, step int, model string, created int64, quick bool) ([]byte, Usage, string, *Error) {
	st := (anthropicTranslator{}).NewStream(Chat, Target{Provider: "anthropic", Model: "claude-x", Stream: true}).(*anthropicStream)
	st.noQuick = !quick
	st.SetIncludeUsage(true)
	st.SetCreated(created)
	s := ModelStream(st, model)
	var out []byte
	for i := 0; i < len(events); i += step {
		end := min(i+step, len(events))
		o, _ := s.Feed([]byte(events[i:end]), end == len(events))
		out = append(out, o...)
	}
	return out, st.Usage(), st.FinishReason(), st.Err()
}

// TestAnthropicStreamQuick: a stream's events read the quick way give the
// bytes, usage, finish reason and error of the full way, however the events
// fall into chunks, with and without a restamped model and created; the
// quick way takes text deltas and pings and nothing else.
func TestAnthropicStreamQuick(t *testing.T) {
	for _, c := range anthStreamEvents {
		st := (anthropicTranslator{}).NewStream(Chat, Target{Model: "m"}).(*anthropicStream)
		if _, ok := st.quickEvent(nil, []byte(c.data)); ok != c.quick {
			t.Errorf("%s: quick way took it: %v, want %v", c.name, ok, c.quick)
		}
		events := anthStreamOf(c.data)
		for _, step := range []int{len(events), 1, 9, 64} {
			for _, model := range []string{"", "my-claude", "a<b>&é"} {
				got, gu, gf, ge := feedAnth(events, step, model, 1764432000, true)
				want, wu, wf, we := feedAnth(events, step, model, 1764432000, false)
				if !bytes.Equal(got, want) || gu != wu || gf != wf || !reflect.DeepEqual(ge, we) {
					t.Errorf("%s, chunks of %d, model %q:\nquick %s %+v %q %v\nfull  %s %+v %q %v", c.name, step, model, got, gu, gf, ge, want, wu, wf, we)
				}
			}
		}
	}
}

// TestAnthropicStreamStamps: with the model and created set on the stream,
// its chunks are what the model-restamping wrapper and a created stamp made
// of the stream's own chunks (the attempt filter's way before D107).
func TestAnthropicStreamStamps(t *testing.T) {
	events := anthStreamOf(anthStreamEvents[0].data)
	got, _, _, _ := feedAnth(events, len(events), "group", 1764432000, true)
	st := (anthropicTranslator{}).NewStream(Chat, Target{Provider: "anthropic", Model: "claude-x", Stream: true}).(*anthropicStream)
	st.SetIncludeUsage(true)
	raw, _ := st.Feed([]byte(events), true)
	var p SSEParser
	var want []byte
	for _, ev := range p.Feed(raw, true) {
		d := stampChunk(ev.Data, "group")
		d = bytes.ReplaceAll(d, []byte(`"created":0`), []byte(`"created":1764432000`))
		want = WriteSSE(want, ev.Event, d)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("stamped by the stream\n%s\nstamped after\n%s", got, want)
	}
}

// FuzzAnthropicStreamQuick: whatever event the quick way takes, the stream
// answers as the full way does.
func FuzzAnthropicStreamQuick(f *testing.F) {
	for _, c := range anthStreamEvents {
		f.Add([]byte(c.data))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		if bytes.ContainsAny(data, "\r\n") {
			return // one data line
		}
		st := (anthropicTranslator{}).NewStream(Chat, Target{Model: "m"}).(*anthropicStream)
		if _, ok := st.quickEvent(nil, data); !ok {
			return
		}
		events := anthStreamOf(string(data))
		got, gu, gf, ge := feedAnth(events, len(events), "g", 7, true)
		want, wu, wf, we := feedAnth(events, len(events), "g", 7, false)
		if !bytes.Equal(got, want) || gu != wu || gf != wf || !reflect.DeepEqual(ge, we) {
			t.Fatalf("quick %s\nfull  %s", got, want)
		}
	})
}
