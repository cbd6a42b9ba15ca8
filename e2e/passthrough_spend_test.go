package e2e

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/anthropics/anthropic-sdk-go"
	"github.com/anthropics/anthropic-sdk-go/option"
	"github.com/anthropics/anthropic-sdk-go/packages/ssestream"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestPassThroughKeySpend (D128): a virtual key on the provider
// pass-through route /anthropic, with anthropic-sdk-go, on both request
// filters and both key stores. Its answers' usage (non-streamed and
// streamed) becomes its spend at claude-3-5-sonnet's list price, with a
// spend log of call_type pass_through_endpoint; once over its max_budget it
// is refused with LiteLLM's budget_exceeded before the provider; a blocked
// key and a key whose models do not hold the body's model are refused
// before the provider.
func TestPassThroughKeySpend(t *testing.T) {
	const antKey = "sk-ant-provider-secret"
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{antKey}})
	pg := pgtest.Start(t)
	for _, c := range []struct {
		name string
		args []string
		pg   bool
	}{{"module/embedded", moduleArgs, false}, {"ext_proc/postgres", extProcArgs, true}} {
		t.Run(c.name, func(t *testing.T) {
			db := ""
			if c.pg {
				db = "\n  database_url: " + pg.NewDatabase(t)
			}
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider}
general_settings:
  master_key: %[2]s
  proxy_batch_write_at: 1%[3]s
`, fake.URL(), master, db), c.args, "ANTHROPIC_API_KEY="+antKey, "ANTHROPIC_API_BASE="+fake.URL(), "LLMGATE_DATA_DIR="+t.TempDir())
			k := keyAPI{t, g}
			client := func(key string) *anthropic.Client {
				c := anthropic.NewClient(option.WithBaseURL(g.URL+"/anthropic"), option.WithAPIKey(key), option.WithMaxRetries(0))
				return &c
			}
			params := anthropic.MessageNewParams{Model: "claude-3-5-sonnet-20241022", MaxTokens: 64,
				Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("count my pass-through spend please"))}}
			const inPrice, outPrice = 3e-06, 1.5e-05 // claude-3-5-sonnet-20241022, LiteLLM's price table
			waitSpend := func(key string, want float64) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for {
					got := k.spend(key)
					if math.Abs(got-want) < 1e-12 {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("key spend %v, want %v (the answers' usage at the list price)\n%s", got, want, g.Logs())
					}
					time.Sleep(100 * time.Millisecond)
				}
			}

			key, token := k.generate(`{"max_budget": 10}`)
			msg, err := client(key).Messages.New(context.Background(), params)
			if err != nil {
				t.Fatalf("messages.create with a virtual key: %v\n%s", err, g.Logs())
			}
			cost := float64(msg.Usage.InputTokens)*inPrice + float64(msg.Usage.OutputTokens)*outPrice
			if cost == 0 {
				t.Fatalf("the fake's answer has no usage: %+v", msg.Usage)
			}
			waitSpend(key, cost)

			stream := client(key).Messages.NewStreaming(context.Background(), params)
			var acc anthropic.Message
			for stream.Next() {
				if err := acc.Accumulate(stream.Current()); err != nil {
					t.Fatal(err)
				}
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("a stream with a virtual key: %v", err)
			}
			streamed := float64(acc.Usage.InputTokens)*inPrice + float64(acc.Usage.OutputTokens)*outPrice
			waitSpend(key, cost+streamed)

			// The spend logs are written in batches (proxy_batch_write_at).
			rows := keySpendLogs(t, g, key, 2)
			for _, r := range rows {
				if r["call_type"] != "pass_through_endpoint" || r["api_key"] != token || r["model"] != "claude-3-5-sonnet-20241022" {
					t.Errorf("spend log row: %v", r)
				}
			}

			// Over its budget: refused before the provider.
			poor, _ := k.generate(`{"max_budget": 0.0000001}`)
			if _, err := client(poor).Messages.New(context.Background(), params); err != nil {
				t.Fatalf("the first request of a key under its budget: %v", err)
			}
			waitSpend(poor, cost)
			before := fake.Count("/v1/messages")
			body := `{"model":"claude-3-5-sonnet-20241022","max_tokens":8,"messages":[{"role":"user","content":"x"}]}`
			st, _, b := do(t, "POST", g.URL+"/anthropic/v1/messages", poor, body)
			if st != 400 || !strings.Contains(string(b), `"budget_exceeded"`) || !strings.Contains(string(b), "Budget has been exceeded!") {
				t.Errorf("a key over its budget: %d %s, want LiteLLM's 400 budget_exceeded", st, b)
			}

			blocked, _ := k.generate(`{}`)
			if st, m := k.call("POST", "/key/block", master, `{"key":"`+blocked+`"}`); st != 200 {
				t.Fatalf("/key/block: %d %v", st, m)
			}
			st, _, b = do(t, "POST", g.URL+"/anthropic/v1/messages", blocked, body)
			if st != 401 || !strings.Contains(string(b), "Key is blocked") {
				t.Errorf("a blocked key: %d %s, want LiteLLM's 401", st, b)
			}

			narrow, _ := k.generate(`{"models": ["gpt-x"]}`)
			st, _, b = do(t, "POST", g.URL+"/anthropic/v1/messages", narrow, body)
			if st != 401 || !strings.Contains(string(b), "key_model_access_denied") {
				t.Errorf("a key without the body's model: %d %s, want LiteLLM's 401 key_model_access_denied", st, b)
			}
			if n := fake.Count("/v1/messages"); n != before {
				t.Errorf("refused requests reached the provider (%d → %d)", before, n)
			}
		})
	}
}

// TestPassThroughKeyParallel (D128): a key's max_parallel_requests on
// /anthropic: a second request while a slow stream holds the slot is
// refused with LiteLLM's 429 before the provider; the slot is given back
// when the answer ends (three requests in a row served after it), on both
// request filters.
func TestPassThroughKeyParallel(t *testing.T) {
	const antKey = "sk-ant-provider-secret"
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{antKey}, ChunkDelay: 150 * time.Millisecond})
	for _, c := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"ext_proc", extProcArgs}} {
		t.Run(c.name, func(t *testing.T) {
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider}
general_settings:
  master_key: %[2]s
`, fake.URL(), master), c.args, "ANTHROPIC_API_KEY="+antKey, "ANTHROPIC_API_BASE="+fake.URL(), "LLMGATE_DATA_DIR="+t.TempDir())
			k := keyAPI{t, g}
			key, _ := k.generate(`{"max_parallel_requests": 1}`)
			body := `{"model":"claude-3-5-sonnet-20241022","max_tokens":8,"messages":[{"role":"user","content":"one two three four five six"}]}`
			// The slot is released when the observer has read the answer's
			// end, just after the client (LiteLLM: its success callback):
			// a request right after another may wait for it.
			served := func(what string) {
				t.Helper()
				var st int
				var b []byte
				for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
					if st, _, b = antPost(t, g.URL+"/anthropic/v1/messages", key, body); st == 200 || time.Now().After(deadline) {
						break
					}
				}
				if st != 200 {
					t.Fatalf("%s: %d %s (a slot never released)\n%s", what, st, b, g.Logs())
				}
			}
			for i := 0; i < 3; i++ {
				served(fmt.Sprintf("request %d in a row", i))
			}
			c := anthropic.NewClient(option.WithBaseURL(g.URL+"/anthropic"), option.WithAPIKey(key), option.WithMaxRetries(0))
			var stream *ssestream.Stream[anthropic.MessageStreamEventUnion]
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(20 * time.Millisecond) {
				stream = c.Messages.NewStreaming(context.Background(), anthropic.MessageNewParams{Model: "claude-3-5-sonnet-20241022", MaxTokens: 64,
					Messages: []anthropic.MessageParam{anthropic.NewUserMessage(anthropic.NewTextBlock("one two three four five six seven eight"))}})
				if stream.Next() {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("the slow stream: %v", stream.Err())
				}
			}
			st, h, b := antPost(t, g.URL+"/anthropic/v1/messages", key, body)
			if st != 429 || !strings.Contains(string(b), "max_parallel_requests") || h.Get("Retry-After") == "" {
				t.Errorf("a second request while the stream holds the slot: %d %s, want LiteLLM's 429 with retry-after", st, b)
			}
			for stream.Next() {
			}
			if err := stream.Err(); err != nil {
				t.Fatalf("the slow stream: %v", err)
			}
			for i := 0; i < 3; i++ {
				served(fmt.Sprintf("request %d after the stream ended", i))
			}
		})
	}
}

// antPost posts an Anthropic Messages body with the headers Anthropic
// requires.
func antPost(t *testing.T, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("x-api-key", key)
	req.Header.Set("anthropic-version", "2023-06-01")
	req.Header.Set("content-type", "application/json")
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}
