package extproc

import (
	"sync"
	"testing"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/outcome"
)

// sendCounter is a benchStream whose replies can be counted while Process
// runs on another goroutine.
type sendCounter struct {
	*benchStream
	mu sync.Mutex
	n  int
}

func (s *sendCounter) Send(r *extprocv3.ProcessingResponse) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.n++
	return s.benchStream.Send(r)
}

func (s *sendCounter) sent() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// withKey sets a virtual key's hash in the try's request context.
func withKey(t *testing.T, st *benchStream, hash string) {
	t.Helper()
	ns := st.in[0].MetadataContext.FilterMetadata[contract.ContextMetadataNamespace]
	rc, err := decodeContext(ns.Fields["ctx"].GetStringValue())
	if err != nil {
		t.Fatal(err)
	}
	rc.KeyHash = hash
	enc, err := encodeContext(rc)
	if err != nil {
		t.Fatal(err)
	}
	ns.Fields["ctx"] = structpb.NewStringValue(enc)
}

// TestAttemptSpendBeforeLastReply (D92): the attempt filter's reply that
// ends a virtual key's answer is sent only once the spend sink has consumed
// the answer's event (its write-ahead line written), so an answer the
// client has whole never loses its spend to a kill -9. A try without spend
// (no key) is reported after its last reply, as before. It failed before
// D92: the event was published after the last reply (3 replies sent when
// the sink got it).
func TestAttemptSpendBeforeLastReply(t *testing.T) {
	s, _, _ := outcomeServer(t)
	entered := make(chan int, 4)
	release := make(chan struct{})
	var sc *sendCounter
	s.Outcomes.Register(keys.SpendSink, 16, func(ev outcome.Try) {
		entered <- sc.sent()
		<-release
	})
	const okBody = `{"id":"x","object":"chat.completion","created":1,"model":"gpt-4o","choices":[{"index":0,"message":{"role":"assistant","content":"hi"},"finish_reason":"stop"}],"usage":{"prompt_tokens":11,"completion_tokens":7,"total_tokens":18}}`
	sc = &sendCounter{benchStream: attemptStream(t, s, 1, "200", okBody)}
	withKey(t, sc.benchStream, "0f1e2d")
	done := make(chan error, 1)
	go func() { done <- s.Process(sc) }()
	if n := <-entered; n != 2 {
		t.Fatalf("the spend sink got the answer's event after %d replies, want 2 (the last reply held until it is consumed)", n)
	}
	select {
	case err := <-done:
		t.Fatalf("the attempt filter ended (%v, %d replies) before the spend sink consumed the answer's event", err, sc.sent())
	case <-time.After(300 * time.Millisecond):
	}
	if n := sc.sent(); n != 2 {
		t.Fatalf("%d replies while the spend sink holds the event, want 2", n)
	}
	close(release)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if n := sc.sent(); n != 3 {
		t.Fatalf("%d replies, want 3", n)
	}

	// Without a key: reported after the last reply.
	plain := &sendCounter{benchStream: attemptStream(t, s, 1, "200", okBody)}
	sc = plain
	if err := s.Process(plain); err != nil {
		t.Fatal(err)
	}
	if n := <-entered; n != 3 {
		t.Fatalf("a try without spend was published after %d replies, want 3 (after the last)", n)
	}
}
