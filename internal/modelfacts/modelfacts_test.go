package modelfacts

import (
	"strings"
	"testing"
)

func TestLookup(t *testing.T) {
	tests := []struct {
		provider, model string
		ok              bool
		maxIn           int
		in, out         float64
		mode            string
	}{
		{"openai", "gpt-4o", true, 128000, 2.5e-6, 1e-5, "chat"},
		{"openai", "gpt-4o-mini", true, 128000, 1.5e-7, 6e-7, "chat"},
		{"openai", "text-embedding-3-small", true, 8191, 2e-8, 0, "embedding"},
		{"anthropic", "claude-3-5-sonnet-20241022", true, 200000, 3e-6, 1.5e-5, "chat"},
		{"anthropic", "claude-3-haiku-20240307", true, 200000, 2.5e-7, 1.25e-6, "chat"},
		{"bedrock", "anthropic.claude-3-haiku-20240307-v1:0", true, 200000, 2.5e-7, 1.25e-6, "chat"},
		{"bedrock", "us.anthropic.claude-3-haiku-20240307-v1:0", true, 200000, 2.5e-7, 1.25e-6, "chat"},
		{"cohere", "command-r", true, 128000, 1.5e-7, 6e-7, "chat"},
		{"vertex_ai", "gemini-1.5-pro", true, 2097152, 1.25e-6, 5e-6, "chat"},
		{"openai", "no-such-model", false, 0, 0, 0, ""},
	}
	for _, tc := range tests {
		t.Run(tc.provider+"/"+tc.model, func(t *testing.T) {
			f, ok := Lookup(tc.provider, tc.model)
			if ok != tc.ok {
				t.Fatalf("found %v, want %v", ok, tc.ok)
			}
			if !ok {
				return
			}
			if f.MaxInputTokens != tc.maxIn || f.InputCostPerToken != tc.in || f.OutputCostPerToken != tc.out || f.Mode != tc.mode {
				t.Fatalf("got %+v", f)
			}
		})
	}
}

func TestFamiliesPresent(t *testing.T) {
	for _, k := range []string{"gpt-4.1", "o3-mini", "o1", "gpt-3.5-turbo", "text-embedding-3-large",
		"anthropic/claude-3-7-sonnet-20250219", "anthropic/claude-sonnet-4-20250514", "claude-opus-4-5", "gemini-2.5-pro",
		"gemini/gemini-2.5-flash", "mistral/mistral-large-latest"} {
		provider, model := "", k
		if i := strings.IndexByte(k, '/'); i > 0 {
			provider, model = k[:i], k[i+1:]
		}
		if f, ok := Lookup(provider, model); !ok || f.MaxInputTokens == 0 {
			t.Errorf("%s missing (%+v)", k, f)
		}
	}
	if src, date := Source(); !strings.Contains(src, "BerriAI/litellm") || date == "" {
		t.Errorf("source %q date %q", src, date)
	}
	if Len() < 300 {
		t.Errorf("only %d models", Len())
	}
}
