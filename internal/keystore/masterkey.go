package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// MasterKeyRotation records that a master key was rotated through
// /key/regenerate with new_master_key (D78), so that the other instances on
// the same database switch too: From is the replaced master key's HashKey,
// NewKey the new master key encrypted by the rotating instance (never in
// plaintext: under LITELLM_SALT_KEY when set, else under the replaced key).
// It is llmgate's own table (llmgate_master_key_rotations); LiteLLM keeps no
// such record (its replicas keep the old key until restarted).
type MasterKeyRotation struct {
	From      string    `json:"from"`
	NewKey    string    `json:"new_key"`
	RotatedAt time.Time `json:"rotated_at"`
}

// MasterKeyStore keeps the master key rotations.
type MasterKeyStore interface {
	// PutMasterKeyRotation records r, replacing a record with the same From.
	PutMasterKeyRotation(ctx context.Context, r MasterKeyRotation) error
	// GetMasterKeyRotation returns the rotation away from the master key
	// whose HashKey is from, or ErrNotFound.
	GetMasterKeyRotation(ctx context.Context, from string) (*MasterKeyRotation, error)
}

// ---- embedded ----

func (e *Embedded) PutMasterKeyRotation(_ context.Context, r MasterKeyRotation) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.RotatedAt = r.RotatedAt.UTC()
	return e.write(&record{Op: "master_key_rotation", Rotation: &r})
}

func (e *Embedded) GetMasterKeyRotation(_ context.Context, from string) (*MasterKeyRotation, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	r, ok := e.rotations[from]
	if !ok {
		return nil, ErrNotFound
	}
	c := *r
	return &c, nil
}

// applyRotation applies a master_key_rotation record; it reports whether r
// was one.
func (e *Embedded) applyRotation(r *record) bool {
	if r.Op != "master_key_rotation" {
		return false
	}
	if r.Rotation != nil {
		if e.rotations == nil {
			e.rotations = map[string]*MasterKeyRotation{}
		}
		e.rotations[r.Rotation.From] = r.Rotation
	}
	return true
}

// snapshotRotations writes the rotations into a compaction snapshot.
func (e *Embedded) snapshotRotations(enc *json.Encoder) int {
	for _, r := range e.rotations {
		_ = enc.Encode(&record{Op: "master_key_rotation", Rotation: r})
	}
	return len(e.rotations)
}

// ---- PostgreSQL ----

func (p *Postgres) PutMasterKeyRotation(ctx context.Context, r MasterKeyRotation) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO llmgate_master_key_rotations (from_hash, new_key, rotated_at) VALUES ($1, $2, $3)
		ON CONFLICT (from_hash) DO UPDATE SET new_key=EXCLUDED.new_key, rotated_at=EXCLUDED.rotated_at`,
		r.From, r.NewKey, r.RotatedAt.UTC())
	if err != nil {
		return fmt.Errorf("key store: record the master key rotation: %w", err)
	}
	return nil
}

func (p *Postgres) GetMasterKeyRotation(ctx context.Context, from string) (*MasterKeyRotation, error) {
	r := &MasterKeyRotation{}
	err := p.pool.QueryRow(ctx, `SELECT from_hash, new_key, rotated_at FROM llmgate_master_key_rotations WHERE from_hash=$1`, from).
		Scan(&r.From, &r.NewKey, &r.RotatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("key store: master key rotation: %w", err)
	}
	r.RotatedAt = r.RotatedAt.UTC()
	return r, nil
}
