package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// store_prompts_in_spend_logs (docs/architecture.md D117): a virtual key's
// requests through the real Envoy with openai-go; /spend/logs returns each
// request's body as proxy_server_request and the answer the client got as
// response (a string over 2,048 characters cut as LiteLLM cuts it), messages
// {}; a streamed request's response is the assembled answer (D128). The embedded store and
// PostgreSQL alike.
func TestSpendLogsStorePrompts(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	t.Run("embedded", func(t *testing.T) {
		runSpendLogsStorePrompts(t, startGateway(t, keysConfig(fake.URL(), "")+"  store_prompts_in_spend_logs: true\n", "LLMGATE_DATA_DIR="+t.TempDir()))
	})
	t.Run("postgres", func(t *testing.T) {
		url := pgtest.Start(t).NewDatabase(t)
		runSpendLogsStorePrompts(t, startGateway(t, keysConfig(fake.URL(), url)+"  store_prompts_in_spend_logs: true\n", "LLMGATE_DATA_DIR="+t.TempDir()))
	})
}

func runSpendLogsStorePrompts(t *testing.T, g *Gateway) {
	key, _ := keyAPI{t, g}.generate(`{"models":["gpt-x"]}`)
	client := newClient(g, key)
	long := strings.Repeat("a", 1000) + strings.Repeat("b", 2000) + "the end"
	type sent struct {
		id, content string
		answer      map[string]any // nil: a stream
		streamed    string         // a stream's content as the client got it
	}
	var all []sent
	for _, content := range []string{"hello prompts", long} {
		var raw *http.Response
		resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-x",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(content)}}, option.WithResponseInto(&raw))
		if err != nil {
			t.Fatal(err)
		}
		var answer map[string]any
		if err := json.Unmarshal([]byte(resp.RawJSON()), &answer); err != nil {
			t.Fatal(err)
		}
		all = append(all, sent{id: raw.Header.Get("x-litellm-call-id"), content: content, answer: answer})
	}
	var raw *http.Response
	st := client.Chat.Completions.NewStreaming(context.Background(), openai.ChatCompletionNewParams{Model: "gpt-x",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("a stream")}}, option.WithResponseInto(&raw))
	var streamed strings.Builder
	for st.Next() {
		if c := st.Current(); len(c.Choices) > 0 {
			streamed.WriteString(c.Choices[0].Delta.Content)
		}
	}
	if err := st.Err(); err != nil {
		t.Fatal(err)
	}
	all = append(all, sent{id: raw.Header.Get("x-litellm-call-id"), content: "a stream", streamed: streamed.String()})

	for _, s := range all {
		if s.id == "" {
			t.Fatal("no x-litellm-call-id on the answer")
		}
		row := spendLogRow(t, g, s.id)
		var req struct {
			Model    string `json:"model"`
			Messages []struct {
				Role    string `json:"role"`
				Content string `json:"content"`
			} `json:"messages"`
		}
		if err := json.Unmarshal(row["proxy_server_request"], &req); err != nil || req.Model != "gpt-x" || len(req.Messages) != 1 || req.Messages[0].Role != "user" {
			t.Fatalf("%s: proxy_server_request %s, want the request body", s.id, row["proxy_server_request"])
		}
		if want := cutForDB(s.content); req.Messages[0].Content != want {
			t.Errorf("%s: the stored message (%d characters) is not the sent one cut as LiteLLM cuts it (%d): %.80q…", s.id, len(req.Messages[0].Content), len(want), req.Messages[0].Content)
		}
		var resp map[string]any
		if err := json.Unmarshal(row["response"], &resp); err != nil {
			t.Fatalf("%s: response %s", s.id, row["response"])
		}
		if s.answer == nil {
			// LiteLLM's complete_streaming_response (D128).
			ch, _ := resp["choices"].([]any)
			var msg map[string]any
			if len(ch) == 1 {
				c, _ := ch[0].(map[string]any)
				msg, _ = c["message"].(map[string]any)
			}
			if resp["object"] != "chat.completion" || msg == nil || msg["role"] != "assistant" || msg["content"] != s.streamed {
				t.Errorf("%s: a stream's response %s, want the assembled answer with content %q", s.id, row["response"], s.streamed)
			}
		} else if got, want := mustJSON(t, resp), mustJSON(t, cutStrings(s.answer)); string(got) != string(want) {
			t.Errorf("%s: response %.300s…, want the answer the client got, cut as LiteLLM cuts it: %.300s…", s.id, got, want)
		}
		if string(row["messages"]) != "{}" {
			t.Errorf("%s: messages %s, want {}", s.id, row["messages"])
		}
	}
}

// cutForDB is LiteLLM's cut of a string over 2,048 characters (ASCII here):
// its first 35 % and last 65 % of 2,048 around the marker.
func cutForDB(s string) string {
	if len(s) <= 2048 {
		return s
	}
	return s[:716] + "... (litellm_truncated skipped " + strconv.Itoa(len(s)-2048) + " chars) ..." + s[len(s)-1332:]
}

// cutStrings applies cutForDB to every string of a decoded JSON value.
func cutStrings(v any) any {
	switch x := v.(type) {
	case string:
		return cutForDB(x)
	case []any:
		for i := range x {
			x[i] = cutStrings(x[i])
		}
	case map[string]any:
		for k := range x {
			x[k] = cutStrings(x[k])
		}
	}
	return v
}

func mustJSON(t *testing.T, v any) []byte {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// spendLogRow waits for the spend log of request id (/spend/logs?request_id=).
func spendLogRow(t *testing.T, g *Gateway, id string) map[string]json.RawMessage {
	t.Helper()
	for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(200 * time.Millisecond) {
		st, _, b := do(t, "GET", g.URL+"/spend/logs?request_id="+id, master, "")
		var rows []map[string]json.RawMessage
		if st == 200 && json.Unmarshal(b, &rows) == nil && len(rows) == 1 {
			return rows[0]
		}
		if time.Now().After(deadline) {
			t.Fatalf("/spend/logs?request_id=%s: %d %s", id, st, b)
		}
	}
}
