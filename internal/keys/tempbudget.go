package keys

import (
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// LiteLLM's temporary budget increase (docs/architecture.md D63): /key/update
// (or /key/generate) with temp_budget_increase and temp_budget_expiry keeps
// both in the key's metadata, as LiteLLM does; while the expiry (an ISO date
// or date-time) is in the future, the key's max budget is raised by the
// increase (LiteLLM's _update_key_budget_with_temp_budget_increase: only a
// key that has a max budget), for the budget check and the
// x-litellm-key-max-budget header. The module's table keeps these two
// metadata entries, so the module checks the same budget.

const (
	metaTempIncrease = "temp_budget_increase"
	metaTempExpiry   = "temp_budget_expiry"
)

// readTempIncrease reads a request's temporary budget increase: both fields
// together, the expiry an ISO date or date-time; null for both (inc nil)
// clears it. present: the request names them.
func readTempIncrease(req map[string]any) (present bool, inc *float64, exp string, at time.Time, err *Error) {
	incV, hasInc := req[metaTempIncrease]
	expV, hasExp := req[metaTempExpiry]
	if !hasInc && !hasExp {
		return false, nil, "", time.Time{}, nil
	}
	if hasInc != hasExp || (incV == nil) != (expV == nil) {
		return true, nil, "", time.Time{}, badRequest("temp_budget_increase and temp_budget_expiry must be set together")
	}
	if incV == nil {
		return true, nil, "", time.Time{}, nil
	}
	f, e := optNumber(metaTempIncrease, incV, maxMoney)
	if e != nil {
		return true, nil, "", time.Time{}, e
	}
	s, ok := expV.(string)
	if ok {
		at, ok = parseISOTime(s)
	}
	if !ok {
		return true, nil, "", time.Time{}, badRequest("temp_budget_expiry must be an ISO date or date-time")
	}
	return true, f, s, at, nil
}

// tempFields moves the request's temporary increase into the key's metadata
// (after the other fields, so a metadata object in the same body keeps them).
func tempFields(req map[string]any, k *keystore.Key) *Error {
	present, inc, exp, _, e := readTempIncrease(req)
	if !present || e != nil {
		return e
	}
	if k.Metadata == nil {
		k.Metadata = map[string]any{}
	}
	if inc == nil {
		delete(k.Metadata, metaTempIncrease)
		delete(k.Metadata, metaTempExpiry)
		return nil
	}
	k.Metadata[metaTempIncrease], k.Metadata[metaTempExpiry] = *inc, exp
	return nil
}

// parseISOTime reads what Python's datetime.fromisoformat reads in practice:
// a date, or a date-time with or without a zone (UTC when none).
func parseISOTime(s string) (time.Time, bool) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, s); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}

// tempIncrease is the key's active temporary budget increase (0: none).
func tempIncrease(k *keystore.Key, now time.Time) float64 {
	if k.Metadata == nil {
		return 0
	}
	inc, ok := k.Metadata[metaTempIncrease].(float64)
	exp, ok2 := k.Metadata[metaTempExpiry].(string)
	if !ok || !ok2 || inc <= 0 {
		return 0
	}
	if t, ok := parseISOTime(exp); ok && t.After(now) {
		return inc
	}
	return 0
}

// tempMetadata is the part of a key's metadata the module's table keeps:
// the temporary budget increase, the key's enforced_params (D90) and its
// service_account_id (service_account_settings' enforced_params).
func tempMetadata(md map[string]any) map[string]any {
	var out map[string]any
	inc, ok := md[metaTempIncrease]
	exp, ok2 := md[metaTempExpiry]
	if ok && ok2 {
		out = map[string]any{metaTempIncrease: inc, metaTempExpiry: exp}
	}
	for _, f := range [...]string{metaEnforcedParams, metaServiceAccountID} {
		// A service account is a key whose metadata has the field at all
		// (LiteLLM tests `in`), null included.
		if p, ok := md[f]; ok && (p != nil || f == metaServiceAccountID) {
			if out == nil {
				out = map[string]any{}
			}
			out[f] = p
		}
	}
	return out
}
