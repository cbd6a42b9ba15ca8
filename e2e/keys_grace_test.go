package e2e

import (
	"testing"
	"time"
)

// runKeyGracePeriod: /key/regenerate with grace_period keeps the old value
// working, its spend counted on the key that replaced it, until the period
// ends; then it is refused like any unknown key (LiteLLM's
// LiteLLM_DeprecatedVerificationToken).
func runKeyGracePeriod(t *testing.T, k keyAPI) {
	t.Run("/key/regenerate with grace_period: the old value works until the period ends", func(t *testing.T) {
		old, _ := k.generate(`{"models":["gpt-x"]}`)
		st, m := k.call("POST", "/key/regenerate", master, `{"key":"`+old+`","grace_period":"4s"}`)
		if st != 200 {
			t.Fatalf("/key/regenerate: %d %v", st, m)
		}
		end := time.Now().Add(4 * time.Second)
		nw, _ := m["key"].(string)
		if st, e, _ := k.chat(old, "gpt-x"); st != 200 {
			t.Fatalf("old value within its grace period: %d %v", st, e)
		}
		if st, e, _ := k.chat(nw, "gpt-x"); st != 200 {
			t.Fatalf("new value: %d %v", st, e)
		}
		if st, e, _ := k.chat(old, "other"); st != 401 || e["type"] != "key_model_access_denied" {
			t.Fatalf("old value outside the key's models: %d %v", st, e)
		}
		if s := k.spend(nw); s <= 0 {
			t.Fatalf("the old value's request was not counted on the new key: spend %v", s)
		}
		time.Sleep(time.Until(end) + 500*time.Millisecond)
		if st, e, _ := k.chat(old, "gpt-x"); st != 401 {
			t.Fatalf("old value after its grace period: %d %v", st, e)
		}
		if st, e, _ := k.chat(nw, "gpt-x"); st != 200 {
			t.Fatalf("new value after the grace period: %d %v", st, e)
		}
	})
}
