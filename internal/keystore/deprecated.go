package keystore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
)

// DeprecatedKey is a key value that /key/regenerate replaced and that keeps
// working until RevokeAt (its grace_period), standing for the key that
// replaced it: a row of LiteLLM_DeprecatedVerificationToken, as LiteLLM's
// _insert_deprecated_key writes it.
type DeprecatedKey struct {
	Token       string    `json:"token"`           // the old value's sha256
	ActiveToken string    `json:"active_token_id"` // the token of the key it stands for
	RevokeAt    time.Time `json:"revoke_at"`
}

// DeprecatedKeyStore keeps regenerated keys' old values during their grace
// period.
type DeprecatedKeyStore interface {
	// DeprecateKey records d, replacing an entry for the same old token (a
	// key regenerated twice within its grace period points at the newest).
	DeprecateKey(ctx context.Context, d DeprecatedKey) error
	// DeprecatedKeys returns the entries not yet revoked at now.
	DeprecatedKeys(ctx context.Context, now time.Time) ([]DeprecatedKey, error)
	// GetDeprecatedKey returns the entry of token if not yet revoked at now,
	// else ErrNotFound.
	GetDeprecatedKey(ctx context.Context, token string, now time.Time) (*DeprecatedKey, error)
}

// ---- embedded ----

func (e *Embedded) DeprecateKey(_ context.Context, d DeprecatedKey) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	d.RevokeAt = d.RevokeAt.UTC()
	return e.write(&record{Op: "deprecate_key", Deprecated: &d})
}

func (e *Embedded) DeprecatedKeys(_ context.Context, now time.Time) ([]DeprecatedKey, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var out []DeprecatedKey
	for _, d := range e.deprecated {
		if now.Before(d.RevokeAt) {
			out = append(out, *d)
		}
	}
	return out, nil
}

func (e *Embedded) GetDeprecatedKey(_ context.Context, token string, now time.Time) (*DeprecatedKey, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	d, ok := e.deprecated[token]
	if !ok || !now.Before(d.RevokeAt) {
		return nil, ErrNotFound
	}
	c := *d
	return &c, nil
}

// applyDeprecated applies a deprecate_key record; it reports whether r was one.
func (e *Embedded) applyDeprecated(r *record) bool {
	if r.Op != "deprecate_key" {
		return false
	}
	if r.Deprecated != nil {
		if e.deprecated == nil {
			e.deprecated = map[string]*DeprecatedKey{}
		}
		e.deprecated[r.Deprecated.Token] = r.Deprecated
	}
	return true
}

// snapshotDeprecated writes the entries not yet revoked (a compaction drops
// the others, as LiteLLM's rotation job deletes them).
func (e *Embedded) snapshotDeprecated(enc *json.Encoder) int {
	n, now := 0, time.Now()
	for _, d := range e.deprecated {
		if now.Before(d.RevokeAt) {
			_ = enc.Encode(&record{Op: "deprecate_key", Deprecated: d})
			n++
		}
	}
	return n
}

// ---- PostgreSQL ----

func (p *Postgres) DeprecateKey(ctx context.Context, d DeprecatedKey) error {
	_, err := p.pool.Exec(ctx, `INSERT INTO "LiteLLM_DeprecatedVerificationToken" (id, token, active_token_id, revoke_at, created_at)
		VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (token) DO UPDATE SET active_token_id=EXCLUDED.active_token_id, revoke_at=EXCLUDED.revoke_at`,
		NewUUID(), d.Token, d.ActiveToken, d.RevokeAt.UTC(), time.Now().UTC())
	if err != nil {
		return fmt.Errorf("key store: deprecate key: %w", err)
	}
	return nil
}

func (p *Postgres) DeprecatedKeys(ctx context.Context, now time.Time) ([]DeprecatedKey, error) {
	rows, err := p.pool.Query(ctx, `SELECT token, active_token_id, revoke_at FROM "LiteLLM_DeprecatedVerificationToken" WHERE revoke_at > $1`, now.UTC())
	if err != nil {
		return nil, fmt.Errorf("key store: list deprecated keys: %w", err)
	}
	defer rows.Close()
	var out []DeprecatedKey
	for rows.Next() {
		var d DeprecatedKey
		if err := rows.Scan(&d.Token, &d.ActiveToken, &d.RevokeAt); err != nil {
			return nil, fmt.Errorf("key store: list deprecated keys: %w", err)
		}
		d.RevokeAt = d.RevokeAt.UTC()
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("key store: list deprecated keys: %w", err)
	}
	return out, nil
}

func (p *Postgres) GetDeprecatedKey(ctx context.Context, token string, now time.Time) (*DeprecatedKey, error) {
	d := &DeprecatedKey{}
	err := p.pool.QueryRow(ctx, `SELECT token, active_token_id, revoke_at FROM "LiteLLM_DeprecatedVerificationToken" WHERE token=$1 AND revoke_at > $2`,
		token, now.UTC()).Scan(&d.Token, &d.ActiveToken, &d.RevokeAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, ErrNotFound
	}
	if err != nil {
		return nil, fmt.Errorf("key store: deprecated key: %w", err)
	}
	d.RevokeAt = d.RevokeAt.UTC()
	return d, nil
}

// NewUUID is a random (version 4) UUID, as Prisma's @default(uuid()).
func NewUUID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}
