package extproc

import (
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/router"
)

// promptKeys derives LiteLLM's prompt-caching keys (D179): the keys of the
// cacheable prefix's blocks, newest first, over the last 20 positions.
func TestPromptKeys(t *testing.T) {
	sys := `{"role":"system","content":[{"type":"text","text":"You are terse.","cache_control":{"type":"ephemeral"}}]}`
	turn1 := `{"model":"m","messages":[` + sys + `,{"role":"user","content":[{"type":"text","text":"q1","cache_control":{"type":"ephemeral"}}]}]}`
	// Turn 2: the breakpoint moved on; the earlier blocks lose their marks.
	turn2 := `{"model":"m","messages":[{"content":[{"text":"You are terse.","type":"text"}],"role":"system"},{"role":"user","content":"q1"},{"role":"assistant","content":"a1"},{"role":"user","content":[{"type":"text","text":"q2","cache_control":{"type":"ephemeral","ttl":"1h"}}]}]}`
	k1, h1 := promptKeys([]byte(turn1))
	k2, h2 := promptKeys([]byte(turn2))
	if len(k1) != 2 || len(k2) != 4 || h1 || !h2 {
		t.Fatalf("keys %d (hour %v), %d (hour %v): want 2 and 4, the second asking for an hour", len(k1), h1, len(k2), h2)
	}
	// Turn 1's prefix key is in turn 2's lookback (marks, key order and a
	// string for its one text block do not change a block's key).
	if k2[2] != k1[0] || k2[3] != k1[1] {
		t.Fatalf("turn 2 lookback %v does not end with turn 1's keys %v", k2, k1)
	}
	// No breakpoint: nothing to pin.
	if k, _ := promptKeys([]byte(`{"messages":[{"role":"user","content":"hi"}]}`)); k != nil {
		t.Fatalf("unmarked prompt: keys %v", k)
	}
	// The blocks after the last breakpoint are not in the prefix.
	tail := strings.Replace(turn1, `]}]}`, `]},{"role":"user","content":"later"}]}`, 1)
	if k, _ := promptKeys([]byte(tail)); !slices.Equal(k, k1) {
		t.Fatalf("blocks after the breakpoint changed the keys: %v, want %v", k, k1)
	}
	// The tools seed the chain: other tools, other keys; a marked tool
	// list has its own key (the oldest).
	tools := `,"tools":[{"type":"function","function":{"name":"f","parameters":{}},"cache_control":{"type":"ephemeral"}}]}`
	kt, _ := promptKeys([]byte(strings.TrimSuffix(turn1, "}") + tools))
	if len(kt) != 3 || kt[0] == k1[0] {
		t.Fatalf("with a marked tool: %v", kt)
	}
	// Anthropic's /v1/messages system prompt is the first message.
	msgs := `{"model":"m","system":"You are terse.","messages":[{"role":"user","content":[{"type":"text","text":"q1","cache_control":{"type":"ephemeral"}}]}]}`
	if k, _ := promptKeys([]byte(msgs)); len(k) != 2 {
		t.Fatalf("system prompt: keys %v", k)
	}
	// Lookback: the last 20 positions; a run of tool_result blocks is one.
	var b strings.Builder
	b.WriteString(`{"messages":[`)
	for i := range 30 {
		fmt.Fprintf(&b, `{"role":"user","content":"u%d"},`, i)
	}
	b.WriteString(`{"role":"user","content":[{"type":"tool_result","tool_use_id":"1","content":"r1"},{"type":"tool_result","tool_use_id":"2","content":"r2","cache_control":{"type":"ephemeral"}}]}]}`)
	kl, _ := promptKeys([]byte(b.String()))
	// 31 positions (the run counts once) over 32 blocks: the last 20
	// positions hold 21 keys.
	if len(kl) != router.PromptLookback+1 {
		t.Fatalf("lookback keys %d, want %d", len(kl), router.PromptLookback+1)
	}
}

// promptPrefix: only a prompt of at least 1024 tokens is cacheable.
func TestPromptPrefixMinTokens(t *testing.T) {
	body := func(words int) []byte {
		return []byte(`{"model":"gpt-4o","messages":[{"role":"system","content":[{"type":"text","text":"` + strings.Repeat("word ", words) + `","cache_control":{"type":"ephemeral"}}]},{"role":"user","content":"hi"}]}`)
	}
	if p := promptPrefix("gpt-4o", body(100)); p != nil {
		t.Fatalf("100 words: %v, want not cacheable", p)
	}
	if p := promptPrefix("gpt-4o", body(1500)); p == nil || len(p.Keys) != 1 {
		t.Fatalf("1500 words: %v, want one key", p)
	}
}
