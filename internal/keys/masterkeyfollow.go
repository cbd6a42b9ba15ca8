package keys

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Master key rotation reaching the other instances (D78). D73's rotation
// switched only the instance that served /key/regenerate; the others on the
// same database kept the old key until restarted, and could not decrypt the
// rows re-encrypted with the new one. Now the rotating instance records the
// rotation in the database (keystore.MasterKeyRotation: the replaced key's
// hash and the new key encrypted — under LITELLM_SALT_KEY when set, else
// under the replaced key, which every instance still holds) and announces it
// on the key-change channel (Redis pub/sub, masterKeyNotice). Every other
// instance looks for a rotation away from its own master key when it hears
// the announcement (with Redis: at once) and after each cache refresh
// (user_api_key_cache_ttl: this is what works without Redis), follows the
// chain of rotations to the newest key and switches to it as the rotating
// instance did (ModelSettings.RotateMasterKey: the config
// loaded again with it, the stored deployments decrypted with it, pushed to
// Envoy), then reloads its key cache (the callback variables re-encrypted).
// A gateway starting with a replaced key in its config starts with the
// newest one (LatestMasterKey).

// masterKeyNotice prefixes the key-change channel's message that announces a
// rotation (the rest is the replaced key's hash); key tokens are hex, so
// they never start with it.
const masterKeyNotice = "master-key:"

// maxRotationChain bounds the rotations followed in one switch: the records
// kept (D84).
const maxRotationChain = keystore.MaxMasterKeyRotations

// rotationSecret is the secret a rotation record's new key is encrypted
// under when cur is the master key it replaces: LITELLM_SALT_KEY when set
// (salt differs from the configured master key: a secret the rotation does
// not change), else cur.
func rotationSecret(cur, master, salt string) string {
	if salt != "" && salt != master {
		return salt
	}
	return cur
}

// recordRotation writes the rotation from ms.MasterKey to nk for the other
// instances; the store prunes a record away from nk (a rotation back to an
// earlier key) and keeps the newest keystore.MaxMasterKeyRotations (D84).
func (s *Service) recordRotation(ctx context.Context, ms ModelSettings, nk string) error {
	return s.o.Store.PutMasterKeyRotation(ctx, keystore.MasterKeyRotation{
		From:      keystore.HashKey(ms.MasterKey),
		NewKey:    EncryptValue(nk, rotationSecret(ms.MasterKey, ms.MasterKey, s.saltKey())),
		RotatedAt: s.now().UTC(),
	}, keystore.HashKey(nk))
}

// announceRotation tells the other instances at once (best effort: they
// also look at every cache refresh).
func (s *Service) announceRotation(old string) {
	if s.o.Notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.o.Notifier.Publish(ctx, masterKeyNotice+keystore.HashKey(old)); err != nil {
		s.log.Warn("master key rotation not announced; the other instances switch at their next key cache refresh (user_api_key_cache_ttl)", "error", err.Error())
	}
}

// onNotice handles one message of the key-change channel.
func (s *Service) onNotice(payload string) {
	if strings.HasPrefix(payload, masterKeyNotice) {
		go s.followMasterKey()
		return
	}
	s.reloadKey(payload)
}

// followMasterKey switches this instance to the newest master key rotated
// away from its own, if any. A rotation or another follow under way makes
// it return at once (the next refresh looks again).
func (s *Service) followMasterKey() {
	if !s.rotMu.TryLock() {
		return
	}
	defer s.rotMu.Unlock()
	ms := s.modelSettings()
	if ms.MasterKey == "" || ms.RotateMasterKey == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cur, err := s.LatestMasterKey(ctx, ms.MasterKey, s.saltKey())
	if err != nil {
		s.log.Warn("master key rotations not read; looking again at the next key cache refresh", "error", err.Error())
		return
	}
	if cur == ms.MasterKey {
		return
	}
	if err := ms.RotateMasterKey(ctx, cur); err != nil {
		s.log.Error("master key rotated by another instance, but this gateway could not switch to the new key; restart it with the new key", "error", err.Error())
		return
	}
	s.log.Info("master key rotated by another instance (/key/regenerate with new_master_key): switched to the new key; set it in general_settings.master_key or $LITELLM_MASTER_KEY before the next restart")
	// The keys' and teams' callback variables were re-encrypted.
	if err := s.refresh(ctx); err != nil {
		s.log.Warn("key cache not refreshed after the master key switch; the next refresh will", "error", err.Error())
	}
}

// LatestMasterKey follows the rotations recorded away from master (salt:
// LITELLM_SALT_KEY, else the master key) to the newest key; master itself
// when it was never rotated. A record that cannot be decrypted here ends
// the chain (logged).
func (s *Service) LatestMasterKey(ctx context.Context, master, salt string) (string, error) {
	cur := master
	for range maxRotationChain {
		r, err := s.o.Store.GetMasterKeyRotation(ctx, keystore.HashKey(cur))
		if errors.Is(err, keystore.ErrNotFound) {
			break
		}
		if err != nil {
			return master, err
		}
		nk, ok := DecryptValue(r.NewKey, rotationSecret(cur, master, salt))
		if !ok || nk == "" || nk == cur {
			s.log.Error("a master key rotation recorded in the database cannot be decrypted here (is LITELLM_SALT_KEY the same on every instance?); keeping the master key reached so far")
			break
		}
		cur = nk
	}
	return cur, nil
}
