package config

import (
	"strings"
	"testing"
	"time"
)

// itpm, otpm, rpd, tpd and daily_reset_time (D180): read where LiteLLM
// reads them (itpm/otpm at the entry's top, then litellm_params, then
// model_info), a bad daily_reset_time refused with its line, and a warning
// when optional_pre_call_checks lacks enforce_model_rate_limits.
func TestModelRateLimitKeys(t *testing.T) {
	cfg := mustParse(t, `
model_list:
  - model_name: a
    itpm: 7
    litellm_params: {model: openai/gpt-4o, api_key: k, itpm: 5, otpm: 6, rpd: 8, tpd: 9, daily_reset_time: "13:30"}
    model_info: {itpm: 1, otpm: 2}
  - model_name: b
    litellm_params: {model: openai/gpt-4o, api_key: k}
    model_info: {itpm: 1, otpm: 2}
`, nil)
	a, b := cfg.Models[0].Params, cfg.Models[1].Params
	if a.ITPM != 7 || a.OTPM != 6 || a.RPD != 8 || a.TPD != 9 || a.DailyReset != 13*time.Hour+30*time.Minute {
		t.Errorf("a: itpm %d otpm %d rpd %d tpd %d reset %v, want 7 6 8 9 13h30m", a.ITPM, a.OTPM, a.RPD, a.TPD, a.DailyReset)
	}
	if b.ITPM != 1 || b.OTPM != 2 {
		t.Errorf("b: itpm %d otpm %d, want model_info's 1 2", b.ITPM, b.OTPM)
	}
	if !hasDiag(cfg.Warnings, "test.yaml:3: warning: model_list[a]: itpm, otpm, rpd and tpd are read only with router_settings.optional_pre_call_checks: [enforce_model_rate_limits]") {
		t.Errorf("no warning about the check; got:\n%v", cfg.Warnings)
	}
	cfg = mustParse(t, `
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_key: k, rpd: 8}
router_settings:
  optional_pre_call_checks: [enforce_model_rate_limits]
`, nil)
	if hasDiag(cfg.Warnings, "read only with") {
		t.Errorf("warned with the check: %v", cfg.Warnings)
	}
	e := parseErr(t, `
model_list:
  - model_name: a
    litellm_params: {model: openai/gpt-4o, api_key: k, daily_reset_time: "1pm"}
`, nil)
	if !strings.Contains(e.Error(), `test.yaml:4`) || !strings.Contains(e.Error(), `daily_reset_time: must be HH:MM in UTC, got "1pm"`) {
		t.Errorf("bad daily_reset_time: %v", e)
	}
}
