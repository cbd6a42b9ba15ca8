package keys

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"golang.org/x/crypto/nacl/secretbox"

	"github.com/llmgate/llmgate/internal/keystore"
)

// modelRoutes are LiteLLM's /model/* routes for deployments stored in the
// database (general_settings.store_model_in_db); /model/info is the request
// filter's (it lists config and stored deployments alike).
var modelRoutes = map[string]bool{"new": true, "update": true, "delete": true}

// ModelSettings are what /model/new needs from the gateway.
type ModelSettings struct {
	// StoreInDB is general_settings.store_model_in_db.
	StoreInDB bool
	// Secret encrypts litellm_params values at rest: LITELLM_SALT_KEY,
	// else the master key, as LiteLLM.
	Secret string
	// Validate checks one deployment as the config loader would (nil: ok).
	Validate func(modelName string, params, info map[string]any) error
	// Apply recompiles the routing table with the stored deployments and
	// pushes it (as a config reload does); it returns when it is applied.
	Apply func(ctx context.Context) error
	// MasterKey is the gateway's master key; RotateMasterKey switches the
	// gateway to a new one (/key/regenerate with new_master_key, masterkey.go).
	MasterKey       string
	RotateMasterKey func(ctx context.Context, newKey string) error
}

// SetModelSettings sets the /model/* settings (a config reload calls it again).
func (s *Service) SetModelSettings(m ModelSettings) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.modelSet = m
}

func (s *Service) modelSettings() ModelSettings {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.modelSet
}

func secretKey(secret string) *[32]byte {
	k := sha256.Sum256([]byte(secret))
	return &k
}

// EncryptValue encrypts a litellm_params value as LiteLLM stores it: NaCl
// secretbox under sha256(secret), nonce first, URL-safe base64.
func EncryptValue(v, secret string) string {
	var nonce [24]byte
	_, _ = rand.Read(nonce[:])
	box := secretbox.Seal(nonce[:], []byte(v), &nonce, secretKey(secret))
	return base64.URLEncoding.EncodeToString(box)
}

// gcmV2Prefix marks LiteLLM's AES-256-GCM values (key sha256(secret),
// 12-byte nonce first, URL-safe base64).
const gcmV2Prefix = "v2:gcm:"

// DecryptValue is EncryptValue's inverse; it also reads the standard-base64
// values older LiteLLM versions wrote and LiteLLM's "v2:gcm:" AES-GCM values.
// ok is false for a value that is not encrypted with secret (LiteLLM then
// keeps the value as it is).
func DecryptValue(v, secret string) (string, bool) {
	if rest, isGCM := strings.CutPrefix(v, gcmV2Prefix); isGCM {
		raw, err := base64.URLEncoding.DecodeString(rest)
		if err != nil || len(raw) < 12+16 {
			return "", false
		}
		blk, err := aes.NewCipher(secretKey(secret)[:])
		if err != nil {
			return "", false
		}
		gcm, err := cipher.NewGCM(blk)
		if err != nil {
			return "", false
		}
		out, err := gcm.Open(nil, raw[:12], raw[12:], nil)
		return string(out), err == nil
	}
	b, err := base64.URLEncoding.DecodeString(v)
	if err != nil {
		b, err = base64.StdEncoding.DecodeString(v)
	}
	if err != nil || len(b) < 24+secretbox.Overhead {
		return "", false
	}
	var nonce [24]byte
	copy(nonce[:], b[:24])
	out, ok := secretbox.Open(nil, b[24:], &nonce, secretKey(secret))
	return string(out), ok
}

func cryptParams(p map[string]any, secret string, enc bool) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		str, ok := v.(string)
		switch {
		case !ok:
			out[k] = v
		case enc:
			out[k] = EncryptValue(str, secret)
		default:
			if d, ok := DecryptValue(str, secret); ok {
				out[k] = d
			} else {
				out[k] = str
			}
		}
	}
	return out
}

// StoredModel is a stored deployment with its litellm_params decrypted.
type StoredModel struct {
	ID            string
	ModelName     string
	LitellmParams map[string]any
	ModelInfo     map[string]any
}

// StoredModels reads the deployments stored through /model/new (a store
// round trip: called when the config is loaded, never per request).
func (s *Service) StoredModels(ctx context.Context, secret string) ([]StoredModel, error) {
	rows, err := s.o.Store.ListModels(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]StoredModel, 0, len(rows))
	for _, r := range rows {
		info := map[string]any{}
		for k, v := range r.ModelInfo {
			info[k] = v
		}
		info["id"], info["db_model"] = r.ModelID, true
		out = append(out, StoredModel{ID: r.ModelID, ModelName: r.ModelName, LitellmParams: cryptParams(r.LitellmParams, secret, false), ModelInfo: info})
	}
	return out, nil
}

// redactedParams shows litellm_params without credentials.
func redactedParams(p map[string]any) map[string]any {
	out := make(map[string]any, len(p))
	for k, v := range p {
		switch lk := strings.ToLower(k); {
		case strings.Contains(lk, "key") || strings.Contains(lk, "secret") || strings.Contains(lk, "token") || strings.Contains(lk, "password") || lk == "aws_access_key_id":
			out[k] = "<redacted>"
		default:
			out[k] = v
		}
	}
	return out
}

