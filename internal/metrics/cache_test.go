package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"google.golang.org/protobuf/proto"

	"github.com/llmgate/llmgate/internal/outcome"
)

// The series cache of successful tries (D58) gives the same figures as the
// label maps: the same tries, through a Metrics with the cache and one
// without, gather the same litellm_* families — successes of several
// identities (streams, end users, keys), failures, retried tries,
// rate-limit headers, a cooldown — also past the cache's bound.
func TestSeriesCacheSameFigures(t *testing.T) {
	cached, plain := New(Options{}), New(Options{})
	plain.noCache = true
	now := time.Unix(2000, 0)
	cached.now, plain.now = func() time.Time { return now }, func() time.Time { return now }
	var tries []outcome.Try
	for i := 0; i < 60; i++ {
		tries = append(tries, try(func(t *outcome.Try) {
			t.DeploymentID = fmt.Sprintf("d%d", i%3)
			t.EndUser = fmt.Sprintf("u%d", i%5)
			t.KeyHash = fmt.Sprintf("k%d", i%2)
			t.Latency = time.Duration(i) * 10 * time.Millisecond
			switch i % 6 {
			case 1:
				t.Stream, t.TimeToFirstToken = true, time.Duration(i)*time.Millisecond
			case 2:
				t.Status, t.ErrorClass = 500, "InternalServerError"
			case 3:
				t.Answer = outcome.AnswerRetried
			case 4:
				t.HasRemainingRequests, t.RemainingRequests = true, int64(100-i)
			case 5:
				t.CompletionTokens, t.CostKnown = 0, false
			}
			if i == 17 {
				t.Start = time.Time{}
			}
			if i == 40 {
				t.Status, t.ErrorClass, t.CooldownUntil = 429, "RateLimitError", now.Add(time.Minute)
			}
		}))
	}
	for _, tr := range tries {
		cached.Observe(tr)
		plain.Observe(tr)
	}
	same := func(when string) {
		t.Helper()
		a, b := litellmFamilies(t, cached), litellmFamilies(t, plain)
		if len(a) != len(b) || len(a) < 10 {
			t.Fatalf("%s: %d families with the cache, %d without", when, len(a), len(b))
		}
		for name, fa := range a {
			if !proto.Equal(fa, b[name]) {
				t.Errorf("%s: %s differs (%d and %d series)", when, name, len(fa.Metric), len(b[name].GetMetric()))
			}
		}
	}
	same("after 60 tries")
	if len(cached.success) == 0 {
		t.Fatal("the cache was not used")
	}
	defer func(n int) { maxCached = n }(maxCached)
	maxCached = 20
	for i := 0; i < maxCached+5; i++ {
		tr := try(func(t *outcome.Try) { t.EndUser = fmt.Sprintf("many-%d", i%(maxCached+3)) })
		cached.Observe(tr)
		plain.Observe(tr)
	}
	if len(cached.success) > maxCached {
		t.Errorf("%d cached identities, bound %d", len(cached.success), maxCached)
	}
	same("past the bound")
}

func litellmFamilies(t *testing.T, m *Metrics) map[string]*dto.MetricFamily {
	t.Helper()
	fams, err := m.reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		if strings.HasPrefix(f.GetName(), "litellm_") {
			for _, x := range f.Metric { // created when first used: differs between the two
				if x.Counter != nil {
					x.Counter.CreatedTimestamp = nil
				}
				if x.Histogram != nil {
					x.Histogram.CreatedTimestamp = nil
				}
			}
			out[f.GetName()] = f
		}
	}
	return out
}
