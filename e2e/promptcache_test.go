package e2e

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestPromptCachingAffinity (D179): optional_pre_call_checks' prompt_caching
// through Envoy with openai-go, on both request filters. Every turn of a
// conversation whose messages carry a cache_control breakpoint (a prompt
// of more than 1,024 tokens; the breakpoint moves to the newest turn, as
// Claude Code's do) is answered by the deployment that answered its first
// turn; after that deployment fails and cools down the conversation goes
// on at the other one; the module hands such bodies to ext_proc and still
// serves the plain ones; without the check one conversation's turns reach
// both deployments.
func TestPromptCachingAffinity(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := func(checks string) string {
		return affinityPair(fake.URL(), checks, "litellm_settings:\n  callbacks: [\"prometheus\"]\ngeneral_settings:\n  master_key: "+master+"\n")
	}
	system := strings.Repeat("You answer questions about the quick brown fox and the lazy dog. ", 150)
	// conversation is turn n of conversation c: the system prompt, the
	// earlier turns, and the newest user message marked.
	conversation := func(c, n int) []any {
		msgs := []any{map[string]any{"role": "system", "content": system}}
		for k := 1; k < n; k++ {
			msgs = append(msgs,
				map[string]any{"role": "user", "content": fmt.Sprintf("conversation %d, question %d", c, k)},
				map[string]any{"role": "assistant", "content": fmt.Sprintf("answer %d", k)})
		}
		return append(msgs, map[string]any{"role": "user", "content": []any{map[string]any{
			"type": "text", "text": fmt.Sprintf("conversation %d, question %d", c, n), "cache_control": map[string]any{"type": "ephemeral"}}}})
	}
	params := openai.ChatCompletionNewParams{Model: "gpt-lb", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("replaced")}}
	ask := func(t *testing.T, client openai.Client, msgs []any) (string, error) {
		t.Helper()
		var raw *http.Response
		_, err := client.Chat.Completions.New(context.Background(), params, option.WithJSONSet("messages", msgs), option.WithResponseInto(&raw))
		if err != nil {
			return "", err
		}
		return raw.Header.Get("x-litellm-model-id"), nil
	}
	for _, mode := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"ext_proc", extProcArgs}} {
		t.Run(mode.name, func(t *testing.T) {
			fake.ClearRules()
			g := startGatewayArgs(t, cfg("  optional_pre_call_checks: [prompt_caching]"), mode.args)
			client := newClient(g, master)
			successes := 0
			// turn asks one turn and waits until the gateway has taken its
			// success (the pin is written off the request path).
			turn := func(t *testing.T, c, n int) string {
				t.Helper()
				d, err := ask(t, client, conversation(c, n))
				if err != nil {
					t.Fatalf("conversation %d turn %d: %v", c, n, err)
				}
				successes++
				waitMetric(t, g, "litellm_deployment_success_responses_total", float64(successes))
				return d
			}
			before := requestFilterStreams(t, g)
			for c := range 6 {
				first := turn(t, c, 1)
				for n := 2; n <= 5; n++ {
					if d := turn(t, c, n); d != first {
						t.Fatalf("conversation %d: turn 1 answered by %s, turn %d by %s: want every turn on its prefix's deployment", c, first, n, d)
					}
				}
			}
			if n := requestFilterStreams(t, g) - before; mode.name == "module" && n < 30 {
				t.Errorf("the cacheable requests opened %d request-filter streams, want 30: the module must hand them on", n)
			}
			if mode.name == "module" {
				before = requestFilterStreams(t, g)
				if _, err := client.Chat.Completions.New(context.Background(), params); err != nil {
					t.Fatal(err)
				}
				if n := requestFilterStreams(t, g) - before; n != 0 {
					t.Errorf("a plain request opened %d request-filter streams: not served by the module", n)
				}
				// Its success counts too: the next turn's wait must be for
				// that turn's own success (and so its pin).
				successes++
				waitMetric(t, g, "litellm_deployment_success_responses_total", float64(successes))
			}

			// The conversation's deployment fails once and cools down: the
			// next turn goes to the other one.
			first := turn(t, 100, 1)
			if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/" + first + "/"}, Fault: fakeprovider.Fault{Status: 500}, Times: 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := ask(t, client, conversation(100, 2)); err == nil {
				t.Fatal("the pinned deployment's injected 500 did not reach the client")
			}
			waitLog(t, g, "deployment cooling down")
			if d := turn(t, 100, 3); d == first {
				t.Fatalf("a turn reached its cooling deployment %s", first)
			}
		})
	}

	t.Run("without the check", func(t *testing.T) {
		fake.ClearRules()
		g := startGatewayArgs(t, cfg(""), moduleArgs)
		client := newClient(g, master)
		spread := map[string]int{}
		for n := 1; n <= 12; n++ {
			d, err := ask(t, client, conversation(0, n))
			if err != nil {
				t.Fatal(err)
			}
			spread[d]++
		}
		if len(spread) != 2 {
			t.Errorf("without prompt_caching one conversation's turns answered by %v, want both deployments", spread)
		}
	})
}

