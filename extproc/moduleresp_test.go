package extproc

import (
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/structpb"
)

// TestRespondJSON: the top-level model restamped (nested and in-string ones
// kept), the usage read, the cost priced as the Lua priced it (%.12g).
func TestRespondJSON(t *testing.T) {
	body := `{"id":"z","choices":[{"index":0,"message":{"content":"say \"model\": \"x\"","model":"nested"},"finish_reason":"content_filter"}],"model" : "up\"m","usage":{"prompt_tokens":11,"completion_tokens":5,"total_tokens":16,"details":{"prompt_tokens":99}}}`
	e := &RespEntry{Model: "my\"group\n", Cost: true, In: 0.001, Out: 0.002}
	out, u, cost := RespondJSON([]byte(body), e)
	want := strings.Replace(body, `"up\"m"`, `"my\"group\u000a"`, 1)
	if string(out) != want {
		t.Errorf("restamped:\n%s\nwant\n%s", out, want)
	}
	if !u.HasPrompt || u.Prompt != 11 || u.Completion != 5 || u.Total != 16 || u.Model != `up\"m` || u.Finish != "content_filter" {
		t.Errorf("usage %+v", u)
	}
	if cost != "0.021" {
		t.Errorf("cost %q", cost)
	}
	if out, _, cost := RespondJSON([]byte(`{"model":"g","usage":{"prompt_tokens":0}}`), &RespEntry{Model: "g", Cost: true, In: 1}); out != nil || cost != "" {
		t.Errorf("unchanged answer rewritten: %s %q", out, cost)
	}
	// The usage Struct is what the outcome log reads.
	var s structpb.Struct
	if err := proto.Unmarshal(u.Struct(), &s); err != nil {
		t.Fatal(err)
	}
	if s.Fields["prompt_tokens"].GetNumberValue() != 11 || s.Fields["model"].GetStringValue() != `up\"m` || s.Fields["finish"].GetStringValue() != "content_filter" {
		t.Errorf("usage struct %v", &s)
	}
}

// TestRespStream: events split across chunks, CRLF, the usage chunk the
// client did not ask for dropped with every "usage" key, created 0 stamped,
// a nested model kept, a last event without its blank line.
func TestRespStream(t *testing.T) {
	in := `data: {"id":"x","created":0,"model":"up","choices":[{"delta":{"content":"he"}}],"usage":null}` + "\n\n" +
		`data: {"choices":[{"delta":{"content":"llo","model":"nested"}}],"usage":null,"model":"up","id":"x"}` + "\n\n" +
		`data: {"id":"x","model":"up","choices":[{"delta":{},"finish_reason":"stop"}],"usage" : null}` + "\r\n\r\n" +
		`data: {"id":"x","model":"up","choices":[],"usage":{"prompt_tokens":7,"completion_tokens":3,"total_tokens":10}}` + "\n\n" +
		"data: [DONE]\n\n" + `data: {"model":"up"}`
	p := &RespPlan{StartMs: 1700000000123, Stream: true, Entries: []RespEntry{{Model: "g"}}}
	for _, cut := range []int{1, 7, 50, 120, len(in)} {
		st := p.NewRespStream(p.Entry(1))
		var got []byte
		for i := 0; i < len(in); i += cut {
			c := []byte(in[i:min(i+cut, len(in))])
			out, changed := st.Write(c)
			if !changed {
				out = c
			}
			got = append(got, out...)
		}
		got = append(got, st.End()...)
		want := `data: {"id":"x","created":1700000000,"model":"g","choices":[{"delta":{"content":"he"}}]}` + "\n\n" +
			`data: {"choices":[{"delta":{"content":"llo","model":"nested"}}],"model":"g","id":"x"}` + "\n\n" +
			`data: {"id":"x","model":"g","choices":[{"delta":{},"finish_reason":"stop"}]}` + "\r\n\r\n" +
			"data: [DONE]\n\n" + `data: {"model":"g"}`
		if string(got) != want {
			t.Errorf("cut %d:\n%s\nwant\n%s", cut, got, want)
		}
		if st.Usage.Prompt != 7 || st.Usage.Completion != 3 || st.Usage.Model != "up" {
			t.Errorf("cut %d: usage %+v", cut, st.Usage)
		}
	}
	// The client asked for usage: the usage chunk and the nulls stay.
	p.Usage = true
	st := p.NewRespStream(p.Entry(1))
	out, _ := st.Write([]byte(in))
	if !strings.Contains(string(out), `"usage":{"prompt_tokens":7`) || !strings.Contains(string(out), `"usage":null`) {
		t.Errorf("usage stripped although asked for: %s", out)
	}
}

// TestRespPlanOf: llmgate.fp (fastAnswer) read back; its JSON form for the
// module the same plan.
func TestRespPlanOf(t *testing.T) {
	a := fastAnswer([]fastEntry{
		{headers: pairsOf(map[string]string{"x-litellm-model-id": "a", "x-litellm-model-group": "g"}), model: "g", cost: true, in: 1, out: 2},
		{headers: pairsOf(map[string]string{"x-litellm-model-id": "b", "x-litellm-model-group": "g"}), model: "g"},
	}, 1700000000123456789)
	p := respPlanOf(a)
	if p.StartMs != 1700000000123 || len(p.Entries) != 2 || len(p.Common) != 1 || p.Common[0] != [2]string{"x-litellm-model-group", "g"} ||
		p.Entries[1].Headers[0] != [2]string{"x-litellm-model-id", "b"} || !p.Entries[0].Cost || p.Entries[0].Out != 2 {
		t.Errorf("plan %+v", p)
	}
	j := moduleAnswerStruct(p).Fields[RespPlanKey].GetStringValue()
	q, err := ParseRespPlan([]byte(j))
	if err != nil || q.Entry(2).Headers[0][1] != "b" || q.Entry(3) != nil || q.DurationHeader(1700000000130) != "7.000" {
		t.Errorf("parsed %+v %v", q, err)
	}
}

// BenchmarkModuleResponse is the response side's work on a served fast
// request: a JSON answer restamped, priced and its usage serialized, and a
// stream of 12 usual chunks rewritten (D54).
func BenchmarkModuleResponse(b *testing.B) {
	body := []byte(`{"id":"chatcmpl-1","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"message":{"role":"assistant","content":"Hello there, how can I help you today?"},"finish_reason":"stop"}],"usage":{"prompt_tokens":12,"completion_tokens":9,"total_tokens":21}}`)
	e := &RespEntry{Model: "gpt", Cost: true, In: 1e-6, Out: 2e-6}
	b.Run("json", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			_, u, _ := RespondJSON(body, e)
			_ = u.Struct()
		}
	})
	chunk := []byte(`data: {"id":"chatcmpl-1","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini-2024-07-18","choices":[{"index":0,"delta":{"content":"Hello"},"finish_reason":null}],"usage":null}` + "\n\n")
	p := &RespPlan{StartMs: 1700000000000, Stream: true, Entries: []RespEntry{*e}}
	b.Run("stream12", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			st := p.NewRespStream(p.Entry(1))
			for j := 0; j < 12; j++ {
				_, _ = st.Write(chunk)
			}
			_ = st.End()
		}
	})
}
