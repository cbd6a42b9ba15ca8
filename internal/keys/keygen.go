package keys

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
)

// KeyGenSettings are litellm_settings' key-generation settings as the config
// reads them (config/keygen.go documents each field); this file applies them.
type KeyGenSettings = config.KeyGenSettings

// KeyGenRule is one of key_generation_settings' rules.
type KeyGenRule = config.KeyGenRule

// defaultKeyFields are the fields LiteLLM fills from
// default_key_generate_params when a request leaves them out (null).
var defaultKeyFields = []string{"max_budget", "user_id", "team_id", "max_parallel_requests", "tpm_limit", "rpm_limit", "budget_duration", "duration"}

// upperNumbers and upperDurations are upperbound_key_generate_params'
// fields, compared as numbers and as durations.
var (
	upperNumbers   = []string{"max_budget", "max_parallel_requests", "tpm_limit", "rpm_limit"}
	upperDurations = []string{"budget_duration", "duration"}
)

// SetKeyGenSettings sets the key-generation settings (a config reload calls
// it again).
func (s *Service) SetKeyGenSettings(g KeyGenSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.keyGen = g
}

func (s *Service) keyGenSettings() KeyGenSettings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.keyGen
}

// applyKeyDefaults fills a /key/generate body from
// default_key_generate_params, as LiteLLM's _common_key_generation_helper.
func applyKeyDefaults(req map[string]any, defaults map[string]any) {
	if defaults == nil {
		return
	}
	for _, f := range defaultKeyFields {
		if req[f] == nil {
			if v, ok := defaults[f]; ok {
				req[f] = cloneJSON(v)
			}
		}
	}
	if l, _ := req["models"].([]any); len(l) == 0 {
		if v, ok := defaults["models"]; ok && v != nil {
			req["models"] = cloneJSON(v)
		}
	}
	if m, _ := req["metadata"].(map[string]any); len(m) == 0 {
		if v, ok := defaults["metadata"]; ok && v != nil {
			req["metadata"] = cloneJSON(v)
		}
	}
}

// cloneJSON copies a JSON value, so that a key's fields never share a map
// or a list with the config's defaults.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = cloneJSON(e)
		}
		return l
	}
	return v
}

// checkUpperBounds refuses the fields of req above upperbound_key_generate_params
// with LiteLLM's error; fill (on /key/generate) sets the fields req leaves
// out to the bound. Values of the wrong type are left to fields() to refuse.
// Durations compare as LiteLLM's duration_in_seconds counts them from now
// (EndOf: "1mo" is as long as the calendar month from now).
func checkUpperBounds(req map[string]any, upper map[string]any, fill bool, now time.Time) *Error {
	for _, f := range append(append([]string{}, upperNumbers...), upperDurations...) {
		bound, ok := upper[f]
		if !ok || bound == nil {
			continue
		}
		v := req[f]
		if v == nil {
			if fill {
				req[f] = bound
			}
			continue
		}
		over := false
		isInt := f != "max_budget"
		switch b := bound.(type) {
		case float64:
			n, ok := v.(float64)
			if !ok || isInt && n != math.Trunc(n) {
				continue
			}
			over = n > b
		case string:
			us, ok := v.(string)
			if !ok {
				continue
			}
			bd, err := EndOf(now, b)
			if err != nil {
				continue
			}
			if strings.TrimSpace(us) != "-1" {
				ud, err := EndOf(now, us)
				if err != nil {
					continue
				}
				over = ud.After(bd)
			} else {
				over = true // never expires
			}
		}
		if over {
			return &Error{Status: 400, Type: "internal_server_error", Code: "400", Param: "None",
				Message: fmt.Sprintf("{'error': '%s is over max limit set in config - user_value=%s; max_value=%s'}", f, pyValue(v, isInt), pyValue(bound, isInt))}
		}
	}
	return nil
}

// pyValue writes a value as LiteLLM's message shows it (Python's str of a
// float, an int or a string).
func pyValue(v any, isInt bool) string {
	switch x := v.(type) {
	case float64:
		if isInt {
			return strconv.FormatInt(int64(x), 10)
		}
		return pyFloat(x)
	case string:
		return x
	}
	return fmt.Sprint(v)
}

