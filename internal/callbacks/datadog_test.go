package callbacks

import (
	"encoding/json"
	"strings"
	"testing"
)

// TestDatadogTagValue: LiteLLM's normalize_datadog_tag_value.
func TestDatadogTagValue(t *testing.T) {
	for in, want := range map[string]string{
		"Search Team":   "search_team",
		"__a!!b__":      "a_b",
		"env:prod/eu.1": "env:prod/eu.1",
		"Été-Ω":         "été-ω",
		"!!!":           "",
	} {
		if got := datadogTagValue(in); got != want {
			t.Errorf("datadogTagValue(%q) = %q, want %q", in, got, want)
		}
	}
	d := &DatadogSettings{Env: "e", Service: "s", Version: "v", Hostname: "h", PodName: "p"}
	if got := DatadogTags(d, []string{"A B"}, "T"); got != "env:e,service:s,version:v,HOSTNAME:h,POD_NAME:p,request_tag:a_b,team:t" {
		t.Errorf("DatadogTags = %q", got)
	}
}

// TestTruncateStandard: an error_str past 10,000 characters is cut with
// LiteLLM's marker; the payload stays JSON, never cut inside an escape.
func TestTruncateStandard(t *testing.T) {
	long := strings.Repeat("x", 9_998) + `é"` + strings.Repeat("y", 50)
	p, _ := json.Marshal(map[string]any{"error_str": long, "status": "failure"})
	out := truncateStandard(p)
	var m map[string]string
	if err := json.Unmarshal(out, &m); err != nil {
		t.Fatalf("not JSON after the cut: %v\n%s", err, out)
	}
	if !strings.HasSuffix(m["error_str"], datadogTruncated) || len(m["error_str"]) > 10_000+len(datadogTruncated) || m["status"] != "failure" {
		t.Errorf("error_str %d bytes, suffix %q; status %q", len(m["error_str"]), m["error_str"][max(0, len(m["error_str"])-80):], m["status"])
	}
	short, _ := json.Marshal(map[string]any{"error_str": "short"})
	if string(truncateStandard(short)) != string(short) {
		t.Error("a short error_str was changed")
	}
}
