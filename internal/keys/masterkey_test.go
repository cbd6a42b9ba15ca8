package keys

import (
	"context"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// TestMasterKeyRotation (D73): /key/regenerate with the master key as `key`
// needs new_master_key (LiteLLM's 400 otherwise), re-encrypts the stored
// deployments' litellm_params with the new key when they are encrypted
// with the master key (nothing stored becomes unreadable: they read back
// with the new key, not with the old), switches the gateway to the new key
// and answers LiteLLM's {"key","token","key_name","expires"}; with
// LITELLM_SALT_KEY the rows are left as they are; a virtual key cannot. A
// team's encrypted callback variable is re-encrypted too.
func TestMasterKeyRotation(t *testing.T) {
	ctx := context.Background()
	s := newService(t, embedded(t), "")
	defer s.Close()
	var switched []string
	settings := func(master, secret string) ModelSettings {
		return ModelSettings{StoreInDB: true, Secret: secret, MasterKey: master, Apply: func(context.Context) error { return nil },
			RotateMasterKey: func(_ context.Context, nk string) error { switched = append(switched, nk); return nil }}
	}
	s.SetModelSettings(settings("sk-old-master", "sk-old-master"))
	s.SetSaltKey("sk-old-master")
	call(t, s, "POST", "/team/new", `{"team_id":"cb-team"}`)
	if st, m := callAs(t, s, Caller{Admin: true}, "POST", "/team/cb-team/callback", `{"callback_name":"langfuse","callback_vars":{"langfuse_secret_key":"sk-lf-secret","langfuse_host":"http://lf"}}`); st != 200 {
		t.Fatalf("/team/cb-team/callback: %d %v", st, m)
	}
	// A key's metadata logging credentials too (D74's encrypt_callback_vars).
	lk := generate(t, s, `{"metadata":{"logging":[{"callback_name":"langfuse","callback_vars":{"langfuse_secret_key":"sk-key-lf"}}]}}`)
	openKeyVar := func(secret string) (string, bool) {
		k, _, _ := s.Lookup(keystore.HashKey(lk))
		l, _ := k.Metadata["logging"].([]any)
		if len(l) != 1 {
			t.Fatalf("the key's logging metadata: %v", k.Metadata)
		}
		v, _ := l[0].(map[string]any)["callback_vars"].(map[string]any)["langfuse_secret_key"].(string)
		return DecryptCallbackVar(v, secret)
	}
	if got, ok := openKeyVar("sk-old-master"); !ok || got != "sk-key-lf" {
		t.Fatalf("the key's logging credential before the rotation: %q %v", got, ok)
	}
	if st, m := callAs(t, s, Caller{Admin: true}, "POST", "/model/new", `{"model_name":"m","litellm_params":{"model":"openai/x","api_key":"sk-provider","api_base":"http://p"}}`); st != 200 {
		t.Fatalf("/model/new: %d %v", st, m)
	}
	if st, m := callAs(t, s, Caller{Admin: true}, "POST", "/key/regenerate", `{"key":"sk-old-master"}`); st != 400 || errMsg(m) != "New master key is required." {
		t.Fatalf("without new_master_key: %d %v", st, m)
	}
	if st, _ := callAs(t, s, Caller{Token: "x"}, "POST", "/key/regenerate", `{"key":"sk-old-master","new_master_key":"sk-evil"}`); st != 401 {
		t.Fatalf("a virtual key rotated the master key: %d", st)
	}
	st, m := callAs(t, s, Caller{Admin: true}, "POST", "/key/regenerate", `{"key":"sk-old-master","new_master_key":"sk-new-master"}`)
	if st != 200 || m["key"] != "sk-new-master" || m["token"] != "sk-new-master" || m["key_name"] != "sk-new-master" || m["expires"] != nil {
		t.Fatalf("rotation: %d %v", st, m)
	}
	if len(switched) != 1 || switched[0] != "sk-new-master" {
		t.Fatalf("the gateway was switched to %v", switched)
	}
	if ms, err := s.StoredModels(ctx, "sk-new-master"); err != nil || len(ms) != 1 || ms[0].LitellmParams["api_key"] != "sk-provider" || ms[0].LitellmParams["api_base"] != "http://p" {
		t.Fatalf("the stored deployment with the new key: %+v %v", ms, err)
	}
	if ms, _ := s.StoredModels(ctx, "sk-old-master"); len(ms) != 1 || ms[0].LitellmParams["api_key"] == "sk-provider" {
		t.Fatalf("the old key still reads the stored deployment: %+v", ms)
	}
	// The team's encrypted callback variable opens with the new key only.
	tm, _, _ := s.team("cb-team")
	v := callbackSettingsOf(tm).Vars["langfuse_secret_key"]
	if got, ok := DecryptCallbackVar(v, "sk-new-master"); !ok || got != "sk-lf-secret" {
		t.Fatalf("the team's callback variable with the new key: %q %v (%q)", got, ok, v)
	}
	if _, ok := DecryptCallbackVar(v, "sk-old-master"); ok {
		t.Fatal("the team's callback variable still opens with the old key")
	}
	if got, ok := openKeyVar("sk-new-master"); !ok || got != "sk-key-lf" {
		t.Fatalf("the key's logging credential with the new key: %q %v", got, ok)
	}
	// With a salt key the rows do not depend on the master key.
	s.SetModelSettings(settings("sk-new-master", "salt"))
	s.SetSaltKey("salt")
	rows, _ := s.o.Store.ListModels(ctx)
	before := rows[0].LitellmParams["api_key"]
	if st, m := callAs(t, s, Caller{Admin: true}, "POST", "/key/regenerate", `{"key":"sk-new-master","new_master_key":"sk-third"}`); st != 200 {
		t.Fatalf("rotation with a salt key: %d %v", st, m)
	}
	if rows, _ := s.o.Store.ListModels(ctx); rows[0].LitellmParams["api_key"] != before {
		t.Fatal("the rows were re-encrypted although LITELLM_SALT_KEY encrypts them")
	}
	// An ordinary key is still regenerated as before.
	k := generate(t, s, `{}`)
	if st, m := callAs(t, s, Caller{Admin: true}, "POST", "/key/regenerate", `{"key":"`+k+`"}`); st != 200 || m["key"] == k {
		t.Fatalf("a virtual key's regeneration: %d %v", st, m)
	}
}
