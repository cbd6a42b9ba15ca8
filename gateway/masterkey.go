package gateway

import (
	"context"
	"errors"
	"sync"

	"github.com/llmgate/llmgate/config"
)

// masterKeyOverride is a master key rotated through /key/regenerate with
// new_master_key (D73): while the config (file or $LITELLM_MASTER_KEY) still
// names the key it replaced (from), every load uses the new one (to); a
// config that names any other key (the new one, after the operator updated
// it) is used as it is. It lives in memory: a restart reads the config, as
// LiteLLM's does.
type masterKeyOverride struct {
	mu       sync.Mutex
	from, to string
}

// apply puts the rotated master key into a freshly loaded config.
func (o *masterKeyOverride) apply(cfg *config.Config) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.to != "" && cfg != nil && cfg.General.MasterKey == o.from {
		cfg.General.MasterKey = o.to
	}
}

// rotateMasterKey switches the gateway to a new master key: the config is
// loaded again with it (the ext_proc filter, the module and the stored
// deployments' decryption take it) and pushed, as a reload.
func (g *Gateway) rotateMasterKey(ctx context.Context, current, newKey string) error {
	g.masterKey.mu.Lock()
	if g.masterKey.to == "" {
		g.masterKey.from = current // the config's own key
	}
	prev := g.masterKey.to
	g.masterKey.to = newKey
	g.masterKey.mu.Unlock()
	g.Reload(context.WithoutCancel(ctx))
	if cur := g.current(); cur == nil || cur.General.MasterKey != newKey {
		g.masterKey.mu.Lock()
		g.masterKey.to = prev
		g.masterKey.mu.Unlock()
		return errors.New("the reload with the new master key was not applied")
	}
	return nil
}

// startWithRotatedKey makes a gateway that starts with a master key another
// instance rotated away from (its config not updated yet) start with the
// newest one (D78), as a running instance switches when it hears of the
// rotation: so the stored deployments decrypt and the replaced key is
// refused from the first request.
func (g *Gateway) startWithRotatedKey(ctx context.Context, cfg *config.Config) {
	if g.keys == nil || !g.storedModels || cfg.General.MasterKey == "" {
		return
	}
	nk, err := g.keys.LatestMasterKey(ctx, cfg.General.MasterKey, modelSecret(cfg))
	if err != nil {
		g.log.Warn("master key rotations not read at start; the next key cache refresh looks again", "error", err.Error())
		return
	}
	if nk == cfg.General.MasterKey {
		return
	}
	g.masterKey.mu.Lock()
	g.masterKey.from, g.masterKey.to = cfg.General.MasterKey, nk
	g.masterKey.mu.Unlock()
	cfg.General.MasterKey = nk
	g.log.Warn("the config's master key was rotated through /key/regenerate (new_master_key): starting with the new key; set it in general_settings.master_key or $LITELLM_MASTER_KEY")
}
