package translator

import "testing"

// Every translator reads the api_base's path and image data URLs through
// these two helpers; they used to exist twice with different answers.
func TestAPIBasePath(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		"https://api.example.com":         "",
		"https://api.example.com/":        "",
		"http://localhost:8000/v1/":       "/v1",
		"example.com/v1":                  "/v1", // a missing scheme means https, as internal/upstream reads it
		"localhost:11434/api":             "/api",
		"https://h.example.com/a%20b/v1":  "/a%20b/v1",
		"https://h.example.com/v1?x=1#fr": "/v1",
	} {
		if got := apiBasePath(in); got != want {
			t.Errorf("apiBasePath(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestSplitDataURL(t *testing.T) {
	for _, c := range []struct {
		in, media, data string
		ok              bool
	}{
		{"data:image/png;base64,AAAA", "image/png", "AAAA", true},
		{"data:;base64,AAAA", "", "AAAA", true}, // media as written; callers decide
		{"data:image/png,AAAA", "", "", false},  // not base64
		{"data:image/png;base64", "", "", false},
		{"https://x.example/a.png", "", "", false},
	} {
		media, data, ok := splitDataURL(c.in)
		if media != c.media || data != c.data || ok != c.ok {
			t.Errorf("splitDataURL(%q) = %q, %q, %v; want %q, %q, %v", c.in, media, data, ok, c.media, c.data, c.ok)
		}
	}
}
