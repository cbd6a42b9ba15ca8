package e2e

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestMasterKeyCustomerSpend (D96): a master-key request whose body names a
// customer (`user`) that no /customer/new created is costed as LiteLLM
// costs it: the customer's row appears with the answer's spend
// (/customer/info, /customer/list), on both request filters and both key
// stores. Before, the spend batch wrote the row but both routes read only
// the key cache, which learns store rows at its next refresh (D91's note).
func TestMasterKeyCustomerSpend(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	eachFilterAndStore(t, func(t *testing.T, mode requestFilterMode, db string) {
		g := startGatewayArgs(t, keysConfig(fake.URL(), db), mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
		k := keyAPI{t, g}
		client := newClient(g, master)
		cost := map[string]float64{}
		for _, cust := range []string{"mk-cust", "mk-listed"} {
			resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
				Model:    "gpt-x",
				Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("bill me")},
				User:     openai.String(cust),
			})
			if err != nil {
				t.Fatalf("the master key's request for %s: %v", cust, err)
			}
			cost[cust] = float64(resp.Usage.PromptTokens)*0.001 + float64(resp.Usage.CompletionTokens)*0.002
		}
		near := func(a, b float64) bool { return a-b < 1e-9 && b-a < 1e-9 }
		// /customer/info for one, /customer/list for the other (each
		// first asked before the cache's refresh).
		deadline := time.Now().Add(10 * time.Second)
		// waitSpend polls read until it shows a spend, which must be the
		// answer's cost.
		waitSpend := func(what string, want float64, read func() (int, float64, any)) {
			for {
				st, sp, got := read()
				if st == 200 && sp > 0 {
					if !near(sp, want) {
						t.Fatalf("%s: spend %v, want the answer's cost %v", what, sp, want)
					}
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("%s after 10 s: %d %v", what, st, got)
				}
				time.Sleep(100 * time.Millisecond)
			}
		}
		waitSpend("/customer/info of a master-key request's customer", cost["mk-cust"], func() (int, float64, any) {
			st, m := k.call("GET", "/customer/info?end_user_id=mk-cust", master, "")
			sp, _ := m["spend"].(float64)
			return st, sp, m
		})
		waitSpend("/customer/list", cost["mk-listed"], func() (int, float64, any) {
			st, b := getList(t, g, "/customer/list")
			var sp float64
			for _, c := range b {
				if c["user_id"] == "mk-listed" {
					sp, _ = c["spend"].(float64)
				}
			}
			return st, sp, b
		})
	})
}

// getList is a GET of a route answering a JSON list.
func getList(t *testing.T, g *Gateway, path string) (int, []map[string]any) {
	t.Helper()
	st, _, b := do(t, "GET", g.URL+path, master, "")
	var l []map[string]any
	_ = json.Unmarshal(b, &l)
	return st, l
}
