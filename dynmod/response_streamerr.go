package main

import (
	"sync"
	"sync/atomic"

	"github.com/llmgate/llmgate/translator"
)

// A translated stream that ends with the provider's error inside it (an
// Anthropic `error` event after the 200 headers) is a failed try
// (docs/architecture.md D66). The module's upstream filter, which translates
// the stream, sees the error; the listener's filter, a different Envoy
// filter of the same request, writes the outcome record (response_outcome.go).
// The upstream filter leaves the error's status here under the request's
// x-request-id, and the record takes it at the request's end. Only failed
// translated streams are put, so a request's end pays one atomic load
// (onStreamComplete reads streamErrs.n before anything else).

const maxStreamErrors = 4096

var streamErrs struct {
	mu sync.Mutex
	m  map[string]streamErr
	n  atomic.Int32
}

// streamErr is a translated stream's in-stream error: its status and the
// translator's class (translator.ErrorClass, D71).
type streamErr struct{ status, class int }

// noteStreamError records the status and class of a translated stream's
// in-stream error for the request id (dropped beyond maxStreamErrors: the
// try is then reported as it was before D66).
func noteStreamError(id string, status, class int) {
	streamErrs.mu.Lock()
	defer streamErrs.mu.Unlock()
	if streamErrs.m == nil {
		streamErrs.m = map[string]streamErr{}
	}
	if len(streamErrs.m) >= maxStreamErrors {
		return
	}
	streamErrs.m[id] = streamErr{status, class}
	streamErrs.n.Store(int32(len(streamErrs.m)))
}

// takeStreamError returns and forgets the in-stream error noted for the
// request id (status 0: none).
func takeStreamError(id []byte) streamErr {
	streamErrs.mu.Lock()
	defer streamErrs.mu.Unlock()
	se, ok := streamErrs.m[string(id)]
	if ok {
		delete(streamErrs.m, string(id))
		streamErrs.n.Store(int32(len(streamErrs.m)))
	}
	return se
}

// passThroughStreamError is the error event the response side read in a
// fast stream the module did not translate (an OpenAI-compatible provider's
// `data: {"error": ...}` after its 200 headers, extproc.RespStream.Err):
// LiteLLM's status and class for it (translator.StreamFailureOf, D82). A
// translated stream's error is the upstream filter's note, which comes first.
func passThroughStreamError(s *stream) streamErr {
	if s.resp.streamErr == nil {
		return streamErr{}
	}
	f := translator.StreamFailureOf("", s.resp.streamErr)
	return streamErr{f.Status, int(f.Class)}
}
