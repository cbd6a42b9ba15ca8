package services

import (
	"context"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
)

// pgxBatch sends a batch of two statements (one call).
type pgxBatch struct{}

func (pgxBatch) send(ctx context.Context, pool *pgxpool.Pool) error {
	b := &pgx.Batch{}
	b.Queue(`INSERT INTO t VALUES (2)`)
	b.Queue(`INSERT INTO t VALUES (3)`)
	return pool.SendBatch(ctx, b).Close()
}
