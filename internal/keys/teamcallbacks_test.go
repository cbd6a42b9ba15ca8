package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
)

// LiteLLM's team callback routes (D69): POST /team/{id}/callback adds a
// callback to the team's metadata.callback_settings (the callbacks sink reads
// it through LoggingMetadata for the team's next request, no reload), GET
// shows it, a duplicate is refused, /team/{id}/disable_logging empties the
// lists; the settings are stored with the team and survive a restart.
func TestTeamCallbackRoutes(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	s := newService(t, ks, "")
	call := func(method, path, body string) (int, map[string]any) {
		st, out := s.Handle(ctx, method, path, []byte(body), Caller{Admin: true})
		var m map[string]any
		_ = json.Unmarshal(out, &m)
		return st, m
	}
	if st, _ := call("POST", "/team/new", `{"team_id":"team-cb"}`); st != 200 {
		t.Fatalf("/team/new: %d", st)
	}
	st, m := call("POST", "/team/team-cb/callback", `{"callback_name":"langfuse","callback_type":"success","callback_vars":{"langfuse_public_key":"pk-1","langfuse_secret_key":"sk-1"}}`)
	if st != 200 || m["status"] != "success" {
		t.Fatalf("POST callback: %d %v", st, m)
	}
	if st, m := call("POST", "/team/team-cb/callback", `{"callback_name":"langfuse","callback_type":"success"}`); st != 400 {
		t.Errorf("duplicate callback: %d %v, want 400", st, m)
	}
	if st, _ := call("POST", "/team/team-cb/callback", `{"callback_name":"generic_api"}`); st != 200 {
		t.Errorf("success_and_failure by default: %d", st)
	}
	st, m = call("GET", "/team/team-cb/callback", "")
	want := `map[callback_vars:map[langfuse_public_key:pk-1 langfuse_secret_key:sk-1] failure_callbacks:[generic_api] success_callbacks:[langfuse generic_api] team_id:team-cb]`
	if got := fmt.Sprint(m["data"]); st != 200 || got != want {
		t.Fatalf("GET callback: %d %s, want %s", st, got, want)
	}
	_, team := s.LoggingMetadata("", "team-cb")
	if got := fmt.Sprint(team["callback_settings"]); got != "map[callback_vars:map[langfuse_public_key:pk-1 langfuse_secret_key:sk-1] failure_callback:[generic_api] success_callback:[langfuse generic_api]]" {
		t.Errorf("the sink's view of the team: %s", got)
	}
	if st, _ := call("GET", "/team/nope/callback", ""); st != 404 {
		t.Errorf("unknown team: %d, want 404", st)
	}
	if st, _ := call("POST", "/team/nope/callback", `{"callback_name":"langfuse"}`); st != 400 {
		t.Errorf("unknown team: %d, want 400 as LiteLLM", st)
	}
	if st, _ := s.Handle(ctx, "POST", "/team/team-cb/callback", []byte(`{"callback_name":"x"}`), Caller{Token: "sk-not-admin"}); st != 401 {
		t.Errorf("non-admin: %d, want 401", st)
	}
	// A restart reads them back from the store.
	s2 := newService(t, ks, "")
	if _, team := s2.LoggingMetadata("", "team-cb"); team["callback_settings"] == nil {
		t.Errorf("callback settings lost across a restart: %v", team)
	}
	st, m = call("POST", "/team/team-cb/disable_logging", "")
	if st != 200 || m["message"] != "Logging disabled for team team-cb" {
		t.Fatalf("disable_logging: %d %v", st, m)
	}
	_, m = call("GET", "/team/team-cb/callback", "")
	if d := m["data"].(map[string]any); fmt.Sprint(d["success_callbacks"], d["failure_callbacks"]) != "[] []" {
		t.Errorf("after disable_logging: %v", d)
	}
}
