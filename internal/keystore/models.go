package keystore

import (
	"context"
	"encoding/json"

	"fmt"
	"sort"
	"time"

	"github.com/jackc/pgx/v5"
)

// ModelRow is one LiteLLM_ProxyModelTable row: a deployment added through
// /model/new (general_settings.store_model_in_db). LitellmParams' string
// values are stored encrypted, as LiteLLM stores them (see internal/keys).
type ModelRow struct {
	ModelID       string         `json:"model_id"`
	ModelName     string         `json:"model_name"`
	LitellmParams map[string]any `json:"litellm_params"`
	ModelInfo     map[string]any `json:"model_info,omitempty"`
	CreatedAt     time.Time      `json:"created_at"`
	CreatedBy     string         `json:"created_by"`
	UpdatedAt     time.Time      `json:"updated_at"`
	UpdatedBy     string         `json:"updated_by"`
}

// ModelStore keeps the deployments added at runtime.
type ModelStore interface {
	PutModel(ctx context.Context, m *ModelRow) error // insert or replace
	DeleteModel(ctx context.Context, id string) error
	ListModels(ctx context.Context) ([]*ModelRow, error)
}

func (p *Postgres) PutModel(ctx context.Context, m *ModelRow) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_ProxyModelTable" (model_id, model_name, litellm_params, model_info, created_at, created_by, updated_at, updated_by)
		VALUES ($1, $2, $3::jsonb, $4::jsonb, $5, $6, $7, $8)
		ON CONFLICT (model_id) DO UPDATE SET model_name=EXCLUDED.model_name, litellm_params=EXCLUDED.litellm_params,
		model_info=EXCLUDED.model_info, updated_at=EXCLUDED.updated_at, updated_by=EXCLUDED.updated_by`,
		m.ModelID, m.ModelName, jsonArg(m.LitellmParams), jsonArg(m.ModelInfo), nowUTC(m.CreatedAt), m.CreatedBy, nowUTC(m.UpdatedAt), m.UpdatedBy)
	if err != nil {
		return fmt.Errorf("key store: put model: %w", err)
	}
	return nil
}

func (p *Postgres) DeleteModel(ctx context.Context, id string) error {
	return p.deleteOne(ctx, `DELETE FROM "LiteLLM_ProxyModelTable" WHERE model_id=$1`, id)
}

func (p *Postgres) ListModels(ctx context.Context) ([]*ModelRow, error) {
	return listRows(ctx, p, "models", `SELECT model_id, model_name, litellm_params, COALESCE(model_info, '{}'), created_at, created_by, updated_at, updated_by
		FROM "LiteLLM_ProxyModelTable" ORDER BY created_at, model_id`, func(row pgx.Row) (*ModelRow, error) {
		m := &ModelRow{}
		var lp, mi []byte
		if err := row.Scan(&m.ModelID, &m.ModelName, &lp, &mi, &m.CreatedAt, &m.CreatedBy, &m.UpdatedAt, &m.UpdatedBy); err != nil {
			return nil, err
		}
		_ = json.Unmarshal(lp, &m.LitellmParams)
		_ = json.Unmarshal(mi, &m.ModelInfo)
		m.CreatedAt, m.UpdatedAt = m.CreatedAt.UTC(), m.UpdatedAt.UTC()
		return m, nil
	})
}

func (e *Embedded) PutModel(_ context.Context, m *ModelRow) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.write(&record{Op: "put_model", Model: m})
}

func (e *Embedded) DeleteModel(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.models[id]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "del_model", ID: id})
}

func (e *Embedded) ListModels(_ context.Context) ([]*ModelRow, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*ModelRow, 0, len(e.models))
	for _, m := range e.models {
		out = append(out, clone(m))
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].CreatedAt.Equal(out[j].CreatedAt) {
			return out[i].CreatedAt.Before(out[j].CreatedAt)
		}
		return out[i].ModelID < out[j].ModelID
	})
	return out, nil
}

// applyModels applies the model records; mu held (or not yet shared).
func (e *Embedded) applyModels(r *record) bool {
	switch r.Op {
	case "put_model":
		if r.Model == nil {
			return true
		}
		e.models[r.Model.ModelID] = r.Model
	case "del_model":
		delete(e.models, r.ID)
	default:
		return false
	}
	return true
}