// TestSessionRepinOnFailover (D179): router_settings'
// session_affinity_repin_on_failover through Envoy with openai-go, on both
// request filters. A session whose deployment fails and cools down is
// answered by the other one, and stays there after the cooldown (the
// module is given the re-pin with its table); without the setting it goes
// back to its deployment (D168).
func TestSessionRepinOnFailover(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	const cooldown = 4 * time.Second
	cfg := func(repin bool) string {
		c := affinityPair(fake.URL(), fmt.Sprintf("  optional_pre_call_checks: [session_affinity]\n  session_affinity_repin_on_failover: %v", repin),
			"general_settings:\n  master_key: "+master+"\n")
		return strings.Replace(c, "cooldown_time: 60", fmt.Sprintf("cooldown_time: %d", int(cooldown/time.Second)), 1)
	}
	params := openai.ChatCompletionNewParams{Model: "gpt-lb", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}
	for _, c := range []struct {
		name  string
		args  []string
		repin bool
	}{{"module", moduleArgs, true}, {"ext_proc", extProcArgs, true}, {"module without repin", moduleArgs, false}} {
		t.Run(c.name, func(t *testing.T) {
			fake.ClearRules()
			g := startGatewayArgs(t, cfg(c.repin), c.args)
			client := newClient(g, master)
			session := option.WithHeader("x-litellm-session-id", "session-repin-0001")
			ask := func() string {
				t.Helper()
				var raw *http.Response
				if _, err := client.Chat.Completions.New(context.Background(), params, session, option.WithResponseInto(&raw)); err != nil {
					t.Fatalf("chat: %v", err)
				}
				return raw.Header.Get("x-litellm-model-id")
			}
			home := ask()
			if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/" + home + "/"}, Fault: fakeprovider.Fault{Status: 500}, Times: 1}); err != nil {
				t.Fatal(err)
			}
			if _, err := client.Chat.Completions.New(context.Background(), params, session); err == nil {
				t.Fatal("the session's deployment's injected 500 did not reach the client")
			}
			waitLog(t, g, "deployment cooling down")
			if c.args[0] == moduleArgs[0] {
				waitLog(t, g, "(1 cooling)") // the module has the cooldown
			}
			other := ask()
			if other == home {
				t.Fatalf("the session reached its cooling deployment %s", home)
			}
			time.Sleep(cooldown + 500*time.Millisecond) // (the cooldown is a time: nothing to wait on)
			want := home
			if c.repin {
				want = other
			}
			got := map[string]int{}
			for range 6 {
				got[ask()]++
			}
			if got[want] != 6 {
				t.Errorf("after the cooldown the session was answered by %v, want all 6 by %s (home %s, failover %s)", got, want, home, other)
			}
		})
	}
}
