package keys

import (
	"context"
	"testing"

	"github.com/llmgate/llmgate/internal/keystore"
)

// TestDisableMasterKeyReturn (D96): a LiteLLM database's master key row (its
// token the master key's hash) is listed by /user/info like any key, and
// not with general_settings.disable_master_key_return; on both stores.
func TestDisableMasterKeyReturn(t *testing.T) {
	const mk = "sk-master-return"
	for name, open := range keyStores(t) {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			ks := open(t)
			if err := ks.PutKey(ctx, &keystore.Key{Token: keystore.HashKey(mk), UserID: "admin-u"}); err != nil {
				t.Fatal(err)
			}
			s := newService(t, ks, "")
			defer s.Close()
			s.SetModelSettings(ModelSettings{MasterKey: mk})
			call(t, s, "POST", "/user/new", `{"user_id":"admin-u"}`)
			generate(t, s, `{"user_id":"admin-u"}`)
			count := func() int {
				t.Helper()
				st, m := callAs(t, s, Caller{Admin: true}, "GET", "/user/info?user_id=admin-u", "")
				if st != 200 {
					t.Fatalf("/user/info: %d %v", st, m)
				}
				l, _ := m["keys"].([]any)
				return len(l)
			}
			// The master key's row, /user/new's key and the generated one.
			if n := count(); n != 3 {
				t.Fatalf("%d keys listed without the setting, want 3", n)
			}
			s.SetDisableMasterKeyReturn(true)
			if n := count(); n != 2 {
				t.Fatalf("%d keys listed with disable_master_key_return, want 2 (the master key's row hidden)", n)
			}
		})
	}
}
