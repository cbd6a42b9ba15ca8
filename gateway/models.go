package gateway

import (
	"context"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/keys"
)

// storeModelsInDB is store_model_in_db, or STORE_MODEL_IN_DB=True in the
// environment (as LiteLLM reads it).
func storeModelsInDB(cfg *config.Config) bool {
	return cfg.General.StoreModelInDB || strings.EqualFold(os.Getenv("STORE_MODEL_IN_DB"), "true")
}

// modelSecret encrypts stored litellm_params: LITELLM_SALT_KEY, else the
// master key, as LiteLLM.
func modelSecret(cfg *config.Config) string {
	if s := os.Getenv("LITELLM_SALT_KEY"); s != "" {
		return s
	}
	return cfg.General.MasterKey
}

// parseModels compiles stored deployments as the config loader compiles
// model_list entries.
func parseModels(ms []keys.StoredModel) ([]config.Deployment, error) {
	data, err := keys.ModelListYAML(ms)
	if err != nil {
		return nil, err
	}
	c, err := config.Parse(data, "LiteLLM_ProxyModelTable", os.LookupEnv)
	if err != nil {
		return nil, err
	}
	return c.Models, nil
}

// addStoredModels adds the deployments stored through /model/new to cfg's
// model_list (after the file's; a stored id that the file also has is left
// out, with a warning). A stored deployment that no longer compiles is left
// out with a warning too, so one bad row never stops the gateway.
func (g *Gateway) addStoredModels(ctx context.Context, cfg *config.Config) error {
	if g.keys == nil || !storeModelsInDB(cfg) {
		return nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	stored, err := g.keys.StoredModels(ctx, modelSecret(cfg))
	if err != nil {
		return fmt.Errorf("store_model_in_db: reading the stored models: %w", err)
	}
	have := map[string]bool{}
	for _, d := range cfg.Models {
		have[d.ID] = true
	}
	for _, m := range stored {
		if have[m.ID] {
			g.log.Warn("stored model left out: the config has a deployment with its id", "id", m.ID)
			continue
		}
		ds, err := parseModels([]keys.StoredModel{m})
		if err != nil {
			g.log.Warn("stored model left out: it does not compile", "id", m.ID, "error", err.Error())
			continue
		}
		cfg.Models = append(cfg.Models, ds...)
		have[m.ID] = true
	}
	return nil
}

// modelSettings are the /model/* settings of cfg.
func (g *Gateway) modelSettings(cfg *config.Config) keys.ModelSettings {
	if !g.storedModels {
		// Split mode: the control plane does not read stored models yet.
		return keys.ModelSettings{StoreInDB: storeModelsInDB(cfg)}
	}
	return keys.ModelSettings{
		StoreInDB: storeModelsInDB(cfg),
		Secret:    modelSecret(cfg),
		Validate: func(name string, params, info map[string]any) error {
			_, err := parseModels([]keys.StoredModel{{ID: fmt.Sprint(info["id"]), ModelName: name, LitellmParams: params, ModelInfo: info}})
			return err
		},
		Apply: func(ctx context.Context) error {
			g.Reload(context.WithoutCancel(ctx))
			return nil
		},
		MasterKey: cfg.General.MasterKey,
		RotateMasterKey: func(ctx context.Context, newKey string) error {
			return g.rotateMasterKey(ctx, cfg.General.MasterKey, newKey)
		},
	}
}