// pyFloat is Python's repr of a float: the shortest digits, fixed between
// 1e-4 and 1e16 (with ".0" when whole), else an exponent.
func pyFloat(f float64) string {
	if f == 0 {
		return "0.0"
	}
	if a := math.Abs(f); a >= 1e-4 && a < 1e16 {
		s := strconv.FormatFloat(f, 'f', -1, 64)
		if !strings.ContainsAny(s, ".") {
			s += ".0"
		}
		return s
	}
	return strconv.FormatFloat(f, 'e', -1, 64)
}

// keyGenerationCheck is LiteLLM's key_generation_check for /key/generate
// by the master key (role proxy_admin; llmgate lets no other caller
// generate keys): a team key's team must exist when key_generation_settings
// is set, and the proxy admin passes team_key_generation; a personal key
// must pass personal_key_generation's allowed_user_roles and required_params.
func (s *Service) keyGenerationCheck(req map[string]any, g KeyGenSettings) *Error {
	const role = "proxy_admin"
	if tid, _ := req["team_id"].(string); tid != "" {
		if _, _, exists := s.team(tid); !exists && g.Set {
			return keyGenError(fmt.Sprintf("Unable to find team object in database. Team ID: %s", tid))
		}
		return nil
	}
	rule := g.Personal
	if rule == nil {
		return nil
	}
	if rule.Roles != nil && !slices.Contains(rule.Roles, role) {
		return keyGenError(fmt.Sprintf("Personal key creation has been restricted by admin. Allowed roles=%s. Your role=%s", pyList(rule.Roles), role))
	}
	return requiredParams(req, rule.Required)
}

// requiredParams is LiteLLM's _key_generation_required_param_check: every
// named field must be in the body (null counts as given).
func requiredParams(req map[string]any, required []string) *Error {
	for _, p := range required {
		if _, ok := req[p]; !ok {
			return keyGenError(fmt.Sprintf("Required param %s not in data", p))
		}
	}
	return nil
}

// keyGenError is an HTTPException(400, detail) as LiteLLM's management
// routes answer it.
func keyGenError(msg string) *Error {
	return &Error{Status: 400, Type: "internal_server_error", Code: "400", Param: "None", Message: msg}
}

// applyUserDefaults fills a /user/new body as LiteLLM's
// _update_internal_new_user_params; it returns default_internal_user_params'
// teams the new user joins.
func applyUserDefaults(req map[string]any, g KeyGenSettings) []any {
	role, _ := req["user_role"].(string)
	var teams []any
	if len(g.InternalUser) > 0 && role != "proxy_admin" {
		for f, v := range g.InternalUser {
			switch f {
			case "available_teams":
			case "teams":
				teams, _ = v.([]any)
			default:
				if l, isList := req[f].([]any); req[f] == nil || f == "models" && isList && len(l) == 0 {
					req[f] = cloneJSON(v)
				}
			}
		}
	}
	if role == "internal_user" {
		if g.MaxInternalUserBudget != nil && req["max_budget"] == nil {
			req["max_budget"] = *g.MaxInternalUserBudget
		}
		if g.InternalUserBudgetDuration != "" && req["budget_duration"] == nil {
			req["budget_duration"] = g.InternalUserBudgetDuration
		}
	}
	return teams
}

// joinDefaultTeams adds a new user to default_internal_user_params' teams
// (a team id, or {team_id, max_budget_in_team, user_role}); as LiteLLM, a
// team that cannot take the user is skipped.
func (s *Service) joinDefaultTeams(ctx context.Context, userID, email string, teams []any) {
	for _, t := range teams {
		member := map[string]any{"user_id": userID, "role": "user"}
		if email != "" {
			member["user_email"] = email
		}
		req := map[string]any{"member": member}
		switch x := t.(type) {
		case string:
			req["team_id"] = x
		case map[string]any:
			req["team_id"] = x["team_id"]
			if r, ok := x["user_role"].(string); ok {
				member["role"] = r
			}
			if b, ok := x["max_budget_in_team"]; ok {
				req["max_budget_in_team"] = b
			}
		}
		if _, e := s.memberAdd(ctx, req, Caller{Admin: true}); e != nil {
			s.log.Warn("default_internal_user_params: new user not added to a default team", "user_id", userID, "team_id", req["team_id"], "error", e.Message)
		}
	}
}
