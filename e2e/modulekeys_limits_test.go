package e2e

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

// Keys' rpm/tpm limits served by the module (docs/architecture.md D83).

// keyAnswer is one chat request's outcome through openai-go.
type keyAnswer struct {
	status   int
	hdr      http.Header
	err      *openai.Error // a non-200 in OpenAI form
	tokens   int64         // the answer's total_tokens
	byModule bool          // no request-filter stream
}

// keyChat sends one chat request for model with key through g (openai-go).
func keyChat(t *testing.T, g *Gateway, key, model, content string) keyAnswer {
	t.Helper()
	before := requestFilterStreams(t, g)
	var raw *http.Response
	client := newClient(g, key)
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    model,
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage(content)},
	}, option.WithResponseInto(&raw))
	a := keyAnswer{byModule: requestFilterStreams(t, g) == before}
	var apiErr *openai.Error
	switch {
	case err == nil:
		a.status, a.hdr, a.tokens = 200, raw.Header, resp.Usage.TotalTokens
	case errors.As(err, &apiErr):
		a.status, a.hdr, a.err = apiErr.StatusCode, apiErr.Response.Header, apiErr
	default:
		t.Fatalf("chat: %v", err)
	}
	return a
}

// requireKeyLimit429 checks a refusal for a key's limit: 429, LiteLLM's
// message (as the ext_proc path words it), OpenAI's error shape, a
// retry-after within the minute.
func requireKeyLimit429(t *testing.T, what string, a keyAnswer, message string) {
	t.Helper()
	if a.status != 429 || a.err == nil {
		t.Fatalf("%s: %d, want a 429", what, a.status)
	}
	if a.err.Message != message || a.err.Type != "rate_limit_error" || a.err.Code != "429" || a.err.Param != "None" {
		t.Fatalf("%s: error %s, want message %q, type rate_limit_error, code 429, param None", what, a.err.RawJSON(), message)
	}
	if ra, err := strconv.Atoi(a.hdr.Get("retry-after")); err != nil || ra < 1 || ra > 60 {
		t.Fatalf("%s: retry-after %q, want 1–60 s (the rest of the UTC minute)", what, a.hdr.Get("retry-after"))
	}
	for k := range a.hdr {
		if strings.HasPrefix(strings.ToLower(k), "x-llmgate-") {
			t.Fatalf("%s: internal header %s reached the client", what, k)
		}
	}
}

