package keys

import (
	"context"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// /key/service-account/generate and the service_account_id metadata field
// as LiteLLM's key routes treat them: the team must be named and exist, the
// key is stamped with service_account_id (its alias, else a UUID) and has no
// user, the field cannot change once set, and /key/generate or /key/update
// refuse service account metadata without a team — on the embedded store
// and on PostgreSQL.
func TestServiceAccountKeys(t *testing.T) {
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) { testServiceAccountKeys(t, open) })
	}
}

func testServiceAccountKeys(t *testing.T, open func(t *testing.T) keystore.Store) {
	ks := open(t)
	s := newService(t, ks, "")
	t.Cleanup(func() { s.Close(); ks.Close() })
	call := func(path, body string) (int, map[string]any) {
		t.Helper()
		return callAs(t, s, Caller{Admin: true}, "POST", path, body)
	}
	refused := func(path, body, msg string) {
		t.Helper()
		st, m := call(path, body)
		e, _ := m["error"].(map[string]any)
		if st != 400 || e["message"] != msg || e["type"] != "internal_server_error" || e["code"] != "400" {
			t.Errorf("%s %s: %d %v, want 400 %q", path, body, st, m, msg)
		}
	}
	const needTeam = "team_id is required for service account keys. Please specify `team_id` in the request body."
	refused("/key/service-account/generate", `{"key_alias":"bot"}`, needTeam)
	refused("/key/service-account/generate", `{"team_id":"nope"}`, "team_id does not exist in the database. Please specify a valid `team_id` in the request body.")
	refused("/key/generate", `{"metadata":{"service_account_id":"x"}}`, needTeam)

	if st, m := call("/team/new", `{"team_id":"ml"}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	st, m := call("/key/service-account/generate", `{"team_id":"ml","key_alias":"ci-bot","user_id":"alice","metadata":{"app":"ci"}}`)
	if st != 200 {
		t.Fatalf("/key/service-account/generate: %d %v", st, m)
	}
	md, _ := m["metadata"].(map[string]any)
	if md["service_account_id"] != "ci-bot" || md["app"] != "ci" || m["user_id"] != nil || m["team_id"] != "ml" {
		t.Errorf("service account key: metadata %v, user_id %v, team_id %v", md, m["user_id"], m["team_id"])
	}
	raw, _ := m["key"].(string)
	k, _, ok := s.Lookup(keystore.HashKey(raw))
	if !ok || !isServiceAccount(k) {
		t.Fatalf("the stored key is not a service account: %v", k)
	}
	// Without an alias the id is a new UUID.
	if _, m := call("/key/service-account/generate", `{"team_id":"ml"}`); len(m["metadata"].(map[string]any)["service_account_id"].(string)) != 36 {
		t.Errorf("no alias: metadata %v, want a UUID service_account_id", m["metadata"])
	}

	// Reserved: kept when an update leaves it out, refused when it changes.
	if st, m := call("/key/update", `{"key":"`+raw+`","metadata":{"app":"ci2"}}`); st != 200 {
		t.Fatalf("/key/update: %d %v", st, m)
	} else if md, _ := m["metadata"].(map[string]any); md["service_account_id"] != "ci-bot" || md["app"] != "ci2" {
		t.Errorf("update without the field: metadata %v", md)
	}
	const immutable = "service_account_id is immutable once set and cannot be changed via update."
	refused("/key/update", `{"key":"`+raw+`","metadata":{"service_account_id":"other"}}`, immutable)
	refused("/key/update", `{"key":"`+raw+`","metadata":null}`, immutable)
	if k, _, _ := s.Lookup(keystore.HashKey(raw)); k.Metadata["service_account_id"] != "ci-bot" {
		t.Errorf("after refused updates: metadata %v", k.Metadata)
	}
	stored, err := ks.GetKey(context.Background(), keystore.HashKey(raw))
	if err != nil || stored.Metadata["service_account_id"] != "ci-bot" {
		t.Errorf("stored metadata %v (%v)", stored, err)
	}

	// A personal key made a service account needs a team.
	_, pm := call("/key/generate", `{"user_id":"bob"}`)
	personal, _ := pm["key"].(string)
	refused("/key/update", `{"key":"`+personal+`","metadata":{"service_account_id":"x"}}`, needTeam)
}
