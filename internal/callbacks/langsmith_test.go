package callbacks

import (
	"testing"
	"time"
)

// TestLangSmithShapes: LiteLLM's runs/batch URL and make_dot_order.
func TestLangSmithShapes(t *testing.T) {
	for base, want := range map[string]string{
		"https://api.smith.langchain.com": "https://api.smith.langchain.com/api/v1/runs/batch",
		"https://eu.smith.langchain.com/": "https://eu.smith.langchain.com/api/v1/runs/batch",
		"http://ls.local/api/v1":          "http://ls.local/api/v1/runs/batch",
		"http://ls.local/api/v1/":         "http://ls.local/api/v1/runs/batch",
	} {
		if got := LangSmithRunsURL(base); got != want {
			t.Errorf("LangSmithRunsURL(%q) = %q, want %q", base, got, want)
		}
	}
	at := time.Date(2026, 11, 30, 4, 5, 6, 7_000, time.FixedZone("x", 3600))
	if got := dottedOrder(at, "id-1"); got != "20261130T030506000007Zid-1" {
		t.Errorf("dottedOrder = %q", got)
	}
}