// TestModuleKeyLimits (D83): one module-mode gateway, keys on the embedded
// store, counters in memory. A key with rpm_limit is served by the module
// from leases on its own counter (after the first request of the key,
// which asks for the lease), every answer carrying
// x-litellm-key-remaining-requests exactly; at the limit the module itself
// refuses (no request-filter stream) with the ext_proc path's 429; the
// provider got exactly the limit. A key with tpm_limit is counted from the
// answers' usage and refused by the module once the tokens reach it, with
// x-litellm-key-remaining-tokens on the way.
func TestModuleKeyLimits(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, keysConfig(fake.URL(), ""), "LLMGATE_DATA_DIR="+t.TempDir())
	waitLog(t, g, "llmgate module: config")
	k := keyAPI{t, g}

	t.Run("rpm_limit", func(t *testing.T) {
		const limit = 100 // (limits under 100 are not leased: Begin counts them)
		// The answers are gathered first and judged after: a run that
		// crossed a UTC minute boundary (a loaded host) is run again with a
		// new key rather than judged (seen in CI: the first 429 expected
		// came as a 200 of the next minute).
		var answers []keyAnswer
		var alias string
		for attempt := 1; ; attempt++ {
			alias = fmt.Sprintf("lim100-%d", attempt)
			key, _ := k.generate(fmt.Sprintf(`{"rpm_limit":%d,"key_alias":%q,"models":["gpt-x"]}`, limit, alias))
			waitModuleKnowsKey(t, g, key, "other")
			waitForMinuteLeft(40 * time.Second)
			minute := time.Now().UTC().Truncate(time.Minute)
			fake.Reset()
			answers = answers[:0]
			for i := 1; i <= limit+4; i++ {
				answers = append(answers, keyChat(t, g, key, "gpt-x", "rpm "+strconv.Itoa(i)))
			}
			if time.Now().UTC().Truncate(time.Minute) == minute {
				break
			}
			if attempt == 3 {
				t.Fatal("three runs crossed a UTC minute boundary; cannot judge the rpm limit")
			}
			t.Logf("run %d crossed a UTC minute boundary; again with a new key", attempt)
		}
		moduleOK := 0
		for i, a := range answers {
			i++
			if i <= limit {
				if a.status != 200 {
					t.Fatalf("request %d of %d: %d %v", i, limit, a.status, a.err)
				}
				got, want := a.hdr.Get("x-litellm-key-remaining-requests"), strconv.Itoa(limit-i)
				// A request the module hands on reads the gateway's count,
				// which may not hold the module's previous answer yet (its
				// outcome is reported after it): one more remaining there is
				// a known lag (CI 2026-11-29 18:04: request 60 read 41). The
				// module's own answers are exact, and the provider count
				// below is.
				if got != want && (a.byModule || got != strconv.Itoa(limit-i+1)) {
					t.Errorf("request %d (module %v): x-litellm-key-remaining-requests %q, want %s", i, a.byModule, got, want)
				}
				if a.byModule {
					moduleOK++
				}
				continue
			}
			requireKeyLimit429(t, "over the limit", a, fmt.Sprintf("LiteLLM Rate Limit Handler for rate limit type = key. Crossed TPM / RPM / Max Parallel Request Limit. current rpm: %d, rpm limit: %d, key=%s", limit, limit, alias))
			if !a.byModule {
				t.Errorf("request %d over the limit was refused through the ext_proc path, want by the module", i)
			}
		}
		if n := fake.Count("/v1/"); n != limit {
			t.Errorf("the provider got %d requests of the key in one minute, want exactly %d", n, limit)
		}
		if moduleOK == 0 {
			t.Errorf("the module served none of the key's %d answered requests (all took the ext_proc path)", limit)
		}
		t.Logf("rpm_limit %d: the module served %d of the %d answered requests and refused the 4 over the limit", limit, moduleOK, limit)
	})

	t.Run("tpm_limit", func(t *testing.T) {
		const limit = 30
		key, _ := k.generate(fmt.Sprintf(`{"tpm_limit":%d,"key_alias":"tpm30","models":["gpt-x"]}`, limit))
		waitModuleKnowsKey(t, g, key, "other")
		waitForMinuteLeft(40 * time.Second)
		minute := time.Now().UTC().Truncate(time.Minute)
		var sum int64
		moduleOK := 0
		for i := 1; ; i++ {
			if i > 20 {
				t.Fatalf("20 requests answered with %d tokens in all; the tpm_limit %d never refused", sum, limit)
			}
			a := keyChat(t, g, key, "gpt-x", "tokens "+strconv.Itoa(i))
			if a.status == 200 {
				if sum >= limit {
					t.Fatalf("request %d answered with %d tokens already counted (limit %d)", i, sum, limit)
				}
				if got, want := a.hdr.Get("x-litellm-key-remaining-tokens"), strconv.FormatInt(limit-sum, 10); got != want {
					t.Errorf("request %d (module %v): x-litellm-key-remaining-tokens %q, want %s", i, a.byModule, got, want)
				}
				if a.byModule {
					moduleOK++
				}
				sum += a.tokens
				// The answer's usage reaches the counter off the request
				// path (the outcome report, then the module's view).
				time.Sleep(400 * time.Millisecond)
				continue
			}
			if sum < limit {
				t.Fatalf("request %d refused with %d tokens counted, under the limit %d: %d %v", i, sum, limit, a.status, a.err)
			}
			requireKeyLimit429(t, "tpm reached", a, fmt.Sprintf("LiteLLM Rate Limit Handler for rate limit type = key. Crossed TPM / RPM / Max Parallel Request Limit. current tpm: %d, tpm limit: %d, key=tpm30", sum, limit))
			if !a.byModule {
				t.Errorf("the tpm refusal came through the ext_proc path, want the module's")
			}
			break
		}
		if time.Now().UTC().Truncate(time.Minute) != minute {
			t.Fatal("the run crossed a UTC minute boundary; cannot judge the tpm limit")
		}
		if moduleOK == 0 {
			t.Error("the module served none of the tpm-limited key's requests")
		}
	})
}

// TestModuleKeyLimitsSharedRedis (D83): two module-mode gateways on one
// PostgreSQL and one Redis; a key with rpm_limit: 20, 30 requests through
// each instance in one UTC minute, 3 at a time (openai-go): exactly 20
// reach the provider and answer 200, the rest are 429s in OpenAI form with
// retry-after, and the modules serve part of them (leases on the key's
// counter in Redis, `rpm:key:<token>:<minute>`, beside ext_proc's Begin).
func TestModuleKeyLimitsSharedRedis(t *testing.T) {
	rd := redistest.StartServer(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	url := pgtest.Start(t).NewDatabase(t)
	cfg := keysConfig(fake.URL(), url) + "  user_api_key_cache_ttl: 1\n" + redisRouterSettings(rd.Addr())
	ga := startGateway(t, cfg, "LLMGATE_DATA_DIR="+t.TempDir())
	gb := startGateway(t, cfg, "LLMGATE_DATA_DIR="+t.TempDir())
	key, _ := keyAPI{t, ga}.generate(`{"rpm_limit":20,"models":["gpt-x"]}`)
	waitModuleKnowsKey(t, ga, key, "other")
	waitModuleKnowsKey(t, gb, key, "other") // (b's cache reloads within 1 s)

	waitForMinuteLeft(25 * time.Second)
	minute := time.Now().UTC().Truncate(time.Minute)
	fake.Reset()
	var ta, tb limitTally
	done := make(chan struct{})
	go func() { ta = sendOpenAIKey(t, ga, key, "gpt-x", 30, 3); close(done) }()
	tb = sendOpenAIKey(t, gb, key, "gpt-x", 30, 3)
	<-done
	if time.Now().UTC().Truncate(time.Minute) != minute {
		t.Fatal("the run crossed a UTC minute boundary; cannot judge the rpm limit")
	}
	requireExactRPM(t, "a key's rpm_limit 20 over two instances", ta, tb, int(fake.Count("/v1/")), 20)
}
