package keys

import (
	"context"
	"encoding/json"
	"maps"
	"slices"
	"strings"

	"github.com/llmgate/llmgate/internal/keystore"
)

// LiteLLM's team callback routes (docs/architecture.md D69): POST and GET
// /team/{team_id}/callback and POST /team/{team_id}/disable_logging keep a
// team's callbacks in its metadata's callback_settings ({success_callback,
// failure_callback, callback_vars}), where the callbacks sink reads them for
// every request of the team (D64) — stored as the team is (embedded store or
// PostgreSQL), in force at once, no reload.

// teamCallbackPath splits /team/{id}/callback and /team/{id}/disable_logging.
func teamCallbackPath(path string) (id, kind string, ok bool) {
	rest, ok := strings.CutPrefix(strings.TrimRight(path, "/"), "/team/")
	if !ok {
		return "", "", false
	}
	i := strings.LastIndexByte(rest, '/')
	if i <= 0 {
		return "", "", false
	}
	id, kind = rest[:i], rest[i+1:]
	if kind != "callback" && kind != "disable_logging" || id == "" || len(id) > 256 {
		return "", "", false
	}
	return id, kind, true
}

// teamCallbackSettings is a team's metadata.callback_settings.
type teamCallbackSettings struct {
	Success []string          `json:"success_callback"`
	Failure []string          `json:"failure_callback"`
	Vars    map[string]string `json:"callback_vars"`
}

func callbackSettingsOf(t *keystore.Team) teamCallbackSettings {
	var cs teamCallbackSettings
	if raw, ok := t.Metadata["callback_settings"]; ok {
		if b, err := json.Marshal(raw); err == nil {
			_ = json.Unmarshal(b, &cs)
		}
	}
	if cs.Success == nil {
		cs.Success = []string{}
	}
	if cs.Failure == nil {
		cs.Failure = []string{}
	}
	if cs.Vars == nil {
		cs.Vars = map[string]string{}
	}
	return cs
}

func (cs teamCallbackSettings) metadata() map[string]any {
	vars := map[string]any{}
	for k, v := range cs.Vars {
		vars[k] = v
	}
	return map[string]any{"success_callback": toAny(cs.Success), "failure_callback": toAny(cs.Failure), "callback_vars": vars}
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// handleTeamCallback serves the three routes (the master key only, as the
// other team routes).
func (s *Service) handleTeamCallback(ctx context.Context, method, id, kind string, body []byte, c Caller) (int, []byte) {
	if kind == "disable_logging" && method != "POST" || kind == "callback" && method != "POST" && method != "GET" {
		return reply(nil, &Error{Status: 405, Type: "invalid_request_error", Code: "405", Message: "Method Not Allowed: " + method})
	}
	if !c.Admin {
		return reply(nil, &Error{Status: 401, Type: "auth_error", Code: "401", Param: "None",
			Message: "Authentication Error, Only proxy admin can be used to generate, delete, update info for new keys/users/teams. Route=/team/" + id + "/" + kind})
	}
	t, _, ok := s.team(id)
	if !ok {
		if kind == "callback" && method == "POST" {
			return reply(nil, badRequest("Team id = "+id+" does not exist. Please use a different team id."))
		}
		return reply(nil, notFound("Team", id))
	}
	cs := callbackSettingsOf(t)
	if method == "GET" {
		// Credentials are masked, as LiteLLM answers this route (D74).
		vars := map[string]string{}
		for k, v := range cs.Vars {
			if SensitiveCallbackVar(k) || strings.HasPrefix(v, CallbackVarPrefix) {
				v = callbackVarRedacted
			}
			vars[k] = v
		}
		return reply(map[string]any{"status": "success", "data": map[string]any{"team_id": id,
			"success_callbacks": cs.Success, "failure_callbacks": cs.Failure, "callback_vars": vars}}, nil)
	}
	if kind == "disable_logging" {
		cs.Success, cs.Failure = []string{}, []string{}
		if _, e := s.putTeamCallbacks(ctx, t, cs); e != nil {
			return reply(nil, e)
		}
		return reply(map[string]any{"status": "success", "message": "Logging disabled for team " + id,
			"data": map[string]any{"team_id": id, "success_callbacks": []string{}, "failure_callbacks": []string{}}}, nil)
	}
	var req struct {
		Name string            `json:"callback_name"`
		Type *string           `json:"callback_type"`
		Vars map[string]string `json:"callback_vars"`
	}
	if len(strings.TrimSpace(string(body))) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, &req); err != nil {
		return reply(nil, badRequest("Invalid JSON in request body: callback_name (string), callback_type (success, failure, success_and_failure), callback_vars (object of strings)"))
	}
	typ := "success_and_failure"
	if req.Type != nil {
		typ = *req.Type
	}
	switch {
	case req.Name == "" || len(req.Name) > 128:
		return reply(nil, badRequest("callback_name is required (at most 128 characters)"))
	case typ != "success" && typ != "failure" && typ != "success_and_failure":
		return reply(nil, badRequest("callback_type must be one of success, failure, success_and_failure"))
	case len(req.Vars) > 64:
		return reply(nil, badRequest("callback_vars: at most 64 variables"))
	}
	if typ != "failure" && slices.Contains(cs.Success, req.Name) {
		return reply(nil, &Error{Status: 400, Type: "bad_request_error", Code: "400", Param: "callback_name",
			Message: "callback_name = " + req.Name + " already exists in success_callback, for team_id = " + id})
	}
	if typ != "success" && slices.Contains(cs.Failure, req.Name) {
		return reply(nil, &Error{Status: 400, Type: "bad_request_error", Code: "400", Param: "callback_name",
			Message: "callback_name = " + req.Name + " already exists in failure_callback, for team_id = " + id})
	}
	if typ != "failure" {
		cs.Success = append(cs.Success, req.Name)
	}
	if typ != "success" {
		cs.Failure = append(cs.Failure, req.Name)
	}
	for k, v := range req.Vars { // credentials stored encrypted, as LiteLLM (D74)
		cs.Vars[k] = EncryptCallbackVar(k, v, s.saltKey())
	}
	nt, e := s.putTeamCallbacks(ctx, t, cs)
	if e != nil {
		return reply(nil, e)
	}
	_, spend, _ := s.team(id)
	return reply(map[string]any{"status": "success", "data": teamView(nt, spend)}, nil)
}

// putTeamCallbacks stores a copy of t with the callback settings in its
// metadata and puts it in force.
func (s *Service) putTeamCallbacks(ctx context.Context, t *keystore.Team, cs teamCallbackSettings) (*keystore.Team, *Error) {
	nt := *t
	nt.Metadata = maps.Clone(t.Metadata)
	if nt.Metadata == nil {
		nt.Metadata = map[string]any{}
	}
	nt.Metadata["callback_settings"] = cs.metadata()
	nt.UpdatedAt = s.now().UTC()
	if err := s.o.Store.PutTeam(ctx, &nt); err != nil {
		return nil, storeError(err)
	}
	s.setTeam(nt.TeamID, &nt)
	return &nt, nil
}
