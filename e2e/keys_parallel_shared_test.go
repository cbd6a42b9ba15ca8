package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store/pgtest"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// A key's max_parallel_requests across instances on one Redis (D146).

// TestKeyParallelSharedRedis (D146): two module-mode gateways on one Redis
// and one PostgreSQL database, a key with max_parallel_requests: 2 and a
// provider that holds its answers. Six concurrent requests, three through
// each instance: the provider never has more than two of them in flight,
// the others get LiteLLM's v3 limiter 429 (message, type, code, retry-after
// 60) on whichever instance they reached. Then one instance is killed
// (SIGKILL, its Envoy too) while it holds a slot: the other refuses the
// key's requests while the dead instance's slot is counted, and serves them
// again once its lease expires in Redis (before D146 the dead slot stayed
// counted as long as the key was used at least every 15 minutes).
func TestKeyParallelSharedRedis(t *testing.T) {
	rd := redistest.StartServer(t)
	p := startHoldingProvider(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	url := pgtest.Start(t).NewDatabase(t)
	cfg := "model_list:\n" + modelEntry(p.srv.URL, "held", "held-a", "") + modelEntry(fake.URL(), "fast", "fast-a", "") +
		fmt.Sprintf("general_settings:\n  master_key: %s\n  proxy_batch_write_at: 1\n  database_url: %s\n  user_api_key_cache_ttl: 1\n", master, url) +
		redisRouterSettings(rd.Addr()) + "  num_retries: 0\n"
	ga := startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
	gb := startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
	key, _ := keyAPI{t, ga}.generate(`{"max_parallel_requests":2,"models":["held","fast"]}`)
	hash := keystore.HashKey(key)
	for _, g := range []*Gateway{ga, gb} { // both instances know the key
		for deadline := time.Now().Add(15 * time.Second); ; time.Sleep(100 * time.Millisecond) {
			if a := keyChat(t, g, key, "fast", "probe"); a.status == 200 {
				break
			} else if time.Now().After(deadline) {
				t.Fatalf("%s never served the new key: %d %v", g.URL, a.status, a.err)
			}
		}
	}

	refusal := func(what string, err error) {
		t.Helper()
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 429 {
			t.Fatalf("%s: %v, want a 429", what, err)
		}
		prefix := "Rate limit exceeded for api_key: " + hash + ". Limit type: max_parallel_requests. Current limit: 2, Remaining: 0. Limit resets at: "
		rest, ok := strings.CutPrefix(apiErr.Message, prefix)
		if _, perr := time.Parse("2006-01-02 15:04:05 MST", rest); !ok || perr != nil || apiErr.Type != "rate_limit_error" || apiErr.Code != "429" {
			t.Fatalf("%s: error %s, want LiteLLM's v3 message %q<time> UTC, type rate_limit_error, code 429", what, apiErr.RawJSON(), prefix)
		}
		if ra := apiErr.Response.Header.Get("retry-after"); ra != "60" {
			t.Fatalf("%s: retry-after %q, want 60", what, ra)
		}
		for k := range apiErr.Response.Header {
			if strings.HasPrefix(strings.ToLower(k), "x-llmgate-") {
				t.Fatalf("%s: internal header %s reached the client", what, k)
			}
		}
	}
	chat := func(ctx context.Context, g *Gateway, model string) error {
		client := newClient(g, key)
		_, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("par")}})
		return err
	}

	t.Run("limit across instances", func(t *testing.T) {
		p.reset()
		p.hold()
		type result struct {
			i   int
			err error
		}
		res := make(chan result, 6)
		for i := range 6 {
			g := ga
			if i%2 == 1 {
				g = gb
			}
			go func() { res <- result{i, chat(context.Background(), g, "held")} }()
		}
		// Four end while two are held at the provider: each a refusal.
		for n := 0; n < 4; n++ {
			select {
			case r := <-res:
				refusal(fmt.Sprintf("request %d", r.i), r.err)
			case <-time.After(30 * time.Second):
				all, _ := p.counts()
				t.Fatalf("only %d of 6 requests ended while the provider held %d", n, all["held-a"])
			}
		}
		if !p.waitCalls(2) {
			t.Fatal("two requests never reached the provider")
		}
		p.release()
		for range 2 {
			if r := <-res; r.err != nil {
				t.Fatalf("request %d: %v, want an answer", r.i, r.err)
			}
		}
		all, peak := p.counts()
		if peak["held-a"] != 2 || all["held-a"] != 2 {
			t.Fatalf("at the provider: peak %d in flight, %d calls; want 2 and 2", peak["held-a"], all["held-a"])
		}
	})

	t.Run("a killed holder's slot expires", func(t *testing.T) {
		p.reset()
		p.hold()
		ctxB, cancelB := context.WithCancel(context.Background())
		defer cancelB()
		doneA, doneB := make(chan error, 1), make(chan error, 1)
		go func() { doneA <- chat(context.Background(), ga, "held") }()
		if !p.waitCalls(1) {
			t.Fatal("a's held request never reached the provider")
		}
		go func() { doneB <- chat(ctxB, gb, "held") }()
		if !p.waitCalls(2) {
			t.Fatal("b's held request never reached the provider")
		}
		refusal("b at the limit", chat(context.Background(), gb, "fast"))
		if err := syscall.Kill(-ga.cmd.Process.Pid, syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-ga.done
		<-doneA
		// a's slot is still counted at first; within its lease's TTL it
		// comes back, while b's own held request keeps its slot.
		var last error
		for deadline := time.Now().Add(90 * time.Second); ; time.Sleep(500 * time.Millisecond) {
			last = chat(context.Background(), gb, "fast")
			if last == nil {
				break
			}
			refusal("b while a's slot is counted", last)
			if time.Now().After(deadline) {
				t.Fatalf("the killed instance's slot never came back: %v", last)
			}
		}
		// b's held request still holds its slot: one more fast request
		// fits (2 of 2 in flight would refuse the next only while both run).
		select {
		case err := <-doneB:
			t.Fatalf("b's held request ended early: %v", err)
		default:
		}
		p.release()
		if err := <-doneB; err != nil {
			t.Fatalf("b's held request: %v", err)
		}
	})
}
