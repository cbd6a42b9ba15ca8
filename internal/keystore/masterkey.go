package keystore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
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

// MaxMasterKeyRotations bounds the rotation records kept (D84): recording a
// rotation removes the oldest beyond this many. An instance follows at most
// this many rotations in one switch, so the chain it can walk is bounded the
// same way.
const MaxMasterKeyRotations = 16

// MasterKeyStore keeps the master key rotations.
type MasterKeyStore interface {
	// PutMasterKeyRotation records r, replacing a record with the same From,
	// and prunes (D84): the record away from to (the new key's HashKey: a
	// rotation back to an earlier key makes that record wrong, a loop) and
	// the oldest records beyond MaxMasterKeyRotations.
	PutMasterKeyRotation(ctx context.Context, r MasterKeyRotation, to string) error
	// GetMasterKeyRotation returns the rotation away from the master key
	// whose HashKey is from, or ErrNotFound.
	GetMasterKeyRotation(ctx context.Context, from string) (*MasterKeyRotation, error)
}

// ---- embedded ----

func (e *Embedded) PutMasterKeyRotation(_ context.Context, r MasterKeyRotation, to string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	r.RotatedAt = r.RotatedAt.UTC()
	if err := e.write(&record{Op: "master_key_rotation", Rotation: &r}); err != nil {
		return err
	}
	var prune []string
	if _, ok := e.rotations[to]; ok && to != r.From {
		prune = append(prune, to)
	}
	if n := len(e.rotations) - len(prune) - MaxMasterKeyRotations; n > 0 {
		old := make([]*MasterKeyRotation, 0, len(e.rotations))
		for from, x := range e.rotations {
			if from != to {
				old = append(old, x)
			}
		}
		sort.Slice(old, func(i, j int) bool {
			if !old[i].RotatedAt.Equal(old[j].RotatedAt) {
				return old[i].RotatedAt.Before(old[j].RotatedAt)
			}
			return old[i].From < old[j].From
		})
		for _, x := range old[:n] {
			prune = append(prune, x.From)
		}
	}
	for _, from := range prune {
		if err := e.write(&record{Op: "master_key_rotation_prune", ID: from}); err != nil {
			return err
		}
	}
	return nil
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
	if r.Op == "master_key_rotation_prune" {
		delete(e.rotations, r.ID)
		return true
	}
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

func (p *Postgres) PutMasterKeyRotation(ctx context.Context, r MasterKeyRotation, to string) error {
	err := pgx.BeginFunc(ctx, p.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO llmgate_master_key_rotations (from_hash, new_key, rotated_at) VALUES ($1, $2, $3)
		ON CONFLICT (from_hash) DO UPDATE SET new_key=EXCLUDED.new_key, rotated_at=EXCLUDED.rotated_at`,
			r.From, r.NewKey, r.RotatedAt.UTC()); err != nil {
			return err
		}
		if _, err := tx.Exec(ctx, `DELETE FROM llmgate_master_key_rotations WHERE from_hash = $1 AND from_hash <> $2`, to, r.From); err != nil {
			return err
		}
		_, err := tx.Exec(ctx, `DELETE FROM llmgate_master_key_rotations WHERE from_hash NOT IN
			(SELECT from_hash FROM llmgate_master_key_rotations ORDER BY rotated_at DESC, from_hash DESC LIMIT $1)`, MaxMasterKeyRotations)
		return err
	})
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
