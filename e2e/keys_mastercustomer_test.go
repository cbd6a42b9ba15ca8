package e2e

import (
	"context"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestMasterKeyCustomerSpend (D96): a master-key request whose body names a
// customer (`user`) that no /customer/new created is costed as LiteLLM
// costs it: the customer's row appears with the answer's spend
// (/customer/info), on both request filters and both key stores. Before,
// the spend batch wrote the row but /customer/info read only the key
// cache, which learns store rows at its next refresh: 404 (D91's note).
func TestMasterKeyCustomerSpend(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	for _, mode := range requestFilterModes {
		for _, store := range []string{"embedded", "postgres"} {
			t.Run(mode.name+"/"+store, func(t *testing.T) {
				db := ""
				if store == "postgres" {
					db = pg.NewDatabase(t)
				}
				g := startGatewayArgs(t, keysConfig(fake.URL(), db), mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
				k := keyAPI{t, g}
				client := newClient(g, master)
				resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model:    "gpt-x",
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("bill me")},
					User:     openai.String("mk-cust"),
				})
				if err != nil {
					t.Fatalf("the master key's request with a customer: %v", err)
				}
				want := float64(resp.Usage.PromptTokens)*0.001 + float64(resp.Usage.CompletionTokens)*0.002
				deadline := time.Now().Add(10 * time.Second)
				for {
					st, m := k.call("GET", "/customer/info?end_user_id=mk-cust", master, "")
					if sp, _ := m["spend"].(float64); st == 200 && sp > 0 {
						if d := sp - want; d > 1e-9 || d < -1e-9 {
							t.Fatalf("the customer's spend %v, want the answer's cost %v", sp, want)
						}
						break
					}
					if time.Now().After(deadline) {
						t.Fatalf("the customer of a master-key request after 10 s: %d %v", st, m)
					}
					time.Sleep(100 * time.Millisecond)
				}
			})
		}
	}
}
