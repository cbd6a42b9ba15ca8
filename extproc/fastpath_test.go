package extproc

import (
	"testing"
	"time"

	"github.com/llmgate/llmgate/config"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

// The fast path's answer namespace (llmgate.fp) carries the headers every
// plan entry shares once and per entry only what differs: Lua converts a
// namespace whole into a table each time it reads it, and the outcome log
// sends every namespace with each entry (docs/architecture.md D49).
func TestFastAnswerSharesCommonHeaders(t *testing.T) {
	entries := []fastEntry{
		{headers: pairsOf(map[string]string{"x-litellm-call-id": "c1", "x-litellm-model-id": "d1", "x-litellm-attempted-retries": "0"}), model: "gpt", cost: true, in: 1e-6, out: 2e-6},
		{headers: pairsOf(map[string]string{"x-litellm-call-id": "c1", "x-litellm-model-id": "d2", "x-litellm-attempted-retries": "1"}), model: "gpt"},
	}
	got := fastAnswer(entries, 5_000_000)
	common := got.Fields["h"].GetStructValue().GetFields()
	if len(common) != 1 || common["x-litellm-call-id"].GetStringValue() != "c1" {
		t.Fatalf("shared headers = %v, want only the call id", common)
	}
	list := got.Fields["a"].GetListValue().GetValues()
	if len(list) != 2 {
		t.Fatalf("%d entries, want 2", len(list))
	}
	for i, want := range []map[string]string{
		{"x-litellm-model-id": "d1", "x-litellm-attempted-retries": "0"},
		{"x-litellm-model-id": "d2", "x-litellm-attempted-retries": "1"},
	} {
		e := list[i].GetStructValue().GetFields()
		own := e["h"].GetStructValue().GetFields()
		if len(own) != len(want) {
			t.Errorf("entry %d headers = %v, want %v", i, own, want)
		}
		for k, v := range want {
			if own[k].GetStringValue() != v {
				t.Errorf("entry %d %s = %q, want %q", i, k, own[k].GetStringValue(), v)
			}
		}
		if e["m"].GetStringValue() != "gpt" {
			t.Errorf("entry %d model = %v", i, e["m"])
		}
	}
	if c := list[0].GetStructValue().GetFields(); !c["c"].GetBoolValue() || c["ci"].GetNumberValue() != 1e-6 || c["co"].GetNumberValue() != 2e-6 {
		t.Errorf("entry 0 prices = %v", c)
	}
	if _, ok := list[1].GetStructValue().GetFields()["c"]; ok {
		t.Error("entry 1 has prices it does not know")
	}
	if got.Fields["s"].GetNumberValue() != 5 {
		t.Errorf("start = %v ms, want 5", got.Fields["s"])
	}
	// One entry: every header is shared, the entry carries none.
	one := fastAnswer(entries[:1], 0)
	if len(one.Fields["h"].GetStructValue().GetFields()) != 3 {
		t.Errorf("one entry: shared = %v", one.Fields["h"])
	}
	if _, ok := one.Fields["a"].GetListValue().GetValues()[0].GetStructValue().GetFields()["h"]; ok {
		t.Error("one entry: the entry repeats the shared headers")
	}
}

// A fast-path success whose choice the provider filtered (finish_reason
// content_filter, written by the listener's Lua into llmgate.usage) is
// classified as the attempt filter classifies it: a content-policy outcome.
func TestOutcomeLogContentFilter(t *testing.T) {
	for _, stream := range []bool{false, true} {
		lt := loggedTry{
			rc:      &llmgatev1.RequestContext{Stream: stream},
			d:       &config.Deployment{ID: "d1"},
			attempt: &llmgatev1.Attempt{ModelGroup: "g"},
			t:       &tryLog{status: 200, latency: time.Millisecond},
			usage:   usageLog{known: true, promptTokens: 3, completionTokens: 1, finish: "content_filter"},
		}
		if o := lt.outcome(); o.Class != translator.ErrContentPolicy || o.Usage.PromptTokens != 3 {
			t.Errorf("stream %v: class %v usage %+v, want content policy with the usage", stream, o.Class, o.Usage)
		}
		lt.usage.finish = "stop"
		if o := lt.outcome(); o.Class != translator.ErrNone {
			t.Errorf("stream %v: a stopped answer classified %v", stream, o.Class)
		}
	}
}
