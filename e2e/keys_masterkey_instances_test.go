package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/redistest"
)

// TestMasterKeyRotationInstances (D78): two llmgate instances on one
// PostgreSQL, through Envoy. /key/regenerate with new_master_key on
// instance a switches instance b too, live: b refuses the old master key
// (requests and management routes: 401) and serves the new one, and the
// deployment stored through /model/new (its api_key re-encrypted with the
// new key; the provider accepts only that key) keeps serving on b, decrypted
// with the new key. With Redis b hears the announcement (its key cache
// refreshes once a minute, so only the announcement can switch it within the
// test's 10 s); without Redis b finds the rotation at its next cache refresh
// (user_api_key_cache_ttl: 1). A restart of b with the old key still in its
// config starts with the new one. Before D78 b kept the old key.
func TestMasterKeyRotationInstances(t *testing.T) {
	fake, pg := rotationSetup(t)
	rd := redistest.StartServer(t)
	for _, tc := range []struct {
		name, extra string
		restart     bool
	}{
		{"redis", redisRouterSettings(rd.Addr()), false},
		{"no redis", "  user_api_key_cache_ttl: 1\n", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			url := pg.NewDatabase(t)
			cfg := modelsConfig(fake.URL(), url) + tc.extra
			ga := startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+t.TempDir())
			ka := keyAPI{t, ga}
			ka.storeModel(fake.URL())
			bDir := t.TempDir()
			gb := startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+bDir)
			kb := keyAPI{t, gb}
			if st, e, _ := kb.chat(master, "db-model"); st != 200 {
				t.Fatalf("b before the rotation: %d %v", st, e)
			}
			const newMaster = "sk-rotated-master-5678"
			if st, m := ka.call("POST", "/key/regenerate", master, `{"key":"`+master+`","new_master_key":"`+newMaster+`"}`); st != 200 || m["key"] != newMaster {
				t.Fatalf("rotation on a: %d %v", st, m)
			}
			deadline := time.Now().Add(10 * time.Second)
			for {
				st, _ := kb.call("GET", "/key/list", master, "")
				if st == 401 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("b still takes the old master key 10 s after the rotation: /key/list %d", st)
				}
				time.Sleep(100 * time.Millisecond)
			}
			ka.rotated(newMaster, "a")
			kb.rotated(newMaster, "b")
			if !strings.Contains(gb.Logs(), "master key rotated by another instance") {
				t.Fatalf("b's log does not say it switched:\n%s", gb.Logs())
			}
			if tc.restart {
				gb.Stop()
				gb = startGatewayArgs(t, cfg, moduleArgs, "LLMGATE_DATA_DIR="+bDir) // the old key in its config
				keyAPI{t, gb}.rotated(newMaster, "b restarted with the old key in its config")
			}
		})
	}
}
