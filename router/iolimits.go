package router

import (
	"time"

	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/translator"
)

// A deployment's itpm, otpm, rpd and tpd (LiteLLM's ModelRateLimitingCheck
// and io_token_rate_limit_check, read with enforce_model_rate_limits:
// docs/architecture.md D180). LiteLLM reserves a request's estimated input
// and output tokens (and counts its request for rpd) in its cache before
// the call, refuses it when that takes the counter over the limit, and
// reconciles to the answer's usage after. Here the plan compares the
// store's counters plus the same estimates with the limits — no write, so
// no round trip before the call — and the counters are counted from every
// try's outcome (Report): a deployment that has no room is not a
// candidate, and a group with none left is refused with LiteLLM's verdict.

// overIO reports the first of the deployment's itpm and otpm the request
// does not fit in this minute: the limit and the usage LiteLLM's message
// names (the counter with the request's reservation).
func (r *Router) overIO(req PlanRequest, d *model.Deployment, t Target, st store.DeploymentState) (kind string, limit, usage int64) {
	if lim := d.Limits.ITPM; lim > 0 {
		// (LiteLLM reserves at least one token when its count fails)
		if u := st.ITPM + int64(max(req.tokens(), 1)); u > lim {
			return "ITPM", lim, u
		}
	}
	if lim := d.Limits.OTPM; lim > 0 {
		if u := st.OTPM + r.otpmReservation(req, d, t); u > lim {
			return "OTPM", lim, u
		}
	}
	return "", 0, 0
}

// otpmReservation is what LiteLLM reserves of an otpm limit: the request's
// max_tokens; else the model's max output tokens (4096 when unknown) capped
// at a quarter of the limit (NO_MAX_TOKENS_TPM_RESERVATION_FRACTION) and at
// the deployment's own max_tokens.
func (r *Router) otpmReservation(req PlanRequest, d *model.Deployment, t Target) int64 {
	if req.MaxTokens > 0 {
		return int64(req.MaxTokens)
	}
	def := int64(4096)
	if d.Config != nil {
		if f, ok := r.lookupFacts(d.Config, t); ok && f.MaxOutputTokens > 0 {
			def = int64(f.MaxOutputTokens)
		}
	}
	def = min(def, max(1, d.Limits.OTPM/4))
	if d.Config != nil {
		for _, k := range [...]string{"max_tokens", "max_completion_tokens"} {
			if v, ok := d.Config.Params.Defaults[k]; ok {
				if n, ok := intValue(v); ok && n >= 0 {
					return min(n, def)
				}
			}
		}
	}
	return def
}

func intValue(v any) (int64, bool) {
	switch x := v.(type) {
	case int:
		return int64(x), true
	case int64:
		return x, true
	case float64:
		return int64(x), true
	}
	return 0, false
}

// overDaily reports the deployment's tpd (the day's tokens at the limit)
// or rpd (this request would be one over it) it is at, tpd first as
// LiteLLM checks them.
func overDaily(d *model.Deployment, st store.DeploymentState) (kind string, limit, usage int64) {
	if lim := d.Limits.TPD; lim > 0 && st.TPD >= lim {
		return "TPD", lim, st.TPD
	}
	if lim := d.Limits.RPD; lim > 0 && st.RPD+1 > lim {
		return "RPD", lim, st.RPD + 1
	}
	return "", 0, 0
}

// untilDayReset is the time from now to the next start of a day that
// starts off after midnight UTC (LiteLLM's seconds_until_daily_reset).
func untilDayReset(now time.Time, off time.Duration) time.Duration {
	start := now.UTC().Add(-off).Truncate(24 * time.Hour).Add(off)
	return start.Add(24 * time.Hour).Sub(now)
}

// ioCounts fills a try's record with what D180's counters take from its
// outcome: input tokens (the prompt's, less those read from the provider's
// prompt cache, as LiteLLM's reconcile), output tokens, and the try itself
// and its tokens in the deployment's day.
func ioCounts(rec *store.Record, d *model.Deployment, u translator.Usage) {
	if d.Limits.ITPM > 0 {
		rec.InputTokens = int64(max(u.PromptTokens-u.CachedTokens, 0))
	}
	if d.Limits.OTPM > 0 {
		rec.OutputTokens = int64(u.CompletionTokens)
	}
	if d.Limits.Daily() {
		rec.Daily, rec.DayStart = true, d.Limits.DayReset
	}
}
