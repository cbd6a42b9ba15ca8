package keys

import (
	"context"
	"encoding/json"
	"os"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Callback variables encrypted as LiteLLM stores them (D74): values LiteLLM
// encrypted (testdata/litellm_callback_vars.json: secretbox, v2:gcm:,
// v3:gcm: behind litellm_enc::) open here, not under another salt key;
// plain values read as they are; ours open with the same reader LiteLLM's
// values take (EncryptValue is LiteLLM's secretbox form, proved against
// LiteLLM by TestEncryptionAgainstLiteLLM); LiteLLM's sensitive names.
func TestCallbackVarsEncryptedAsLiteLLM(t *testing.T) {
	b, err := os.ReadFile("testdata/litellm_callback_vars.json")
	if err != nil {
		t.Fatal(err)
	}
	var fx struct {
		Salt string `json:"salt_key"`
		Vars []struct{ Name, Plaintext, Stored string }
	}
	if err := json.Unmarshal(b, &fx); err != nil || len(fx.Vars) == 0 {
		t.Fatalf("fixture: %v", err)
	}
	for _, v := range fx.Vars {
		if got, ok := DecryptCallbackVar(v.Stored, fx.Salt); !ok || got != v.Plaintext {
			t.Errorf("%s %q: read %q (%v), want %q", v.Name, v.Stored, got, ok, v.Plaintext)
		}
		if enc := strings.HasPrefix(v.Stored, CallbackVarPrefix); enc {
			if _, ok := DecryptCallbackVar(v.Stored, "another-salt"); ok {
				t.Errorf("%q opened under another salt key", v.Stored)
			}
		}
		ours := EncryptCallbackVar(v.Name, v.Plaintext, fx.Salt)
		if SensitiveCallbackVar(v.Name) != strings.HasPrefix(ours, CallbackVarPrefix) {
			t.Errorf("%s: stored as %q", v.Name, ours)
		}
		if got, ok := DecryptCallbackVar(ours, fx.Salt); !ok || got != v.Plaintext {
			t.Errorf("%s: ours %q read back %q", v.Name, ours, got)
		}
		if again := EncryptCallbackVar(v.Name, ours, fx.Salt); again != ours {
			t.Errorf("%s: encrypted twice: %q", v.Name, again)
		}
	}
	for name, want := range map[string]bool{"langfuse_public_key": true, "langfuse_secret_key": true, "langfuse_secret": true,
		"langfuse_host": false, "langsmith_project": false, "langsmith_api_key": true, "gcs_path_service_account": true,
		"gcs_bucket_name": false, "input_cost_per_token": false, "max_tokens": false, "Access-Token": true} {
		if SensitiveCallbackVar(name) != want {
			t.Errorf("SensitiveCallbackVar(%q) = %v", name, !want)
		}
	}
	if got := EncryptCallbackVar("langfuse_secret_key", "sk-1", ""); got != "sk-1" {
		t.Errorf("no salt key: %q, want the value as is (LiteLLM leaves it)", got)
	}
}

// The team callback route stores credentials encrypted under the salt key
// (the team row holds litellm_enc:: values; the host stays plain), the
// sink's view opens them, and GET masks them as LiteLLM answers (D74).
func TestTeamCallbackVarsEncrypted(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	s := newService(t, ks, "")
	s.SetSaltKey("sk-fixture-salt")
	call := func(method, path, body string) (int, map[string]any) {
		st, out := s.Handle(ctx, method, path, []byte(body), Caller{Admin: true})
		var m map[string]any
		_ = json.Unmarshal(out, &m)
		return st, m
	}
	if st, _ := call("POST", "/team/new", `{"team_id":"team-enc"}`); st != 200 {
		t.Fatalf("/team/new: %d", st)
	}
	if st, m := call("POST", "/team/team-enc/callback", `{"callback_name":"langfuse","callback_vars":{"langfuse_public_key":"pk-9","langfuse_secret_key":"sk-9","langfuse_host":"https://lf.example"}}`); st != 200 {
		t.Fatalf("POST callback: %d %v", st, m)
	}
	stored, err := ks.ListTeams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var vars map[string]any
	for _, tm := range stored {
		if tm.TeamID == "team-enc" {
			cs, _ := tm.Metadata["callback_settings"].(map[string]any)
			vars, _ = cs["callback_vars"].(map[string]any)
		}
	}
	for k, plain := range map[string]string{"langfuse_public_key": "pk-9", "langfuse_secret_key": "sk-9"} {
		v, _ := vars[k].(string)
		if got, ok := DecryptCallbackVar(v, "sk-fixture-salt"); !strings.HasPrefix(v, CallbackVarPrefix) || !ok || got != plain {
			t.Errorf("stored %s = %q (opens to %q)", k, v, got)
		}
	}
	if vars["langfuse_host"] != "https://lf.example" {
		t.Errorf("stored host %v, want it plain", vars["langfuse_host"])
	}
	// /team/new and /key/generate store metadata's logging credentials
	// encrypted too (LiteLLM's encrypt_callback_vars).
	logging := `{"logging":[{"callback_name":"langfuse","callback_vars":{"langfuse_secret_key":"sk-8","langfuse_host":"h"}}],` +
		`"callback_settings":{"callback_vars":{"langsmith_api_key":"ls-8"}}}`
	if st, m := call("POST", "/team/new", `{"team_id":"team-md","metadata":`+logging+`}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	tok := generate(t, s, `{"metadata":`+logging+`}`)
	_, team := s.LoggingMetadata("", "team-md")
	key, _ := s.LoggingMetadata(keystore.HashKey(tok), "")
	for who, md := range map[string]map[string]any{"team": team, "key": key} {
		b, _ := json.Marshal(md)
		if strings.Contains(string(b), "sk-8") || strings.Contains(string(b), "ls-8") || !strings.Contains(string(b), `"langfuse_host":"h"`) ||
			strings.Count(string(b), CallbackVarPrefix) != 2 {
			t.Errorf("%s metadata stored %s", who, b)
		}
	}
	_, m := call("GET", "/team/team-enc/callback", "")
	d, _ := m["data"].(map[string]any)
	cv, _ := d["callback_vars"].(map[string]any)
	if cv["langfuse_public_key"] != "***REDACTED***" || cv["langfuse_secret_key"] != "***REDACTED***" || cv["langfuse_host"] != "https://lf.example" {
		t.Errorf("GET callback_vars %v", cv)
	}
	if out, _ := json.Marshal(m); strings.Contains(string(out), "sk-9") {
		t.Errorf("GET answered the secret: %s", out)
	}
}
