package e2e

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/redis/go-redis/v9"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// TestModelIOAndDailyLimits (D180): LiteLLM's itpm and rpd deployment
// limits (enforce_model_rate_limits) through the real Envoy with openai-go,
// on two gateway instances sharing one Redis, with each request filter:
// the requests alternate between the instances; every answer's input
// tokens and every try reach Redis' counters; once the deployment's
// counted input tokens leave no room for the next prompt (itpm: 60) and
// after its 3 requests of the day (rpd: 3) either instance answers 429
// with LiteLLM's "litellm.RateLimitError: Model rate limit exceeded. ITPM
// limit=60, current usage=…" ("RPD limit=3, current usage=4"),
// throttling_error, a retry-after, and the provider sees no more
// requests. Without the check every request is served.
func TestModelIOAndDailyLimits(t *testing.T) {
	for _, c := range []struct {
		name    string
		args    []string
		enforce bool
	}{
		{"module", moduleArgs, true},
		{"ext_proc", extProcArgs, true},
		{"without the check", moduleArgs, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			rd := redistest.StartServer(t)
			fake := fakeprovider.StartT(t, fakeprovider.Options{})
			host, port, _ := net.SplitHostPort(rd.Addr())
			checks := ""
			if c.enforce {
				checks = "  optional_pre_call_checks: [enforce_model_rate_limits]\n"
			}
			cfg := "model_list:\n" + modelEntry(fake.URL(), "gpt-in", "io-a", "itpm: 60") + modelEntry(fake.URL(), "gpt-day", "day-a", "rpd: 3") +
				fmt.Sprintf("router_settings:\n  num_retries: 0\n  redis_host: %s\n  redis_port: %s\n%sgeneral_settings:\n  master_key: %s\n", host, port, checks, master)
			ga := startGatewayArgs(t, cfg, c.args)
			gb := startGatewayArgs(t, cfg, c.args)
			rc := redis.NewClient(&redis.Options{Addr: rd.Addr()})
			t.Cleanup(func() { _ = rc.Close() })
			ctx := context.Background()
			waitForMinuteLeft(40 * time.Second) // (itpm counts a UTC minute)
			// counter waits until a counter in Redis holds want (the
			// outcomes are counted after the answers).
			counter := func(key string, want int64) {
				t.Helper()
				deadline := time.Now().Add(10 * time.Second)
				for {
					n, _ := rc.Get(ctx, key).Int64()
					if n == want {
						return
					}
					if time.Now().After(deadline) {
						t.Fatalf("%s is %d, want %d", key, n, want)
					}
					time.Sleep(20 * time.Millisecond)
				}
			}
			ask := func(g *Gateway, model, prompt string) (*openai.ChatCompletion, http.Header, error) {
				var raw *http.Response
				client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey(master), option.WithMaxRetries(0))
				cc, err := client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
					Model:    model,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(prompt)},
				}, option.WithResponseInto(&raw))
				var h http.Header
				if raw != nil {
					h = raw.Header
				}
				return cc, h, err
			}
			refusal := func(what string, err error, h http.Header, want string) {
				t.Helper()
				var ae *openai.Error
				if !errors.As(err, &ae) || ae.StatusCode != 429 || !strings.Contains(ae.Message, want) || ae.Type != "throttling_error" || h.Get("retry-after") == "" {
					t.Fatalf("%s: %v (retry-after %q), want 429 throttling_error with a retry-after and %q", what, err, h.Get("retry-after"), want)
				}
			}
			gws := []*Gateway{ga, gb}

			// itpm: 60. Each prompt is about 20 tokens.
			prompt := strings.Repeat("word ", 16)
			var used int64
			served := 0
			var lastErr error
			var lastH http.Header
			for i := range 8 {
				cc, h, err := ask(gws[i%2], "gpt-in", prompt)
				if err != nil {
					lastErr, lastH = err, h
					break
				}
				served++
				used += cc.Usage.PromptTokens
				if c.enforce {
					counter("llmgate:itpm:io-a:"+time.Now().UTC().Format("200601021504"), used)
					time.Sleep(300 * time.Millisecond) // the module's view of the counters is refreshed every 100 ms
				}
			}
			if !c.enforce {
				if served != 8 || lastErr != nil {
					t.Fatalf("without the check: %d of 8 served (%v), want all", served, lastErr)
				}
			} else {
				if served < 1 || served > 3 || used > 60 {
					t.Fatalf("itpm 60: %d served with %d input tokens, then %v", served, used, lastErr)
				}
				t.Logf("itpm 60: %d served (%d input tokens), then %v", served, used, lastErr)
				refusal("over the itpm", lastErr, lastH, "litellm.RateLimitError: Model rate limit exceeded. ITPM limit=60, current usage=")
			}
			if n := fake.Count("/io-a/"); n != int64(served) {
				t.Errorf("the provider saw %d requests, want the %d served", n, served)
			}

			// rpd: 3, counted in Redis per try.
			day := "llmgate:rpd:day-a:" + time.Now().UTC().Format("20060102")
			streams := requestFilterStreams(t, ga) + requestFilterStreams(t, gb)
			for i := range 3 {
				if _, _, err := ask(gws[i%2], "gpt-day", "hello"); err != nil {
					t.Fatalf("request %d of the day's 3: %v", i+1, err)
				}
				if c.enforce {
					counter(day, int64(i+1))
				}
			}
			if byModule := 3 - (requestFilterStreams(t, ga) + requestFilterStreams(t, gb) - streams); c.name == "module" && c.enforce && byModule < 1 {
				t.Errorf("the modules served %d of the day's 3 requests, want some (the limits are in their view)", byModule)
			} else {
				t.Logf("the modules served %d of the day's 3 requests", byModule)
			}
			time.Sleep(300 * time.Millisecond) // (the view, as above)
			for i := range 2 {
				_, h, err := ask(gws[i%2], "gpt-day", "hello")
				if !c.enforce {
					if err != nil {
						t.Fatalf("without the check: %v", err)
					}
					continue
				}
				refusal(fmt.Sprintf("request %d over the rpd through instance %d", 4+i, 1+i%2), err, h, "litellm.RateLimitError: Model rate limit exceeded. RPD limit=3, current usage=4")
			}
			if want := map[bool]int64{true: 3, false: 5}[c.enforce]; fake.Count("/day-a/") != want {
				t.Errorf("the provider saw %d requests of the day, want %d", fake.Count("/day-a/"), want)
			}
		})
	}
}
