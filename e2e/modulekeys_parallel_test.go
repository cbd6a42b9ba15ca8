package e2e

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/keystore"
)

// A key's max_parallel_requests in the module (docs/architecture.md D117).

// keyParallelConfig: "held" and "slow" (timeout: 1) answer from the holding
// provider, "fast" and "other" from a provider that answers at once; keys on
// the embedded store, no Redis.
func keyParallelConfig(held, fast string) string {
	return "model_list:\n" + modelEntry(held, "held", "held-a", "") + modelEntry(held, "slow", "slow-a", "timeout: 1") +
		modelEntry(fast, "fast", "fast-a", "") + modelEntry(fast, "other", "other-a", "") +
		fmt.Sprintf(`router_settings:
  num_retries: 0
general_settings:
  master_key: %s
  proxy_batch_write_at: 1
`, master)
}

// TestModuleKeyParallel (D117): one module-mode gateway with keys on the
// embedded store and no Redis, a key with max_parallel_requests: 2. The key
// is in the module's table; with two of its requests held at the provider
// a third is refused by the module (no request-filter stream) with LiteLLM's
// v3 limiter's 429 and retry-after 60, and one the module hands to the
// ext_proc filter (metadata in the body) is refused with the same words; a
// request handed on holds a slot of the same count; a slot comes back at
// every end of a request: its answer, the client's reset, the deployment's
// timeout.
func TestModuleKeyParallel(t *testing.T) {
	p := startHoldingProvider(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, keyParallelConfig(p.srv.URL, fake.URL()), "LLMGATE_DATA_DIR="+t.TempDir())
	waitLog(t, g, "llmgate module: config")
	key, _ := keyAPI{t, g}.generate(`{"max_parallel_requests":2,"models":["held","slow","fast"]}`)
	waitModuleKnowsKey(t, g, key, "other")
	client := newClient(g, key)
	hash := keystore.HashKey(key)

	chat := func(ctx context.Context, model string, meta bool) error {
		params := openai.ChatCompletionNewParams{Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("par")}}
		if meta {
			params.Metadata = map[string]string{"via": "ext_proc"} // the module hands it on
		}
		_, err := client.Chat.Completions.New(ctx, params)
		return err
	}
	// refused checks a "fast" request that must be refused at the limit.
	refused := func(what string, meta bool) {
		t.Helper()
		before := requestFilterStreams(t, g)
		var a keyAnswer
		if meta {
			err := chat(context.Background(), "fast", true)
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) {
				t.Fatalf("%s: %v, want a 429", what, err)
			}
			a = keyAnswer{status: apiErr.StatusCode, hdr: apiErr.Response.Header, err: apiErr}
		} else {
			a = keyChat(t, g, key, "fast", "probe")
		}
		if a.status != 429 || a.err == nil {
			t.Fatalf("%s: %d, want a 429", what, a.status)
		}
		prefix := "Rate limit exceeded for api_key: " + hash + ". Limit type: max_parallel_requests. Current limit: 2, Remaining: 0. Limit resets at: "
		rest, ok := strings.CutPrefix(a.err.Message, prefix)
		if _, err := time.Parse("2006-01-02 15:04:05 MST", rest); !ok || err != nil || a.err.Type != "rate_limit_error" || a.err.Code != "429" {
			t.Fatalf("%s: error %s, want LiteLLM's v3 message %q<time> UTC, type rate_limit_error, code 429", what, a.err.RawJSON(), prefix)
		}
		if ra := a.hdr.Get("retry-after"); ra != "60" {
			t.Fatalf("%s: retry-after %q, want 60 (the v3 limiter's window)", what, ra)
		}
		for k := range a.hdr {
			if strings.HasPrefix(strings.ToLower(k), "x-llmgate-") {
				t.Fatalf("%s: internal header %s reached the client", what, k)
			}
		}
		if streams := requestFilterStreams(t, g) - before; !meta && streams != 0 {
			t.Fatalf("%s: refused through the ext_proc path, want by the module", what)
		}
	}
	// freed waits until a "fast" request of the key is answered again (a
	// slot came back); a slot that never does fails.
	freed := func(what string) {
		t.Helper()
		for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
			a := keyChat(t, g, key, "fast", "probe")
			if a.status == 200 {
				return
			}
			if a.status != 429 || time.Now().After(deadline) {
				t.Fatalf("%s: the key's slots did not come back within 10 s: %d %v", what, a.status, a.err)
			}
		}
	}
	// fire sends held requests (meta: handed on) and waits until all are
	// at the provider.
	fire := func(ctx context.Context, model string, meta []bool) (errs chan error) {
		t.Helper()
		p.reset()
		p.hold()
		errs = make(chan error, len(meta))
		for i, m := range meta {
			go func() { errs <- chat(ctx, model, m) }()
			if !p.waitCalls(i + 1) {
				t.Fatalf("held request %d did not reach the provider", i+1)
			}
		}
		return errs
	}
	wait := func(errs chan error, n int) []error {
		var out []error
		for range n {
			out = append(out, <-errs)
		}
		return out
	}

	t.Run("limit", func(t *testing.T) {
		before := requestFilterStreams(t, g)
		errs := fire(context.Background(), "held", []bool{false, false})
		if n := requestFilterStreams(t, g) - before; n != 0 {
			t.Errorf("%d of the 2 held requests went through the ext_proc path, want both served by the module", n)
		}
		refused("a third request", false)
		refused("a third request handed to ext_proc", true)
		p.release()
		for i, err := range wait(errs, 2) {
			if err != nil {
				t.Errorf("held request %d: %v", i+1, err)
			}
		}
		p.waitIdle()
		freed("after the answers")
	})

	t.Run("both_paths", func(t *testing.T) {
		// One held request through the ext_proc filter, one through the
		// module: one count.
		errs := fire(context.Background(), "held", []bool{true, false})
		refused("a third request beside one handed on", false)
		p.release()
		for i, err := range wait(errs, 2) {
			if err != nil {
				t.Errorf("held request %d: %v", i+1, err)
			}
		}
		p.waitIdle()
		freed("after the answers")
	})

	t.Run("client_reset", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		errs := fire(ctx, "held", []bool{false, true})
		refused("a third request", false)
		cancel()
		for i, err := range wait(errs, 2) {
			if !errors.Is(err, context.Canceled) {
				t.Errorf("reset request %d: %v, want the client's cancel", i+1, err)
			}
		}
		freed("after the client reset both")
		p.release()
		p.waitIdle()
	})

	t.Run("timeout", func(t *testing.T) {
		errs := fire(context.Background(), "slow", []bool{false, true})
		for i, err := range wait(errs, 2) {
			var apiErr *openai.Error
			if !errors.As(err, &apiErr) || apiErr.StatusCode < 400 {
				t.Errorf("timed-out request %d: %v, want the gateway's timeout error", i+1, err)
			}
		}
		freed("after both timed out")
		p.release()
		p.waitIdle()
	})

}
