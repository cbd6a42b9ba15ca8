package keys

import (
	"context"
	"crypto/subtle"
	"strings"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Master key rotation (D73): LiteLLM's /key/regenerate called with the
// master key as `key` and a `new_master_key` (its _rotate_master_key). What
// LiteLLM keeps encrypted with the master key (when LITELLM_SALT_KEY is not
// set) is re-encrypted with the new one: here the litellm_params of the
// deployments stored through /model/new (LiteLLM_ProxyModelTable; LiteLLM
// also re-encrypts LiteLLM_Config's environment_variables, which llmgate
// does not store) and the keys' and teams' encrypted callback variables
// (D74). LiteLLM then answers {"key": new, "token": new,
// "key_name": new, "expires": null} and keeps running with the old key until
// it is restarted with the new one; here the gateway switches at once
// (ModelSettings.RotateMasterKey: the old key stops working, the new one
// works, the stored deployments are read back with it), and so do the other
// instances on the same database (masterkeyfollow.go, D78).

// maxMasterKey bounds new_master_key.
const maxMasterKey = 256

// isMasterKey reports whether a /key/regenerate names the master key.
func isMasterKey(v, master string) bool {
	return master != "" && len(v) == len(master) && subtle.ConstantTimeCompare([]byte(v), []byte(master)) == 1
}

// rotateMasterKey re-encrypts the stored deployments with the new master
// key and switches the gateway to it.
func (s *Service) rotateMasterKey(ctx context.Context, req map[string]any, ms ModelSettings) (any, *Error) {
	nk, _ := req["new_master_key"].(string)
	switch {
	case nk == "":
		return nil, badRequest("New master key is required.")
	case len(nk) > maxMasterKey || strings.TrimSpace(nk) != nk || strings.ContainsAny(nk, " \t\r\n"):
		return nil, badRequest("new_master_key must be 1 to 256 characters without spaces.")
	case ms.RotateMasterKey == nil:
		return nil, badRequest("new_master_key: master key rotation is served by `llmgate run` only")
	}
	s.rotMu.Lock()
	defer s.rotMu.Unlock()
	undoVars, undoModels := func() {}, func() {}
	if s.saltKey() == ms.MasterKey && nk != ms.MasterKey {
		// Keys' and teams' callback variables under the master key (D74):
		// re-encrypted first, put back if the deployments fail.
		undo, e := s.reencryptCallbackVars(ctx, ms.MasterKey, nk)
		if e != nil {
			return nil, e
		}
		undoVars = undo
	}
	if ms.Secret == ms.MasterKey && nk != ms.MasterKey {
		// The stored values are encrypted with the master key (no
		// LITELLM_SALT_KEY): every row is re-encrypted, or none.
		if e := s.reencryptModels(ctx, ms.MasterKey, nk); e != nil {
			undoVars()
			return nil, e
		}
		undoModels = func() {
			if e := s.reencryptModels(context.WithoutCancel(ctx), nk, ms.MasterKey); e != nil {
				s.log.Error("master key rotation: the stored deployments could not be put back under the old master key", "error", e.Message)
			}
		}
	}
	if nk != ms.MasterKey {
		// The other instances on the database follow the record (D78);
		// without it they could not read what was re-encrypted: none or all.
		if err := s.recordRotation(ctx, ms, nk); err != nil {
			undoModels()
			undoVars()
			return nil, storeError(err)
		}
	}
	if err := ms.RotateMasterKey(ctx, nk); err != nil {
		s.log.Error("master key rotation: the stored deployments are encrypted with the new master key, but the gateway did not switch to it", "error", err.Error())
		return nil, &Error{Status: 500, Type: "internal_server_error", Code: "500", Param: "None",
			Message: "master key rotation: the gateway could not switch to the new master key; restart it with the new key"}
	}
	if nk != ms.MasterKey {
		s.announceRotation(ms.MasterKey)
	}
	s.log.Info("master key rotated through /key/regenerate: set the new key in general_settings.master_key or $LITELLM_MASTER_KEY before the next restart")
	return map[string]any{"key": nk, "token": nk, "key_name": nk, "expires": nil}, nil
}

// reencryptMetadata re-encrypts the encrypted callback variables of a key's
// or team's metadata (logging[].callback_vars and
// callback_settings.callback_vars, D74: litellm_enc::…) from one secret to
// another; nil when none changed (md is not changed).
func reencryptMetadata(md map[string]any, oldSecret, newSecret string) map[string]any {
	n := 0
	out := mapCallbackVars(md, func(_ string, v any) any {
		if str, ok := v.(string); ok && strings.HasPrefix(str, CallbackVarPrefix) {
			if plain, ok := DecryptCallbackVar(str, oldSecret); ok {
				n++
				return CallbackVarPrefix + EncryptValue(plain, newSecret)
			}
		}
		return v
	})
	if n == 0 {
		return nil
	}
	return out
}

// reencryptCallbackVars re-encrypts the keys' and teams' encrypted callback
// variables with the new secret; undo puts the changed records' metadata
// back.
func (s *Service) reencryptCallbackVars(ctx context.Context, oldSecret, newSecret string) (undo func(), e *Error) {
	s.mu.RLock()
	teams := make([]*keystore.Team, 0, len(s.teams))
	for _, t := range s.teams {
		teams = append(teams, t)
	}
	ks := make([]*keystore.Key, 0, len(s.keys))
	for _, k := range s.keys {
		ks = append(ks, k)
	}
	s.mu.RUnlock()
	var doneTeams []*keystore.Team // the originals
	var doneKeys []*keystore.Key
	putTeam := func(t *keystore.Team, md map[string]any) error {
		nt := *t
		nt.Metadata, nt.UpdatedAt = md, s.now().UTC()
		if err := s.o.Store.PutTeam(ctx, &nt); err != nil {
			return err
		}
		s.setTeam(nt.TeamID, &nt)
		return nil
	}
	putKey := func(k *keystore.Key, md map[string]any) error {
		nk := *k
		nk.Metadata, nk.UpdatedAt = md, s.now().UTC()
		if err := s.o.Store.PutKey(ctx, &nk); err != nil {
			return err
		}
		s.setKey(nk.Token, &nk)
		s.changed(nk.Token)
		return nil
	}
	undo = func() {
		for _, t := range doneTeams {
			if err := putTeam(t, t.Metadata); err != nil {
				s.log.Error("master key rotation: a team's callback variables could not be put back", "team_id", t.TeamID, "error", err.Error())
			}
		}
		for _, k := range doneKeys {
			if err := putKey(k, k.Metadata); err != nil {
				s.log.Error("master key rotation: a key's callback variables could not be put back", "key_name", k.KeyName, "error", err.Error())
			}
		}
	}
	for _, t := range teams {
		if md := reencryptMetadata(t.Metadata, oldSecret, newSecret); md != nil {
			if err := putTeam(t, md); err != nil {
				undo()
				return nil, storeError(err)
			}
			doneTeams = append(doneTeams, t)
		}
	}
	for _, k := range ks {
		if md := reencryptMetadata(k.Metadata, oldSecret, newSecret); md != nil {
			if err := putKey(k, md); err != nil {
				undo()
				return nil, storeError(err)
			}
			doneKeys = append(doneKeys, k)
		}
	}
	return undo, nil
}

// reencryptModels writes every stored deployment's litellm_params encrypted
// with the new secret; on a failure the rows already written are put back.
func (s *Service) reencryptModels(ctx context.Context, oldSecret, newSecret string) *Error {
	rows, err := s.o.Store.ListModels(ctx)
	if err != nil {
		return storeError(err)
	}
	done := 0
	for _, r := range rows {
		c := *r
		c.LitellmParams = cryptParams(cryptParams(r.LitellmParams, oldSecret, false), newSecret, true)
		c.UpdatedAt = s.now().UTC()
		if err = s.o.Store.PutModel(ctx, &c); err != nil {
			break
		}
		done++
	}
	if err == nil {
		return nil
	}
	for _, r := range rows[:done] {
		if rerr := s.o.Store.PutModel(context.WithoutCancel(ctx), r); rerr != nil {
			s.log.Error("master key rotation: a stored deployment could not be put back", "model_id", r.ModelID, "error", rerr.Error())
		}
	}
	return storeError(err)
}
