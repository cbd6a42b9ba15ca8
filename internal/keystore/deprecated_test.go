package keystore

import (
	"context"
	"errors"
	"testing"
	"time"
)

// runDeprecatedSuite: a regenerated key's old value is kept until its
// revoke_at, replaced by a second regenerate, and survives a reopen.
func runDeprecatedSuite(t *testing.T, mk func(t *testing.T) opener) {
	ctx := context.Background()
	t.Run("regenerated keys' old values last their grace period and survive reopen", func(t *testing.T) {
		open := mk(t)
		s := open(t)
		now := time.Now().UTC().Truncate(time.Millisecond)
		a, b, c := HashKey("sk-a"), HashKey("sk-b"), HashKey("sk-c")
		must(t, s.DeprecateKey(ctx, DeprecatedKey{Token: a, ActiveToken: b, RevokeAt: now.Add(time.Hour)}))
		must(t, s.DeprecateKey(ctx, DeprecatedKey{Token: HashKey("sk-gone"), ActiveToken: b, RevokeAt: now.Add(-time.Second)}))
		// Regenerated again within the grace period: the old value now
		// stands for the newest key.
		must(t, s.DeprecateKey(ctx, DeprecatedKey{Token: a, ActiveToken: c, RevokeAt: now.Add(2 * time.Hour)}))
		s.Close()
		s = open(t)
		ds, err := s.DeprecatedKeys(ctx, now)
		must(t, err)
		if len(ds) != 1 || ds[0].Token != a || ds[0].ActiveToken != c || !ds[0].RevokeAt.Equal(now.Add(2*time.Hour)) {
			t.Fatalf("deprecated keys %+v", ds)
		}
		d, err := s.GetDeprecatedKey(ctx, a, now)
		must(t, err)
		if d.ActiveToken != c {
			t.Fatalf("deprecated key %+v", d)
		}
		if _, err := s.GetDeprecatedKey(ctx, a, now.Add(3*time.Hour)); !errors.Is(err, ErrNotFound) {
			t.Fatalf("after revoke_at: %v", err)
		}
		if _, err := s.GetDeprecatedKey(ctx, HashKey("sk-gone"), now); !errors.Is(err, ErrNotFound) {
			t.Fatalf("revoked entry: %v", err)
		}
	})
}
