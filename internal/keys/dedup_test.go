package keys

import (
	"context"
	"fmt"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
)

// A request's spend sent again — the module's outcome record after a lost
// acknowledgement, in the same process or after a restart that recovered
// the first copy from the write-ahead file — is added once (D63).
func TestSpendEventSentAgainCountsOnce(t *testing.T) {
	ks := embedded(t)
	wal := t.TempDir()
	first := newService(t, ks, wal)
	key := generate(t, first, `{}`)
	tok := keystore.HashKey(key)
	for i := 0; i < 3; i++ {
		first.Record(SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	}
	first.Record(SpendEvent{RequestID: "r1", KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	if _, spend, _ := first.Lookup(tok); spend != 0.75 {
		t.Fatalf("spend %v after an event sent twice, want 0.75", spend)
	}
	// first dies without a batch; the copies of r0..r2 come to the next
	// process, with a new request.
	second := newService(t, ks, wal)
	defer second.Close()
	for i := 0; i < 4; i++ {
		second.Record(SpendEvent{RequestID: fmt.Sprint("r", i), KeyToken: tok, ModelGroup: "m", Cost: 0.25})
	}
	if _, spend, _ := second.Lookup(tok); spend != 1 {
		t.Fatalf("spend after restart and copies %v, want 1", spend)
	}
	if n := second.DuplicateSpendEvents(); n != 3 {
		t.Errorf("%d duplicates counted, want 3", n)
	}
}

// The request-id memory keeps at least the last recentIDsMax ids and at
// most twice that (two generations, D108).
func TestRecentIDsBounds(t *testing.T) {
	var r recentIDs
	if !r.add("first") || r.add("first") {
		t.Fatal("a new id must be added once")
	}
	for i := range recentIDsMax {
		r.add(fmt.Sprint("other-", i))
	}
	if r.add("first") {
		t.Fatalf("forgotten after %d other ids, want remembered", recentIDsMax)
	}
	for i := range recentIDsMax + 1 {
		r.add(fmt.Sprint("later-", i))
	}
	if !r.add("first") {
		t.Fatalf("remembered after %d other ids, want forgotten (bounded memory)", 2*recentIDsMax+1)
	}
	if n := len(r.cur) + len(r.old); n > 2*recentIDsMax {
		t.Fatalf("%d ids held, want at most %d", n, 2*recentIDsMax)
	}
}

// BenchmarkRecentIDs is the spend sink's request-id memory at a steady
// load: a distinct id per answer, the memory long full (D108).
func BenchmarkRecentIDs(b *testing.B) {
	ids := make([]string, 4*recentIDsMax)
	for i := range ids {
		ids[i] = fmt.Sprintf("chatcmpl-6f1c9f0e-3c1a-4a53-9c7e-%012d", i)
	}
	var r recentIDs
	for _, id := range ids[:2*recentIDsMax] {
		r.add(id)
	}
	n := 0
	for b.Loop() {
		r.add(ids[n%len(ids)] + "")
		n++
	}
}

// A keyed answer's try sent again within one process (the module's record
// after a lost acknowledgement, D63) counts its tokens towards the key's
// tpm_limit once, as its spend (D145 "Left" 5, D155): 60 tokens of a
// 100-token limit counted twice would refuse the key.
func TestSpendTrySentAgainCountsTokensOnce(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), t.TempDir())
	defer s.Close()
	key := generate(t, s, `{"tpm_limit": 100}`)
	tok := keystore.HashKey(key)
	try := outcome.Try{CallID: "chatcmpl-again", KeyHash: tok, ModelGroup: "m", Status: 200, Start: clock,
		PromptTokens: 40, CompletionTokens: 20, TotalTokens: 60, Cost: 0.25, CostKnown: true}
	s.SpendNow([]outcome.Try{try})
	s.OnTry(try)
	s.SpendNow([]outcome.Try{try})
	if _, spend, _ := s.Lookup(tok); spend != 0.25 {
		t.Fatalf("spend %v after a try sent three times, want 0.25", spend)
	}
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
		t.Fatalf("60 of 100 tokens counted once, the key is refused: %v", e.Message)
	}
	// A new request's 60 tokens pass the limit: the counter does count.
	try.CallID = "chatcmpl-next"
	s.OnTry(try)
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Status != 429 {
		t.Fatalf("after 120 of 100 tokens: %+v, want 429", e)
	}
}
