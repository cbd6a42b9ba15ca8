package translator

import (
	"bytes"
	"testing"
)

// TestPassThroughBody: the body alone is the body Request writes, for
// OpenAI and Azure, streamed or not, with dropped params; other providers
// are not pass-through.
func TestPassThroughBody(t *testing.T) {
	for _, prov := range []string{"openai", "azure"} {
		for _, body := range []string{
			`{"model":"x","messages":[],"stream":true,"mock_response":"hi","drop_me":1}`,
			` {"model":"x","input":"a"}`,
			`[1]`, `{"model":`,
		} {
			tg := Target{Provider: prov, Model: "m", Stream: true, AdditionalDropParams: []string{"drop_me"}}
			got, ok, err := PassThroughBody(prov, Chat, []byte(body), tg)
			up, werr := For(prov).Request(Chat, []byte(body), tg)
			if !ok || (err == nil) != (werr == nil) {
				t.Fatalf("%s %s: ok %v err %v, Request err %v", prov, body, ok, err, werr)
			}
			if err == nil && !bytes.Equal(got, up.Body) {
				t.Errorf("%s %s: %s, Request %s", prov, body, got, up.Body)
			}
		}
	}
	if _, ok, _ := PassThroughBody("anthropic", Chat, []byte(`{}`), Target{}); ok {
		t.Error("anthropic is pass-through")
	}
}
