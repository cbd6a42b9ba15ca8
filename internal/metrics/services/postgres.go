package services

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// Tracer is PostgreSQL's side: set it as a pool's ConnConfig.Tracer. Each
// statement (Query, QueryRow, Exec; a batch as one call named "batch") is
// a PostgreSQL call named by its SQL verb ("select", "insert", "begin", …);
// a connection the pool cannot get is a failed call named "connect".
type Tracer interface {
	pgx.QueryTracer
	pgx.BatchTracer
	pgxpool.AcquireTracer
}

// Postgres returns the tracer that reports to h.
func (h *Hooks) Postgres() Tracer { return pgTracer{h} }

type pgTracer struct{ h *Hooks }

// pgCall is what a traced call carries from its start to its end.
type pgCall struct {
	start    time.Time
	function string
}

type pgCallKey struct{}

func (t pgTracer) begin(ctx context.Context, function string) context.Context {
	if t.h.Metrics() == nil {
		return ctx
	}
	return context.WithValue(ctx, pgCallKey{}, pgCall{start: time.Now(), function: function})
}

func (t pgTracer) end(ctx context.Context, err error) {
	m := t.h.Metrics()
	c, ok := ctx.Value(pgCallKey{}).(pgCall)
	if m == nil || !ok {
		return
	}
	if err == nil || errors.Is(err, pgx.ErrNoRows) {
		m.Success(Postgres, time.Since(c.start))
		return
	}
	m.Failure(Postgres, pgErrorClass(err), c.function)
}

func (t pgTracer) TraceQueryStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryStartData) context.Context {
	return t.begin(ctx, sqlVerb(data.SQL))
}

func (t pgTracer) TraceQueryEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceQueryEndData) {
	t.end(ctx, data.Err)
}

func (t pgTracer) TraceBatchStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceBatchStartData) context.Context {
	return t.begin(ctx, "batch")
}

func (pgTracer) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (t pgTracer) TraceBatchEnd(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchEndData) {
	t.end(ctx, data.Err)
}

func (pgTracer) TraceAcquireStart(ctx context.Context, _ *pgxpool.Pool, _ pgxpool.TraceAcquireStartData) context.Context {
	return ctx
}

// TraceAcquireEnd counts a connection the pool could not get (the
// database down or refusing): LiteLLM counts its failed DB calls so.
func (t pgTracer) TraceAcquireEnd(ctx context.Context, _ *pgxpool.Pool, data pgxpool.TraceAcquireEndData) {
	m := t.h.Metrics()
	if m == nil || data.Err == nil {
		return
	}
	m.Failure(Postgres, pgErrorClass(data.Err), "connect")
}

// sqlVerb is a statement's first word, lower-cased ("select", "insert").
func sqlVerb(sql string) string {
	sql = strings.TrimLeft(sql, " \t\r\n(")
	end := strings.IndexAny(sql, " \t\r\n(;")
	if end < 0 {
		end = len(sql)
	}
	if end > 16 {
		end = 16
	}
	return strings.ToLower(sql[:end])
}

// pgErrorClass names a PostgreSQL failure as the classes LiteLLM's Prisma
// client raises (its error_class label): a unique or foreign-key violation
// by their Prisma names, another error answered by the server a DataError,
// a timeout a TimeoutError, anything else (refused, reset) a
// ConnectionError.
func pgErrorClass(err error) string {
	var pe *pgconn.PgError
	switch {
	case errors.As(err, &pe):
		switch pe.Code {
		case "23505":
			return "UniqueViolationError"
		case "23503":
			return "ForeignKeyViolationError"
		}
		return "DataError"
	case errors.Is(err, context.Canceled):
		return "CancelledError"
	case isTimeout(err) || pgconn.Timeout(err):
		return "TimeoutError"
	}
	return "ConnectionError"
}
