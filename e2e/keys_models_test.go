package e2e

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

func modelsConfig(fake, dbURL string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: sk-provider}
general_settings:
  master_key: %[2]s
  store_model_in_db: true
  database_url: %[3]s
`, fake, master, dbURL)
}

// store_model_in_db: /model/new adds a deployment that serves at once
// (pushed to Envoy like a reload), shows in /model/info, survives a
// restart, and /model/delete removes it; litellm_params are encrypted in
// LiteLLM_ProxyModelTable.
func TestStoredModelsPostgres(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	g := startGateway(t, modelsConfig(fake.URL(), url))
	k := keyAPI{t, g}
	if st, e, _ := k.chat(master, "db-model"); st != 400 {
		t.Fatalf("before /model/new: %d %v", st, e)
	}
	st, m := k.call("POST", "/model/new", master, `{"model_name":"db-model","litellm_params":{"model":"openai/gpt-4o-mini","api_base":"`+fake.URL()+`/v1","api_key":"sk-stored-secret"},"model_info":{"id":"db-1"}}`)
	if st != 200 || m["model_id"] != "db-1" || strings.Contains(fmt.Sprint(m), "sk-stored-secret") {
		t.Fatalf("/model/new: %d %v", st, m)
	}
	if st, e, _ := k.chat(master, "db-model"); st != 200 {
		t.Fatalf("the stored model right after /model/new: %d %v", st, e)
	}
	if st, m := k.call("POST", "/model/new", master, `{"model_name":"bad","litellm_params":{"model":"openai/x","timeout":"soon"},"model_info":{"id":"db-bad"}}`); st != 400 {
		t.Fatalf("an invalid model: %d %v", st, m)
	}
	if st, m := k.call("POST", "/model/new", master, `{"model_name":"x","litellm_params":{"model":"openai/x"}}`); st == 200 && m["model_id"] == nil {
		t.Fatalf("/model/new without an id: %d %v", st, m)
	}
	_, _, b := do(t, "GET", g.URL+"/model/info", master, "")
	var info struct {
		Data []struct {
			ModelName string         `json:"model_name"`
			ModelInfo map[string]any `json:"model_info"`
		} `json:"data"`
	}
	_ = json.Unmarshal(b, &info)
	found := false
	for _, d := range info.Data {
		if d.ModelName == "db-model" && d.ModelInfo["id"] == "db-1" && d.ModelInfo["db_model"] == true {
			found = true
		}
	}
	if !found || strings.Contains(string(b), "sk-stored-secret") {
		t.Fatalf("/model/info: %s", b)
	}
	if v := pg.Exec(t, url, `SELECT litellm_params->>'api_key' FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'db-1'`); v == "" || strings.Contains(v, "sk-stored") {
		t.Fatalf("api_key at rest: %q (want it encrypted)", v)
	}
	g.Stop()
	g = startGateway(t, modelsConfig(fake.URL(), url))
	k = keyAPI{t, g}
	if st, e, _ := k.chat(master, "db-model"); st != 200 {
		t.Fatalf("the stored model after a restart: %d %v", st, e)
	}
	if st, m := k.call("POST", "/model/update", master, `{"model_name":"db-model-renamed","model_info":{"id":"db-1"}}`); st != 200 {
		t.Fatalf("/model/update: %d %v", st, m)
	}
	if st, e, _ := k.chat(master, "db-model-renamed"); st != 200 {
		t.Fatalf("the renamed model: %d %v", st, e)
	}
	if st, m := k.call("POST", "/model/delete", master, `{"id":"db-1"}`); st != 200 {
		t.Fatalf("/model/delete: %d %v", st, m)
	}
	if st, e, _ := k.chat(master, "db-model-renamed"); st != 400 {
		t.Fatalf("after /model/delete: %d %v", st, e)
	}
	if st, m := k.call("POST", "/model/delete", master, `{"id":"db-1"}`); st != 400 {
		t.Fatalf("second /model/delete: %d %v", st, m)
	}
	if st, e, _ := k.chat(master, "gpt-x"); st != 200 {
		t.Fatalf("the config's model: %d %v", st, e)
	}
}
