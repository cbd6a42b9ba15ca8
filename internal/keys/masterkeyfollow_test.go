package keys

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// hub is an in-process key-change channel (Redis pub/sub in production).
type hub struct {
	mu   sync.Mutex
	subs []func(string)
}

func (h *hub) Publish(_ context.Context, token string) error {
	h.mu.Lock()
	subs := append([]func(string){}, h.subs...)
	h.mu.Unlock()
	for _, fn := range subs {
		go fn(token)
	}
	return nil
}

func (h *hub) Subscribe(ctx context.Context, fn func(string)) {
	h.mu.Lock()
	h.subs = append(h.subs, fn)
	h.mu.Unlock()
	<-ctx.Done()
}

// follower is a second instance on the same store: its gateway switch
// (RotateMasterKey) records the key and takes it as its settings, as the
// gateway's reload does.
type follower struct {
	s        *Service
	switched chan string
}

func newFollower(t *testing.T, ks keystore.Store, n Notifier, ttl time.Duration, master, salt string) *follower {
	t.Helper()
	s, err := New(context.Background(), Options{Store: ks, Counters: store.NewMemory(func() time.Time { return clock }), Notifier: n,
		BatchWriteAt: time.Hour, CacheTTL: ttl, Now: func() time.Time { return clock }})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	f := &follower{s: s, switched: make(chan string, 8)}
	var settings func(string) ModelSettings
	settings = func(mk string) ModelSettings {
		secret := mk
		if salt != "" {
			secret = salt
		}
		return ModelSettings{StoreInDB: true, Secret: secret, MasterKey: mk, Apply: func(context.Context) error { return nil },
			RotateMasterKey: func(_ context.Context, nk string) error {
				f.switched <- nk
				s.SetModelSettings(settings(nk))
				if salt == "" {
					s.SetSaltKey(nk)
				}
				return nil
			}}
	}
	s.SetModelSettings(settings(master))
	if salt != "" {
		s.SetSaltKey(salt)
	} else {
		s.SetSaltKey(master)
	}
	return f
}

func (f *follower) wait(t *testing.T, want, what string) {
	t.Helper()
	select {
	case got := <-f.switched:
		if got != want {
			t.Fatalf("%s: switched to %q, want %q", what, got, want)
		}
	case <-time.After(5 * time.Second):
		t.Fatalf("%s: never switched to %q", what, want)
	}
}

// TestMasterKeyRotationFollowed (D78): a master key rotated through
// /key/regenerate on one instance reaches the other instances on the same
// store: at once through the key-change channel (Redis), and without it at
// the next cache refresh; a chain of rotations is followed to the newest
// key; a start with a replaced key finds the newest; the recorded new key
// is never stored in plaintext; with LITELLM_SALT_KEY the record is under
// the salt key.
func TestMasterKeyRotationFollowed(t *testing.T) {
	ctx := context.Background()
	ks := embedded(t)
	h := &hub{}
	a := newFollower(t, ks, h, time.Hour, "sk-old-master", "")
	viaRedis := newFollower(t, ks, h, time.Hour, "sk-old-master", "")               // refreshes once an hour: only the announcement can reach it
	viaRefresh := newFollower(t, ks, nil, 50*time.Millisecond, "sk-old-master", "") // no Redis
	// A stored deployment under the master key: readable by the followers
	// with the key they switch to.
	if st, m := callAs(t, a.s, Caller{Admin: true}, "POST", "/model/new", `{"model_name":"m","litellm_params":{"model":"openai/x","api_key":"sk-provider","api_base":"http://p"}}`); st != 200 {
		t.Fatalf("/model/new: %d %v", st, m)
	}
	time.Sleep(100 * time.Millisecond) // the announcements' subscriptions are in place
	if st, m := callAs(t, a.s, Caller{Admin: true}, "POST", "/key/regenerate", `{"key":"sk-old-master","new_master_key":"sk-new-master"}`); st != 200 {
		t.Fatalf("rotation: %d %v", st, m)
	}
	a.wait(t, "sk-new-master", "the rotating instance")
	viaRedis.wait(t, "sk-new-master", "the instance that heard the announcement")
	viaRefresh.wait(t, "sk-new-master", "the instance without Redis")
	if ms, err := viaRefresh.s.StoredModels(ctx, viaRefresh.s.modelSettings().Secret); err != nil || len(ms) != 1 || ms[0].LitellmParams["api_key"] != "sk-provider" {
		t.Fatalf("the follower reads the stored deployment with its new key: %+v %v", ms, err)
	}
	r, err := ks.GetMasterKeyRotation(ctx, keystore.HashKey("sk-old-master"))
	if err != nil || r.NewKey == "" || r.NewKey == "sk-new-master" {
		t.Fatalf("the rotation record: %+v %v", r, err)
	}
	// A second rotation, from the new key: the followers go on.
	if st, m := callAs(t, viaRedis.s, Caller{Admin: true}, "POST", "/key/regenerate", `{"key":"sk-new-master","new_master_key":"sk-third"}`); st != 200 {
		t.Fatalf("second rotation: %d %v", st, m)
	}
	viaRedis.wait(t, "sk-third", "the second rotating instance")
	a.wait(t, "sk-third", "the first instance, second rotation")
	viaRefresh.wait(t, "sk-third", "the instance without Redis, second rotation")
	// A start with the first key follows the chain.
	if nk, err := a.s.LatestMasterKey(ctx, "sk-old-master", "sk-old-master"); err != nil || nk != "sk-third" {
		t.Fatalf("start with the first key: %q %v", nk, err)
	}
	if nk, _ := a.s.LatestMasterKey(ctx, "sk-unrelated", "sk-unrelated"); nk != "sk-unrelated" {
		t.Fatalf("a key never rotated: %q", nk)
	}
	select {
	case k := <-viaRefresh.switched:
		t.Fatalf("switched again without a rotation: %q", k)
	case <-time.After(200 * time.Millisecond):
	}

	// With LITELLM_SALT_KEY the record is under the salt key: the replaced
	// key alone does not open it.
	ks2 := embedded(t)
	sa := newFollower(t, ks2, nil, time.Hour, "sk-a", "salt")
	sb := newFollower(t, ks2, nil, 50*time.Millisecond, "sk-a", "salt")
	if st, m := callAs(t, sa.s, Caller{Admin: true}, "POST", "/key/regenerate", `{"key":"sk-a","new_master_key":"sk-b"}`); st != 200 {
		t.Fatalf("rotation with a salt key: %d %v", st, m)
	}
	sa.wait(t, "sk-b", "salted, the rotating instance")
	sb.wait(t, "sk-b", "salted, the follower")
	r, _ = ks2.GetMasterKeyRotation(ctx, keystore.HashKey("sk-a"))
	if _, ok := DecryptValue(r.NewKey, "sk-a"); ok {
		t.Fatal("with a salt key the record opens with the replaced master key")
	}
}
