package translator

import (
	"strings"
	"testing"
)

// TestAnthropicNoUserMessage (D148): a request of system messages only is
// LiteLLM's 400 without modify_params and a "Please continue." user
// message with it (the golden req_modify_params_system_only).
func TestAnthropicNoUserMessage(t *testing.T) {
	body := []byte(`{"model":"m","messages":[{"role":"system","content":"You are a poet."}]}`)
	_, err := anthropicTranslator{}.Request(Chat, body, anthTarget)
	e, ok := err.(*Error)
	if !ok || e.Status != 400 || e.Type != "invalid_request_error" || !strings.HasPrefix(e.Message, "litellm.BadRequestError: Anthropic requires at least one non-system message.") {
		t.Fatalf("without modify_params: %#v", err)
	}
	if AsLiteLLM(e, "anthropic").Message != e.Message {
		t.Errorf("the message is LiteLLM's already; AsLiteLLM must keep it")
	}
	tg := anthTarget
	tg.ModifyParams = true
	up, err := anthropicTranslator{}.Request(Chat, body, tg)
	if err != nil || !strings.Contains(string(up.Body), `"messages":[{"role":"user","content":[{"type":"text","text":"Please continue."}]}]`) {
		t.Fatalf("with modify_params: %v %s", err, up.Body)
	}
}

// TestPairToolCallsQuirks: LiteLLM's count-based skip after completing an
// assistant message's results, and results kept per turn (Case D resets
// at a user message).
func TestPairToolCallsQuirks(t *testing.T) {
	call := func(id string) ToolCall {
		return ToolCall{ID: id, Type: "function", Function: FunctionCall{Name: "f", Arguments: "{}"}}
	}
	tool := func(id, s string) Message { return Message{Role: "tool", ToolCallID: id, Content: Content{Text: s}} }
	in := []Message{
		{Role: "user", Content: Content{Text: "q"}},
		{Role: "assistant", Content: Content{Null: true}, ToolCalls: []ToolCall{call("a"), call("b")}},
		{Role: "user", Content: Content{Text: "between"}},
		tool("a", "ra"),
		tool("a", "ra2"),
	}
	got := pairToolCalls(in)
	var roles []string
	for _, m := range got {
		roles = append(roles, m.Role+":"+m.ToolCallID+":"+m.Content.Text)
	}
	// assistant, its found results (ra, ra2), the dummy for b; then the
	// two messages after the assistant skipped by count (user, tool a);
	// the last tool a stays (its call is the latest assistant's), and
	// within the block a's last result wins.
	want := "user::q|assistant::|tool:b:" + toolSkippedResult("f") + "|tool:a:ra2"
	if strings.Join(roles, "|") != want {
		t.Errorf("got  %s\nwant %s", strings.Join(roles, "|"), want)
	}
}
