package keys

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// default_key_generate_params and upperbound_key_generate_params (D90):
// /key/generate fills in what a body leaves out (the defaults, then the
// upper bounds), /key/generate, /key/update and /key/regenerate refuse a
// value above a bound with LiteLLM's status and message, and the filled-in
// fields are stored — on the embedded store and on PostgreSQL.
func TestKeyGenerateDefaultsAndUpperBounds(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) { testKeyGenerateBounds(t, open) })
	}
}

func testKeyGenerateBounds(t *testing.T, open func(t *testing.T) keystore.Store) {
	ctx := context.Background()
	ks := open(t)
	s := newService(t, ks, "")
	t.Cleanup(func() { s.Close(); ks.Close() })
	defaults := map[string]any{"max_budget": 10.0, "models": []any{"gpt-x"}, "duration": "30d", "rpm_limit": 5.0,
		"metadata": map[string]any{"owner": "platform"}}
	s.SetKeyGenSettings(KeyGenSettings{Defaults: defaults,
		Upper: map[string]any{"max_budget": 100.0, "tpm_limit": 1000.0, "duration": "60d", "budget_duration": "30d"}})
	call := func(path, body string) (int, map[string]any) {
		t.Helper()
		return callAs(t, s, Caller{Admin: true}, "POST", path, body)
	}
	refused := func(path, body, msg string) {
		t.Helper()
		st, m := call(path, body)
		e, _ := m["error"].(map[string]any)
		if st != 400 || e["message"] != msg || e["type"] != "internal_server_error" || e["code"] != "400" || e["param"] != "None" {
			t.Errorf("%s %s: %d %v, want 400 %q", path, body, st, m, msg)
		}
	}

	// Filled in: the defaults, then the bounds for what is still unset.
	st, m := call("/key/generate", `{"tags":["a"]}`)
	if st != 200 {
		t.Fatalf("/key/generate: %d %v", st, m)
	}
	raw, _ := m["key"].(string)
	want := map[string]any{"max_budget": 10.0, "rpm_limit": 5.0, "tpm_limit": 1000.0, "budget_duration": "30d",
		"expires": clock.Add(30 * 24 * time.Hour).Format(time.RFC3339Nano), "budget_reset_at": clock.Add(30 * 24 * time.Hour).Format(time.RFC3339Nano)}
	for f, v := range want {
		if m[f] != v {
			t.Errorf("/key/generate {}: %s = %v, want %v", f, m[f], v)
		}
	}
	if md, _ := m["metadata"].(map[string]any); md["owner"] != "platform" || md["tags"] == nil {
		t.Errorf("metadata: %v", m["metadata"])
	}
	if _, tagged := defaults["metadata"].(map[string]any)["tags"]; tagged {
		t.Errorf("the key's tags reached the config's default metadata: %v", defaults["metadata"])
	}
	// What the body sets wins over the defaults; within the bounds it is kept.
	st, m = call("/key/generate", `{"max_budget":100,"models":["other"],"duration":"60d","tpm_limit":7}`)
	if st != 200 || m["max_budget"] != 100.0 || m["tpm_limit"] != 7.0 || len(m["models"].([]any)) != 1 || m["models"].([]any)[0] != "other" {
		t.Errorf("/key/generate with its own values: %d %v", st, m)
	}

	// Above a bound: LiteLLM's HTTPException(400, {"error": ...}) as its
	// ProxyException renders it.
	refused("/key/generate", `{"max_budget":200}`, "{'error': 'max_budget is over max limit set in config - user_value=200.0; max_value=100.0'}")
	refused("/key/generate", `{"tpm_limit":2000}`, "{'error': 'tpm_limit is over max limit set in config - user_value=2000; max_value=1000'}")
	refused("/key/generate", `{"duration":"90d"}`, "{'error': 'duration is over max limit set in config - user_value=90d; max_value=60d'}")
	refused("/key/generate", `{"budget_duration":"31d"}`, "{'error': 'budget_duration is over max limit set in config - user_value=31d; max_value=30d'}")
	refused("/key/update", `{"key":"`+raw+`","max_budget":100.5}`, "{'error': 'max_budget is over max limit set in config - user_value=100.5; max_value=100.0'}")
	refused("/key/regenerate", `{"key":"`+raw+`","tpm_limit":1001}`, "{'error': 'tpm_limit is over max limit set in config - user_value=1001; max_value=1000'}")

	// /key/update checks only what it is given and fills nothing in.
	st, m = call("/key/update", `{"key":"`+raw+`","max_budget":50}`)
	if st != 200 || m["max_budget"] != 50.0 || m["tpm_limit"] != 1000.0 {
		t.Errorf("/key/update within the bound: %d %v", st, m)
	}

	// Stored as filled in.
	k, err := ks.GetKey(ctx, keystore.HashKey(raw))
	if err != nil {
		t.Fatal(err)
	}
	if k.MaxBudget == nil || *k.MaxBudget != 50 || k.RPMLimit == nil || *k.RPMLimit != 5 || k.TPMLimit == nil || *k.TPMLimit != 1000 ||
		len(k.Models) != 1 || k.Models[0] != "gpt-x" || k.Expires == nil || !k.Expires.Equal(clock.Add(30*24*time.Hour)) || k.BudgetDuration != "30d" {
		t.Errorf("stored key: %+v", k)
	}
}

