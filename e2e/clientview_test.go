package e2e

import (
	"net/http"
	"strings"
	"testing"
)

// assertNoLeak fails t when an internal header (x-llmgate-*) or one of the
// provider keys secrets is in a client's answer headers or body.
func assertNoLeak(t *testing.T, what string, h http.Header, body string, secrets ...string) {
	t.Helper()
	for name, vs := range h {
		if strings.HasPrefix(strings.ToLower(name), "x-llmgate") {
			t.Errorf("%s: internal header %s reached the client", what, name)
		}
		for _, v := range vs {
			for _, s := range secrets {
				if strings.Contains(v, s) {
					t.Errorf("%s: a provider key reached the client in %s", what, name)
				}
			}
		}
	}
	for _, s := range secrets {
		if strings.Contains(body, s) {
			t.Errorf("%s: a provider key reached the client in the body", what)
		}
	}
}

// sdkStream is an SDK's server-sent-event stream (openai-go's and
// anthropic-sdk-go's ssestream.Stream).
type sdkStream[T any] interface {
	Next() bool
	Current() T
	Err() error
}

// readEventRuns reads s to its end, handing each event to each, and
// returns the runs of event types joined by commas (a type repeated in a
// row counted once) and the stream's error.
func readEventRuns[T any](s sdkStream[T], typeOf func(T) string, each func(T)) (string, error) {
	var types []string
	for s.Next() {
		ev := s.Current()
		if typ := typeOf(ev); len(types) == 0 || types[len(types)-1] != typ {
			types = append(types, typ)
		}
		each(ev)
	}
	return strings.Join(types, ","), s.Err()
}
