package upstream

import "testing"

func TestRedactAndQuery(t *testing.T) {
	for _, c := range []struct{ in, want string }{
		{"https://api.example.com/v1", "https://api.example.com/v1"},
		{"https://api.example.com/v1?key=sk-secret&x=1", "https://api.example.com/v1?key=REDACTED&x=REDACTED"},
		{"https://user:pw@api.example.com/v1", "https://REDACTED@api.example.com/v1"},
		{"https://api.example.com/a@b/v1", "https://api.example.com/a@b/v1"},
		{"api.example.com/v1?subscription-key=abc#frag", "api.example.com/v1?subscription-key=REDACTED"},
	} {
		if got := Redact(c.in); got != c.want {
			t.Errorf("Redact(%q) = %q, want %q", c.in, got, c.want)
		}
	}
	b, err := Parse("https://h.example.com/v1?key=sk-1")
	if err != nil || b.Query != "key=sk-1" || b.BasePath != "/v1" {
		t.Fatalf("Parse: %+v %v", b, err)
	}
	if got := b.WithQuery("/v1/chat/completions"); got != "/v1/chat/completions?key=sk-1" {
		t.Errorf("WithQuery = %q", got)
	}
	if got := b.WithQuery("/openai/deployments/d/chat/completions?api-version=1"); got != "/openai/deployments/d/chat/completions?api-version=1&key=sk-1" {
		t.Errorf("WithQuery after a query = %q", got)
	}
	if got := WithoutQuery("https://h/v1?key=1"); got != "https://h/v1" {
		t.Errorf("WithoutQuery = %q", got)
	}
}
