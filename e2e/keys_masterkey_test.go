package e2e

import (
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestMasterKeyRotationPostgres (D73): /key/regenerate with the master key
// and new_master_key (LiteLLM's master key rotation), through Envoy on
// PostgreSQL with store_model_in_db: the answer names the new key; the old
// key stops working at once (requests and management routes: 401), the new
// one works; the deployment stored through /model/new (its api_key
// encrypted with the master key in LiteLLM_ProxyModelTable, checked by the
// provider) still serves, read back with the new key; a restart with the
// new key in the config keeps serving it.
func TestMasterKeyRotationPostgres(t *testing.T) {
	fake, pg := rotationSetup(t)
	url := pg.NewDatabase(t)
	g := startGateway(t, modelsConfig(fake.URL(), url))
	k := keyAPI{t, g}
	k.storeModel(fake.URL())
	atRest := pg.Exec(t, url, `SELECT litellm_params->>'api_key' FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'db-1'`)
	if st, m := k.call("POST", "/key/regenerate", master, `{"key":"`+master+`"}`); st != 400 || !strings.Contains(errMessage(m), "New master key is required.") {
		t.Fatalf("without new_master_key: %d %v", st, m)
	}
	const newMaster = "sk-rotated-master-1234"
	st, m := k.call("POST", "/key/regenerate", master, `{"key":"`+master+`","new_master_key":"`+newMaster+`"}`)
	if st != 200 || m["key"] != newMaster || m["token"] != newMaster {
		t.Fatalf("rotation: %d %v", st, m)
	}
	if v := pg.Exec(t, url, `SELECT litellm_params->>'api_key' FROM "LiteLLM_ProxyModelTable" WHERE model_id = 'db-1'`); v == atRest || v == "" || strings.Contains(v, "sk-stored") {
		t.Fatalf("api_key at rest after the rotation: %q (before %q; want re-encrypted)", v, atRest)
	}
	k.rotated(newMaster, "after the rotation")
	g.Stop()
	g = startGateway(t, strings.Replace(modelsConfig(fake.URL(), url), "master_key: "+master, "master_key: "+newMaster, 1))
	keyAPI{t, g}.rotated(newMaster, "after a restart with the new key")
}

// rotationSetup is the master key rotation tests' provider — it accepts the
// config's key and the stored deployment's own api_key only, so a stored
// deployment that serves was decrypted — and PostgreSQL server.
func rotationSetup(t *testing.T) (*fakeprovider.Server, *pgtest.Server) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{"sk-provider", "sk-stored-secret"}})
	return fake, pgtest.Start(t)
}

// storeModel adds the deployment "db-model" (id db-1) through /model/new,
// its api_key stored encrypted with the master key.
func (k keyAPI) storeModel(providerURL string) {
	k.t.Helper()
	if st, m := k.call("POST", "/model/new", master, `{"model_name":"db-model","litellm_params":{"model":"openai/gpt-4o-mini","api_base":"`+providerURL+`/v1","api_key":"sk-stored-secret"},"model_info":{"id":"db-1"}}`); st != 200 {
		k.t.Fatalf("/model/new: %d %v", st, m)
	}
}

// rotated checks a gateway after the master key became newMaster: the old
// key is refused (401) on the config's and the stored deployment and on
// /key/list, the new one served on both and on /key/list.
func (k keyAPI) rotated(newMaster, when string) {
	k.t.Helper()
	for _, model := range []string{"gpt-x", "db-model"} {
		if st, e, _ := k.chat(master, model); st != 401 {
			k.t.Fatalf("%s: the old master key on %s: %d %v", when, model, st, e)
		}
		if st, e, _ := k.chat(newMaster, model); st != 200 {
			k.t.Fatalf("%s: the new master key on %s: %d %v", when, model, st, e)
		}
	}
	if st, _ := k.call("GET", "/key/list", master, ""); st != 401 {
		k.t.Fatalf("%s: /key/list with the old master key: %d", when, st)
	}
	if st, m := k.call("GET", "/key/list", newMaster, ""); st != 200 {
		k.t.Fatalf("%s: /key/list with the new master key: %d %v", when, st, m)
	}
}

func errMessage(m map[string]any) string {
	e, _ := m["error"].(map[string]any)
	s, _ := e["message"].(string)
	return s
}
