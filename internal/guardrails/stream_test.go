package guardrails

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// TestStreamFeed: a streamed answer fed byte by byte (events split
// anywhere) is read every sampling_rate chunks and at its end, passes
// whole when allowed, and ends with LiteLLM's error frame when blocked.
func TestStreamFeed(t *testing.T) {
	var mu sync.Mutex
	var seen []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			Texts []string `json:"texts"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		mu.Lock()
		seen = append(seen, strings.Join(req.Texts, "|"))
		mu.Unlock()
		if strings.Contains(strings.Join(req.Texts, ""), "bad") {
			_, _ = w.Write([]byte(`{"action":"BLOCKED","blocked_reason":"nö"}`))
			return
		}
		_, _ = w.Write([]byte(`{"action":"NONE"}`))
	}))
	defer srv.Close()
	body := func(pieces ...string) string {
		var b strings.Builder
		for _, p := range pieces {
			fmt.Fprintf(&b, "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":%q}}]}\n\n", p)
		}
		return b.String()
	}
	for _, c := range []struct {
		name   string
		pieces []string
		rate   int
		want   string   // the client's bytes
		rounds []string // the texts each round read
	}{
		{"passes", []string{"a", "b", "c", "d", "e"}, 2, body("a", "b", "c", "d", "e") + "data: [DONE]\n\n", []string{"ab", "abcd", "abcde"}},
		{"the last round read it all", []string{"a", "b", "c", "d"}, 2, body("a", "b", "c", "d") + "data: [DONE]\n\n", []string{"ab", "abcd"}},
		{"blocked mid-way", []string{"a", "b", "bad", "d", "e"}, 2, body("a", "b", "bad") + `data: {"error": {"message": "n\u00f6", "type": "invalid_request_error", "param": null, "code": "400"}}` + "\n\ndata: [DONE]\n\n", []string{"ab", "abbadd"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			seen = nil
			set := &Set{client: srv.Client()}
			call := &Call{set: set, post: []*config.Guardrail{{Name: "g", Kind: "generic_guardrail_api", APIBase: srv.URL, StreamingSamplingRate: c.rate}}}
			s := call.NewStream()
			in := []byte(body(c.pieces...) + "data: [DONE]\n\n")
			var out []byte
			for i := range in {
				out = append(out, s.Feed(context.Background(), in[i:i+1], i == len(in)-1)...)
			}
			if string(out) != c.want {
				t.Errorf("the client got\n%s\nwant\n%s", out, c.want)
			}
			if strings.Join(seen, ",") != strings.Join(c.rounds, ",") {
				t.Errorf("rounds %q, want %q", seen, c.rounds)
			}
		})
	}
}

// TestErrorFrames: Python's json.dumps of the error (ensure_ascii, its
// separators).
func TestErrorFrames(t *testing.T) {
	got := string(errorFrames(&translator.Error{Status: 500, Message: "a \"q\"\n\U0001F600"}))
	want := `data: {"error": {"message": "a \"q\"\n\ud83d\ude00", "type": "internal_server_error", "param": null, "code": "500"}}` + "\n\ndata: [DONE]\n\n"
	if got != want {
		t.Errorf("got %q\nwant %q", got, want)
	}
}
