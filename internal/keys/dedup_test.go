package keys

import (
	"context"
	"fmt"
	"strings"
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

// Envoy's request ids (canonical lower-case UUIDs) are remembered as their
// 16 bytes, any other id as its string (D166); an id is never taken for
// another (an upper-case UUID, a UUID with a suffix are ids of their own),
// and the bound counts both forms.
func TestRecentIDsUUIDs(t *testing.T) {
	var r recentIDs
	id := "6f1c9f0e-3c1a-4a53-9c7e-0123456789ab"
	if !r.add(id) || r.add(id) || r.add(strings.Clone(id)) {
		t.Fatal("a new UUID must be added once")
	}
	for _, other := range []string{strings.ToUpper(id), id + "_cache_hit1.5", "6f1c9f0e-3c1a-4a53-9c7e-0123456789ac", "6f1c9f0e+3c1a-4a53-9c7e-0123456789ab", "6f1c9f0e-3c1a-4a53-9c7e-0123456789ag"} {
		if !r.add(other) {
			t.Errorf("%q taken for %q", other, id)
		}
	}
	if len(r.ucur) != 2 || len(r.cur) != 4 {
		t.Fatalf("%d ids as bytes and %d as strings, want 2 (the canonical UUIDs) and 4", len(r.ucur), len(r.cur))
	}
	for i := range 2*recentIDsMax + 1 {
		if i%2 == 0 {
			r.add(fmt.Sprintf("00000000-0000-4000-8000-%012x", i))
		} else {
			r.add(fmt.Sprint("other-", i))
		}
	}
	if !r.add(id) {
		t.Fatalf("remembered after %d other ids, want forgotten (bounded memory)", 2*recentIDsMax+1)
	}
	if n := len(r.cur) + len(r.old) + len(r.ucur) + len(r.uold); n > 2*recentIDsMax {
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

// BenchmarkRecentUUIDs is BenchmarkRecentIDs with Envoy's request ids.
func BenchmarkRecentUUIDs(b *testing.B) {
	ids := make([]string, 4*recentIDsMax)
	for i := range ids {
		ids[i] = fmt.Sprintf("6f1c9f0e-3c1a-4a53-9c7e-%012x", i)
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

// A try whose cost is unknown (no price for its model) adds no spend, so
// the spend's request-id memory never had it: sent again, it counted its
// tokens again (D155 "Left" 2). It is remembered by its id and attempt
// (D166): three copies count 60 of a 100-token limit once; the request's
// next attempt and a new request count their own (131 of 130: 429).
func TestUnpricedTrySentAgainCountsTokensOnce(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), t.TempDir())
	defer s.Close()
	key := generate(t, s, `{"tpm_limit": 130}`)
	tok := keystore.HashKey(key)
	try := outcome.Try{CallID: "6f1c9f0e-3c1a-4a53-9c7e-0123456789ab", KeyHash: tok, ModelGroup: "m", Status: 200, Start: clock,
		PromptTokens: 40, CompletionTokens: 20, TotalTokens: 60}
	s.SpendNow([]outcome.Try{try})
	s.OnTry(try)
	s.SpendNow([]outcome.Try{try})
	if _, spend, _ := s.Lookup(tok); spend != 0 {
		t.Fatalf("spend %v of an unpriced try, want 0", spend)
	}
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
		t.Fatalf("60 of 130 tokens counted once, the key is refused: %v", e.Message)
	}
	// The same request's second attempt has tokens of its own.
	try.Attempt = 1
	s.OnTry(try)
	s.OnTry(try)
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e != nil {
		t.Fatalf("120 of 130 tokens, the key is refused: %v", e.Message)
	}
	try.CallID, try.Attempt, try.TotalTokens = "6f1c9f0e-3c1a-4a53-9c7e-0123456789ac", 0, 11
	s.OnTry(try)
	if _, e := s.Authorize(ctx, tok, key, []string{"m"}); e == nil || e.Status != 429 {
		t.Fatalf("after 131 of 130 tokens: %+v, want 429", e)
	}
}
