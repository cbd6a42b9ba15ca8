package e2e

import (
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// keyGenConfig sets default_key_generate_params,
// upperbound_key_generate_params and the internal users' defaults.
const keyGenConfig = `litellm_settings:
  default_key_generate_params: {max_budget: 10, models: [gpt-x], rpm_limit: 5}
  upperbound_key_generate_params: {max_budget: 100, tpm_limit: 1000, duration: 30d}
  default_internal_user_params: {models: [other]}
  max_internal_user_budget: 7.5
  internal_user_budget_duration: 7d
`

// The key-generation settings from the config file through the real
// gateway (D90), on the embedded store and on PostgreSQL: a key generated
// without fields gets the defaults and the bounds, and its default model
// list holds on the request path; values above a bound are refused with
// LiteLLM's 400; /user/new gets the internal users' defaults, and its key
// the user's default models.
func TestKeyGenerateParamsEmbedded(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	runKeyGenerateParams(t, startGateway(t, keysConfig(fake.URL(), "")+keyGenConfig, "LLMGATE_DATA_DIR="+t.TempDir()))
}

func TestKeyGenerateParamsPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	url := pgtest.Start(t).NewDatabase(t)
	runKeyGenerateParams(t, startGateway(t, keysConfig(fake.URL(), url)+keyGenConfig))
}

func runKeyGenerateParams(t *testing.T, g *Gateway) {
	k := keyAPI{t, g}
	key, _ := k.generate(`{}`)
	st, m := k.call("GET", "/key/info?key="+key, master, "")
	info, _ := m["info"].(map[string]any)
	if models, _ := info["models"].([]any); st != 200 || info["max_budget"] != 10.0 || info["rpm_limit"] != 5.0 || info["tpm_limit"] != 1000.0 ||
		info["expires"] == nil || len(models) != 1 || models[0] != "gpt-x" {
		t.Fatalf("/key/info of a key generated with {}: %d %v", st, m)
	}
	if st, e, _ := k.chat(key, "gpt-x"); st != 200 {
		t.Fatalf("the default model: %d %v", st, e)
	}
	if st, e, _ := k.chat(key, "other"); st != 401 || e["type"] != "key_model_access_denied" {
		t.Fatalf("a model outside the default list: %d %v", st, e)
	}
	for _, tc := range []struct{ path, body, msg string }{
		{"/key/generate", `{"max_budget":200}`, "{'error': 'max_budget is over max limit set in config - user_value=200.0; max_value=100.0'}"},
		{"/key/generate", `{"duration":"31d"}`, "{'error': 'duration is over max limit set in config - user_value=31d; max_value=30d'}"},
		{"/key/update", `{"key":"` + key + `","tpm_limit":1001}`, "{'error': 'tpm_limit is over max limit set in config - user_value=1001; max_value=1000'}"},
	} {
		st, m := k.call("POST", tc.path, master, tc.body)
		e, _ := m["error"].(map[string]any)
		if st != 400 || e["message"] != tc.msg || e["code"] != "400" {
			t.Errorf("%s %s: %d %v, want 400 %q", tc.path, tc.body, st, m, tc.msg)
		}
	}
	st, u := k.call("POST", "/user/new", master, `{"user_role":"internal_user"}`)
	if models, _ := u["models"].([]any); st != 200 || u["max_budget"] != 7.5 || u["budget_duration"] != "7d" || len(models) != 1 || models[0] != "other" {
		t.Fatalf("/user/new: %d %v", st, u)
	}
	userKey, _ := u["key"].(string)
	if st, e, _ := k.chat(userKey, "gpt-x"); st != 401 {
		t.Fatalf("the user's key outside the user's default models: %d %v", st, e)
	}
	if st, e, _ := k.chat(userKey, "other"); st != 200 {
		t.Fatalf("the user's key on its default model: %d %v", st, e)
	}
}
