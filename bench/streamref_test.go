package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestStreamAnthropicDirect: the reference of a translated stream counts the
// fake's Anthropic text deltas (not its preamble events) and ends at
// message_stop; the fake paces the preamble, so its first text comes three
// delays after the headers where an OpenAI stream's comes after one.
func TestStreamAnthropicDirect(t *testing.T) {
	const delay = 20 * time.Millisecond
	srv := httptest.NewServer(fakeprovider.New(fakeprovider.Options{StreamChunks: 4, ChunkDelay: delay, ReplySize: 64}))
	defer srv.Close()
	c := &http.Client{Timeout: 10 * time.Second}
	an, err := StreamAnthropicDirect(context.Background(), c, srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	if an.Chunks != 4 {
		t.Errorf("Anthropic direct: %d content chunks, want 4", an.Chunks)
	}
	if an.TTFT < 3*delay {
		t.Errorf("Anthropic direct: first text after %s, want ≥ three paced events (%s)", an.TTFT, 3*delay)
	}
	oa, err := Stream(context.Background(), c, Endpoint{Name: "direct", URL: srv.URL + "/v1/chat/completions", Model: "gpt-4o"})
	if err != nil {
		t.Fatal(err)
	}
	if oa.Chunks != 4 {
		t.Errorf("OpenAI direct: %d content chunks, want 4", oa.Chunks)
	}
	if _, err := StreamAnthropicDirect(context.Background(), c, "http://127.0.0.1:1"); err == nil || !strings.Contains(err.Error(), AnthropicDirectName) {
		t.Errorf("a failing reference: err %v, want one naming %q", err, AnthropicDirectName)
	}
}

// TestStreamReferenceNote: a target measured against its own provider's
// direct stream says so under the streaming table, with both figures.
func TestStreamReferenceNote(t *testing.T) {
	r := &Report{Options: DefaultOptions(), Targets: []*TargetReport{
		{Name: "direct", Latency: map[int]*LatencyFigure{}, Stream: StreamFigure{TTFT: ms(1.5), Gap: ms(1)}},
		{Name: "llmgate-anthropic", Config: anthropicDesc, Latency: map[int]*LatencyFigure{}, Stream: StreamFigure{TTFT: ms(4.5), Gap: ms(1), AddedTTFT: ms(1.1),
			Ref: AnthropicDirectName, RefTTFT: ms(3.4), AddedOverDirect: ms(3)}},
	}}
	md := r.Markdown(Environment{Command: "make bench"})
	for _, want := range []string{"| llmgate-anthropic | 4.50 ms | 1.10 ms |", "llmgate-anthropic: added over " + AnthropicDirectName, "p50 3.40 ms", "it is 3.00 ms"} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q:\n%s", want, md)
		}
	}
}

// TestPooledTail: the tail is read over every run's requests together.
func TestPooledTail(t *testing.T) {
	var a, b LoadResult
	for i := 1; i <= 500; i++ {
		a.Latencies = append(a.Latencies, time.Duration(i)*time.Microsecond)
		b.Latencies = append(b.Latencies, time.Duration(500+i)*time.Microsecond)
	}
	got := PooledTail([]LoadResult{a, b})
	want := Tail{P50: 500 * time.Microsecond, P90: 900 * time.Microsecond, P99: 990 * time.Microsecond, P999: 999 * time.Microsecond, N: 1000}
	if got != want {
		t.Errorf("PooledTail = %+v, want %+v", got, want)
	}
}
