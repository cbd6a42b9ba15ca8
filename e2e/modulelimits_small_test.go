package e2e

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/openai/openai-go/v3"
)

// limitTally is what openai-go saw of a batch of requests.
type limitTally struct {
	ok, limited, other int
	served             int // by the module: no request-filter stream
	errs               []string
}

// sendOpenAI sends n chat requests for group through g with openai-go, conc
// at a time, and tallies the answers: 200s, 429s in OpenAI form with
// retry-after, anything else.
func sendOpenAI(t *testing.T, g *Gateway, group string, n, conc int) limitTally {
	t.Helper()
	return sendOpenAIKey(t, g, master, group, n, conc)
}

// sendOpenAIKey is sendOpenAI with key.
func sendOpenAIKey(t *testing.T, g *Gateway, key, group string, n, conc int) limitTally {
	t.Helper()
	before := requestFilterStreams(t, g)
	client := newClient(g, key)
	var mu sync.Mutex
	var tl limitTally
	next := make(chan int)
	var wg sync.WaitGroup
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				_, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
					Model:    group,
					Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("limits " + strconv.Itoa(i))},
				})
				var apiErr *openai.Error
				mu.Lock()
				switch {
				case err == nil:
					tl.ok++
				case errors.As(err, &apiErr) && apiErr.StatusCode == 429 && apiErr.Response.Header.Get("retry-after") != "" && apiErr.Message != "":
					tl.limited++
				default:
					tl.other++
					tl.errs = append(tl.errs, err.Error())
				}
				mu.Unlock()
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	tl.served = n - (requestFilterStreams(t, g) - before)
	return tl
}

// requireExactRPM checks two instances' tallies of one UTC minute against
// an rpm limit: every answer a 200 or a 429 in OpenAI form with
// retry-after, exactly limit answered and reaching the provider (got),
// some of them served by the modules.
func requireExactRPM(t *testing.T, what string, ta, tb limitTally, got, limit int) {
	t.Helper()
	for _, e := range append(ta.errs, tb.errs...) {
		t.Errorf("%s: neither 200 nor a 429 with retry-after in OpenAI form: %s", what, e)
	}
	if ok := ta.ok + tb.ok; ok != limit || got != limit {
		t.Errorf("%s: %d answered 200, %d reached the provider in one minute; want exactly %d", what, ok, got, limit)
	}
	if ta.served+tb.served == 0 {
		t.Errorf("%s: the modules served none of the requests (every one took the ext_proc path)", what)
	}
	t.Logf("%s: A: %d ok, %d limited, module served %d; B: %d ok, %d limited, module served %d",
		what, ta.ok, ta.limited, ta.served, tb.ok, tb.limited, tb.served)
}

// TestModuleLimitsSmallRPM (D72): a deployment with an rpm limit under 100
// is served by the modules of two instances on one Redis from leases of
// one request, taken only once the instance had a try of it in the minute:
// the limit is never passed, it is reached exactly when both instances
// send, and exactly when only one does (the other holds no lease).
func TestModuleLimitsSmallRPM(t *testing.T) {
	_, fake, ga, gb := moduleGatewayPair(t, func(fake, rd string) string { return limitsConfig(fake, rd, 20) })

	run := func(t *testing.T, both bool) {
		fake.Reset()
		waitForMinuteLeft(25 * time.Second)
		minute := time.Now().UTC().Truncate(time.Minute)
		var ta, tb limitTally
		done := make(chan struct{})
		go func() { ta = sendOpenAI(t, ga, "limited", 30, 3); close(done) }()
		if both {
			tb = sendOpenAI(t, gb, "limited", 30, 3)
		}
		<-done
		if time.Now().UTC().Truncate(time.Minute) != minute {
			t.Fatalf("the run crossed a UTC minute boundary; cannot judge the rpm limit")
		}
		requireExactRPM(t, "rpm: 20", ta, tb, int(fake.Count("/lim/")), 20)
	}
	t.Run("two instances send", func(t *testing.T) { run(t, true) })
	t.Run("one instance sends: the other holds no lease", func(t *testing.T) {
		// The next minute: nothing leased for it yet on either instance.
		now := time.Now()
		time.Sleep(now.Truncate(time.Minute).Add(time.Minute).Sub(now) + 100*time.Millisecond)
		run(t, false)
	})
}
