package keystore

import (
	"encoding/json"
	"math"
	"testing"
	"time"
)

// The embedded store's spend-log lines are byte for byte what encoding/json
// wrote before (the file is read back with json.Unmarshal).
func TestSpendLogLineEncoding(t *testing.T) {
	start := time.Date(2026, 11, 28, 8, 0, 30, 123456789, time.FixedZone("x", 3600))
	for _, l := range []SpendLog{
		{},
		{RequestID: "r1", CallType: "acompletion", APIKey: "abc", Spend: 0.00193, TotalTokens: 208, PromptTokens: 20, CompletionTokens: 188,
			StartTime: start, EndTime: start.Add(time.Second), Model: "gpt-4o", ModelID: "id", ModelGroup: "g", Provider: "openai",
			User: "u", TeamID: "t", EndUser: "e", RequestTags: []string{"a", "<b>"}, Status: "success"},
		{RequestID: "quote\" back\\slash\n", User: "ü\u2028", EndUser: "bad\xffutf8", Spend: 1e-9, RequestTags: []string{},
			Metadata: map[string]any{"z": 1, "a": []any{"x", 2.5}}},
		{Spend: 12345678.5, TotalTokens: math.MaxInt64, PromptTokens: -1},
		{Spend: 1e21}, {Spend: 1.5e-7}, {Spend: 0.000001},
	} {
		got := AppendSpendLog(nil, &l)
		want, err := json.Marshal(&l)
		if err != nil {
			t.Fatal(err)
		}
		if string(got) != string(want)+"\n" {
			t.Errorf("encoding\n got %s\nwant %s", got, want)
		}
	}
	if got := string(AppendJSONFloat(nil, math.NaN())) + string(AppendJSONFloat(nil, math.Inf(-1))); got != "00" {
		t.Errorf("NaN and -Inf written as %q", got)
	}
}