func modelView(id, name string, params, info map[string]any, at time.Time) map[string]any {
	mi := map[string]any{}
	for k, v := range info {
		mi[k] = v
	}
	mi["id"], mi["db_model"] = id, true
	return map[string]any{"model_id": id, "model_name": name, "litellm_params": redactedParams(params), "model_info": mi,
		"created_at": at.UTC().Format(time.RFC3339Nano), "created_by": "default_user_id", "updated_by": "default_user_id"}
}

const maxModelParams = 100

// handleModel serves /model/new, /model/update and /model/delete.
func (s *Service) handleModel(ctx context.Context, name string, req map[string]any) (any, *Error) {
	ms := s.modelSettings()
	if ms.StoreInDB && ms.Apply == nil {
		return nil, badRequest("store_model_in_db: /model/new, /model/update and /model/delete are served by `llmgate run` only (not in split mode yet)")
	}
	if !ms.StoreInDB {
		return nil, &Error{Status: 500, Type: "internal_server_error", Code: "500", Param: "None",
			Message: "Set `'STORE_MODEL_IN_DB='True'` in your env to enable this feature."}
	}
	now := s.now().UTC()
	switch name {
	case "new", "update":
		info, e := object("model_info", req["model_info"])
		if e != nil {
			return nil, e
		}
		params, e := object("litellm_params", req["litellm_params"])
		if e != nil {
			return nil, e
		}
		if len(params) > maxModelParams || len(info) > maxModelParams {
			return nil, badRequest(fmt.Sprintf("litellm_params and model_info take at most %d fields each", maxModelParams))
		}
		modelName, e := optString("model_name", req["model_name"])
		if e != nil {
			return nil, e
		}
		id, _ := info["id"].(string)
		row := &keystore.ModelRow{CreatedAt: now, CreatedBy: "default_user_id"}
		plain := map[string]any{}
		if name == "update" {
			if id == "" {
				return nil, badRequest("model_info.id is required")
			}
			cur, err := s.storedModel(ctx, id, ms.Secret)
			if err != nil {
				return nil, err
			}
			row.CreatedAt = now
			plain = cur.LitellmParams
			if modelName == "" {
				modelName = cur.ModelName
			}
			for k, v := range cur.ModelInfo {
				if _, set := info[k]; !set && k != "db_model" {
					info[k] = v
				}
			}
		} else if id == "" {
			id = uuid4()
		}
		for k, v := range params {
			plain[k] = v
		}
		if modelName == "" {
			return nil, badRequest("model_name is required")
		}
		if m, _ := plain["model"].(string); m == "" {
			return nil, badRequest("litellm_params.model is required")
		}
		if name == "new" {
			if _, err := s.storedModel(ctx, id, ms.Secret); err == nil {
				return nil, badRequest(fmt.Sprintf("Model with id=%s already exists in db", id))
			}
		}
		info["id"] = id
		if ms.Validate != nil {
			if err := ms.Validate(modelName, plain, info); err != nil {
				return nil, badRequest("Invalid model: " + err.Error())
			}
		}
		delete(info, "db_model")
		row.ModelID, row.ModelName, row.ModelInfo = id, modelName, info
		row.LitellmParams = cryptParams(plain, ms.Secret, true)
		row.UpdatedAt, row.UpdatedBy = now, "default_user_id"
		if err := s.o.Store.PutModel(ctx, row); err != nil {
			return nil, storeError(err)
		}
		if err := ms.Apply(ctx); err != nil {
			s.log.Warn("stored model not applied yet; the next reload applies it", "error", err.Error())
		}
		return modelView(id, modelName, plain, info, now), nil
	case "delete":
		id, _ := req["id"].(string)
		if id == "" {
			return nil, badRequest("id is required")
		}
		if err := s.o.Store.DeleteModel(ctx, id); err != nil {
			if errors.Is(err, keystore.ErrNotFound) {
				return nil, badRequest(fmt.Sprintf("Model with id=%s not found in db", id))
			}
			return nil, storeError(err)
		}
		if err := ms.Apply(ctx); err != nil {
			s.log.Warn("model deletion not applied yet; the next reload applies it", "error", err.Error())
		}
		return map[string]any{"message": fmt.Sprintf("Model: %s deleted successfully", id)}, nil
	}
	return nil, badRequest("unknown model route")
}

func (s *Service) storedModel(ctx context.Context, id, secret string) (*StoredModel, *Error) {
	all, err := s.StoredModels(ctx, secret)
	if err != nil {
		return nil, storeError(err)
	}
	for k := range all {
		if all[k].ID == id {
			return &all[k], nil
		}
	}
	return nil, badRequest(fmt.Sprintf("Model with id=%s not found in db", id))
}

// modelJSON is a stored deployment as a model_list entry (JSON is YAML).
func modelJSON(m StoredModel) ([]byte, error) {
	return json.Marshal(map[string]any{"model_name": m.ModelName, "litellm_params": m.LitellmParams, "model_info": m.ModelInfo})
}

// ModelListYAML is the stored deployments as a config's model_list.
func ModelListYAML(ms []StoredModel) ([]byte, error) {
	var b strings.Builder
	b.WriteString(`{"model_list": [`)
	for i, m := range ms {
		j, err := modelJSON(m)
		if err != nil {
			return nil, err
		}
		if i > 0 {
			b.WriteString(",")
		}
		b.Write(j)
	}
	b.WriteString("]}")
	return []byte(b.String()), nil
}