// key_generation_settings (D90) for the master key, LiteLLM's proxy admin:
// personal_key_generation's allowed_user_roles and required_params, and a
// team key's team must exist.
func TestKeyGenerationSettings(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) {
			ks := open(t)
			s := newService(t, ks, "")
			t.Cleanup(func() { s.Close(); ks.Close() })
			gen := func(body string) (int, any) {
				st, m := callAs(t, s, Caller{Admin: true}, "POST", "/key/generate", body)
				e, _ := m["error"].(map[string]any)
				return st, e["message"]
			}
			if st, msg := gen(`{"team_id":"nope"}`); st != 200 {
				t.Fatalf("without key_generation_settings a team key needs no team row: %d %s", st, msg)
			}
			s.SetKeyGenSettings(KeyGenSettings{Set: true, Personal: &KeyGenRule{Roles: []string{"internal_user"}}})
			for _, tc := range []struct{ body, msg string }{
				{`{}`, "Personal key creation has been restricted by admin. Allowed roles=['internal_user']. Your role=proxy_admin"},
				{`{"team_id":"nope"}`, "Unable to find team object in database. Team ID: nope"},
			} {
				if st, msg := gen(tc.body); st != 400 || msg != tc.msg {
					t.Errorf("%s: %d %q, want 400 %q", tc.body, st, msg, tc.msg)
				}
			}
			s.SetKeyGenSettings(KeyGenSettings{Set: true, Personal: &KeyGenRule{Roles: []string{"proxy_admin"}, Required: []string{"key_alias", "metadata"}},
				Team: &KeyGenRule{Roles: []string{"admin"}, Required: []string{"key_alias"}}})
			if st, msg := gen(`{"key_alias":"a"}`); st != 400 || msg != "Required param metadata not in data" {
				t.Errorf("required_params: %d %q", st, msg)
			}
			if st, msg := gen(`{"key_alias":"a","metadata":null}`); st != 200 {
				t.Errorf("required params given: %d %q", st, msg)
			}
			call(t, s, "POST", "/team/new", `{"team_id":"t1"}`)
			if st, msg := gen(`{"team_id":"t1"}`); st != 200 {
				t.Errorf("the proxy admin passes team_key_generation: %d %q", st, msg)
			}
		})
	}
}

// default_internal_user_params, max_internal_user_budget and
// internal_user_budget_duration (D90): /user/new fills in what the body
// leaves out, not for a proxy_admin; the internal-user budget only for
// user_role internal_user; default teams joined as members — on the
// embedded store and on PostgreSQL.
func TestInternalUserDefaults(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ks := open(t)
			s := newService(t, ks, "")
			t.Cleanup(func() { s.Close(); ks.Close() })
			call(t, s, "POST", "/team/new", `{"team_id":"t1"}`)
			s.SetKeyGenSettings(KeyGenSettings{
				InternalUser:          map[string]any{"models": []any{"gpt-x"}, "tpm_limit": 50.0, "teams": []any{map[string]any{"team_id": "t1", "user_role": "admin"}, "missing"}},
				MaxInternalUserBudget: ptr(7.5), InternalUserBudgetDuration: "7d",
			})
			u := call(t, s, "POST", "/user/new", `{"user_id":"u1","user_role":"internal_user","models":[]}`)
			if u["max_budget"] != 7.5 || u["budget_duration"] != "7d" || u["tpm_limit"] != 50.0 || fmt.Sprint(u["models"]) != "[gpt-x]" || fmt.Sprint(u["teams"]) != "[t1]" {
				t.Errorf("/user/new internal_user: %v", u)
			}
			if k, err := ks.GetKey(ctx, u["token_id"].(string)); err != nil || fmt.Sprint(k.Models) != "[gpt-x]" || k.MaxBudget != nil {
				t.Errorf("the user's key: %+v %v", k, err)
			}
			info := call(t, s, "GET", "/team/info?team_id=t1", "")
			if !strings.Contains(fmt.Sprint(info), "u1") {
				t.Errorf("u1 did not join t1: %v", info)
			}
			stored, err := ks.GetUser(ctx, "u1")
			if err != nil || stored.MaxBudget == nil || *stored.MaxBudget != 7.5 || stored.BudgetDuration != "7d" || stored.BudgetResetAt == nil {
				t.Errorf("stored user: %+v %v", stored, err)
			}
			// No role: the params, not the internal-user budget; given values win.
			u = call(t, s, "POST", "/user/new", `{"user_id":"u2","tpm_limit":9,"auto_create_key":false}`)
			if u["max_budget"] != nil || u["tpm_limit"] != 9.0 || fmt.Sprint(u["models"]) != "[gpt-x]" {
				t.Errorf("/user/new without a role: %v", u)
			}
			// A proxy_admin gets none of the params.
			u = call(t, s, "POST", "/user/new", `{"user_id":"u3","user_role":"proxy_admin","auto_create_key":false}`)
			if u["tpm_limit"] != nil || fmt.Sprint(u["models"]) != "[]" {
				t.Errorf("/user/new proxy_admin: %v", u)
			}
		})
	}
}
