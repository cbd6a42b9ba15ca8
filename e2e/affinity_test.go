package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestSessionAffinity (D168): router_settings.optional_pre_call_checks'
// session_affinity and deployment_affinity through Envoy with openai-go, on
// both request filters. Every request of one session (the
// x-litellm-session-id header: a plain body the module serves itself; the
// body's metadata.session_id: ext_proc's) is answered by one deployment,
// and the sessions spread over both; with deployment_affinity every request
// of one key sticks to one deployment; after a session's deployment fails
// and cools down the session is served by the other one;
// model_group_affinity_config turns session_affinity on for its group;
// without the checks a session's requests spread over both deployments.
func TestSessionAffinity(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := func(checks string) string {
		return affinityPair(fake.URL(), checks, "general_settings:\n  master_key: "+master+"\n")
	}
	params := openai.ChatCompletionNewParams{Model: "gpt-lb", Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")}}
	// ask sends one chat request and returns the deployment that answered.
	ask := func(t *testing.T, client openai.Client, opts ...option.RequestOption) string {
		t.Helper()
		var raw *http.Response
		if _, err := client.Chat.Completions.New(context.Background(), params, append(opts, option.WithResponseInto(&raw))...); err != nil {
			t.Fatalf("chat: %v", err)
		}
		return raw.Header.Get("x-litellm-model-id")
	}
	const sessions, perSession = 8, 6
	// bySession sends perSession requests for each session and returns the
	// deployments that answered each one.
	bySession := func(t *testing.T, client openai.Client, opt func(s string) option.RequestOption) map[string]map[string]int {
		t.Helper()
		out := map[string]map[string]int{}
		for i := range sessions {
			s := fmt.Sprintf("session-%04d", i)
			out[s] = map[string]int{}
			for range perSession {
				out[s][ask(t, client, opt(s))]++
			}
		}
		return out
	}
	header := func(s string) option.RequestOption { return option.WithHeader("x-litellm-session-id", s) }
	metadata := func(s string) option.RequestOption {
		return option.WithJSONSet("metadata", map[string]any{"session_id": s})
	}
	sticky := func(t *testing.T, got map[string]map[string]int) {
		t.Helper()
		used := map[string]bool{}
		for s, by := range got {
			if len(by) != 1 {
				t.Errorf("session %s answered by %v: want one deployment", s, by)
			}
			for d := range by {
				used[d] = true
			}
		}
		if !used["lb-a"] || !used["lb-b"] {
			t.Errorf("sessions per deployment %v: want the sessions spread over both", got)
		}
	}

	for _, mode := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"ext_proc", extProcArgs}} {
		t.Run(mode.name, func(t *testing.T) {
			fake.ClearRules()
			g := startGatewayArgs(t, cfg("  optional_pre_call_checks: [session_affinity, deployment_affinity]"), mode.args)
			client := newClient(g, master)
			before := requestFilterStreams(t, g)
			sticky(t, bySession(t, client, header))
			if n := requestFilterStreams(t, g) - before; mode.name == "module" && n != 0 {
				t.Errorf("the session header's requests opened %d request-filter streams: not served by the module", n)
			}
			sticky(t, bySession(t, client, metadata))

			// deployment_affinity: the master key's requests without a
			// session stick to one deployment.
			keyed := map[string]int{}
			for range 12 {
				keyed[ask(t, client)]++
			}
			if len(keyed) != 1 {
				t.Errorf("deployment_affinity: the master key's requests answered by %v, want one deployment", keyed)
			}

			// The session's deployment fails once and cools down: the
			// session goes on at the other one.
			s := "session-cooling"
			first := ask(t, client, header(s))
			if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/" + first + "/"}, Fault: fakeprovider.Fault{Status: 500}, Times: 1}); err != nil {
				t.Fatal(err)
			}
			mark := logMark(g)
			if _, err := client.Chat.Completions.New(context.Background(), params, header(s)); err == nil {
				t.Fatal("the session's deployment's injected 500 did not reach the client")
			}
			// The gateway's cooldown and, in module mode, the module's table
			// with it (the module plans these requests itself).
			waitCooling(t, g, "gpt-lb", mark)
			for range 4 {
				if d := ask(t, client, header(s)); d == first {
					t.Fatalf("a request of the session reached its cooling deployment %s", first)
				}
			}
		})
	}

	t.Run("model_group_affinity_config", func(t *testing.T) {
		fake.ClearRules()
		g := startGatewayArgs(t, cfg("  model_group_affinity_config: {gpt-lb: [session_affinity]}"), moduleArgs)
		sticky(t, bySession(t, newClient(g, master), header))
	})

	t.Run("without the checks", func(t *testing.T) {
		fake.ClearRules()
		g := startGatewayArgs(t, cfg(""), moduleArgs)
		client := newClient(g, master)
		spread := map[string]int{}
		for range 16 {
			spread[ask(t, client, header("one-session"))]++
		}
		if len(spread) != 2 {
			t.Errorf("without session_affinity one session's requests answered by %v, want both deployments", spread)
		}
	})
}

// affinityPair is the config of the affinity tests: a group gpt-lb of two
// deployments lb-a and lb-b on fake (no retries, a cooldown at the first
// failure), with router_settings lines checks and then tail.
func affinityPair(fake, checks, tail string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-lb
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/lb-a/v1, api_key: k}
    model_info: {id: lb-a}
  - model_name: gpt-lb
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/lb-b/v1, api_key: k}
    model_info: {id: lb-b}
router_settings:
  num_retries: 0
  allowed_fails: 0
  cooldown_time: 60
%[2]s
%[3]s`, fake, checks, tail)
}
