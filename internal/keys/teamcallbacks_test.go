package keys

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// clockService is a key service on ks whose clock reads *now, with
// hour-long batch and cache periods (a test moves the clock and runs
// flush/resetDue itself); the service and ks are closed at the test's end.
func clockService(t *testing.T, ks keystore.Store, now *time.Time) *Service {
	s, err := New(context.Background(), Options{Store: ks, BatchWriteAt: time.Hour, CacheTTL: time.Hour, Now: func() time.Time { return *now }})
	must(t, err)
	t.Cleanup(func() { s.Close(); ks.Close() })
	return s
}

// keyStores are the key stores the management routes are
// tested on (D74): the embedded one and PostgreSQL; each opener returns a
// new handle on the same storage (a restart).
func keyStores(t *testing.T) map[string]func(t *testing.T) keystore.Store {
	dir := t.TempDir()
	var pg *pgtest.Server
	var pgURL string
	return map[string]func(t *testing.T) keystore.Store{
		"embedded": func(t *testing.T) keystore.Store {
			ks, err := keystore.OpenEmbedded(dir)
			if err != nil {
				t.Fatal(err)
			}
			return ks
		},
		"postgres": func(t *testing.T) keystore.Store {
			if pg == nil {
				pg = pgtest.Start(t)
				pgURL = pg.NewDatabase(t)
			}
			ks, err := keystore.OpenPostgres(context.Background(), pgURL)
			if err != nil {
				t.Fatal(err)
			}
			return ks
		},
	}
}

// LiteLLM's team callback routes (D69): POST /team/{id}/callback adds a
// callback to the team's metadata.callback_settings (the callbacks sink reads
// it through LoggingMetadata for the team's next request, no reload), GET
// shows it, a duplicate is refused, /team/{id}/disable_logging empties the
// lists; the settings are stored with the team and survive a restart — on
// the embedded store and on PostgreSQL (D74).
func TestTeamCallbackRoutes(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) { testTeamCallbackRoutes(t, open) })
	}
}

func testTeamCallbackRoutes(t *testing.T, open func(t *testing.T) keystore.Store) {
	ctx := context.Background()
	ks := open(t)
	s := newService(t, ks, "")
	s.SetSaltKey("salt-1") // credentials stored encrypted (D74)
	call := func(method, path, body string) (int, map[string]any) {
		st, out := s.Handle(ctx, method, path, []byte(body), Caller{Admin: true})
		var m map[string]any
		_ = json.Unmarshal(out, &m)
		return st, m
	}
	// restart closes the service and its store and opens both again on the
	// same storage.
	restart := func() {
		t.Helper()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if err := ks.Close(); err != nil {
			t.Fatal(err)
		}
		ks = open(t)
		s = newService(t, ks, "")
		s.SetSaltKey("salt-1")
	}
	t.Cleanup(func() { s.Close(); ks.Close() })
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
	want := `map[callback_vars:map[langfuse_public_key:***REDACTED*** langfuse_secret_key:***REDACTED***] failure_callbacks:[generic_api] success_callbacks:[langfuse generic_api] team_id:team-cb]`
	st, m = call("GET", "/team/team-cb/callback", "")
	if got := fmt.Sprint(m["data"]); st != 200 || got != want {
		t.Fatalf("GET callback: %d %s, want %s", st, got, want)
	}
	checkView(t, s)
	if st, _ := call("GET", "/team/nope/callback", ""); st != 404 {
		t.Errorf("unknown team: %d, want 404", st)
	}
	if st, _ := call("POST", "/team/nope/callback", `{"callback_name":"langfuse"}`); st != 400 {
		t.Errorf("unknown team: %d, want 400 as LiteLLM", st)
	}
	if st, _ := s.Handle(ctx, "POST", "/team/team-cb/callback", []byte(`{"callback_name":"x"}`), Caller{Token: "sk-not-admin"}); st != 401 {
		t.Errorf("non-admin: %d, want 401", st)
	}
	// A restart reads them back from the store: the sink's view and GET.
	restart()
	checkView(t, s)
	if st, m := call("GET", "/team/team-cb/callback", ""); st != 200 || fmt.Sprint(m["data"]) != want {
		t.Errorf("GET callback after a restart: %d %v", st, m["data"])
	}
	st, m = call("POST", "/team/team-cb/disable_logging", "")
	if st != 200 || m["message"] != "Logging disabled for team team-cb" {
		t.Fatalf("disable_logging: %d %v", st, m)
	}
	restart()
	_, m = call("GET", "/team/team-cb/callback", "")
	if d, _ := m["data"].(map[string]any); fmt.Sprint(d["success_callbacks"], d["failure_callbacks"]) != "[] []" {
		t.Errorf("after disable_logging and a restart: %v", m)
	}
}

// checkView checks the sink's view of team-cb: its lists, and its
// credentials stored encrypted under salt-1, opening to pk-1 and sk-1.
func checkView(t *testing.T, s *Service) {
	t.Helper()
	_, team := s.LoggingMetadata("", "team-cb")
	cs, _ := team["callback_settings"].(map[string]any)
	if got := fmt.Sprint(cs["success_callback"], cs["failure_callback"]); got != "[langfuse generic_api] [generic_api]" {
		t.Errorf("the sink's view of the team: %v", cs)
	}
	vars, _ := cs["callback_vars"].(map[string]any)
	for k, want := range map[string]string{"langfuse_public_key": "pk-1", "langfuse_secret_key": "sk-1"} {
		v, _ := vars[k].(string)
		if got, ok := DecryptCallbackVar(v, "salt-1"); !strings.HasPrefix(v, CallbackVarPrefix) || !ok || got != want {
			t.Errorf("%s stored as %q (opens to %q)", k, v, got)
		}
	}
}
