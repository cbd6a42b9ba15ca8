package services

import (
	"context"
	"errors"
	"testing"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/redis/go-redis/v9"

	"github.com/llmgate/llmgate/internal/store/pgtest"
	"github.com/llmgate/llmgate/internal/store/redistest"
)

var buckets = []float64{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5}

// count is the value (a histogram: its count) of the first series of name
// whose labels include the pairs given; -1 when there is none.
func count(t *testing.T, reg *prometheus.Registry, name string, labels ...string) float64 {
	t.Helper()
	mfs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() != name {
			continue
		}
	metric:
		for _, m := range mf.GetMetric() {
			have := map[string]string{}
			for _, lp := range m.GetLabel() {
				have[lp.GetName()] = lp.GetValue()
			}
			for i := 0; i+1 < len(labels); i += 2 {
				if have[labels[i]] != labels[i+1] {
					continue metric
				}
			}
			if h := m.GetHistogram(); h != nil {
				return float64(h.GetSampleCount())
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// TestRedisCalls: against a real Redis, every command and pipeline the
// hooked client makes is a Redis call (a missing key is an answer, not a
// failure), nothing is recorded before Set, and a stopped Redis gives
// failed calls of class ConnectionError named by the command, as
// LiteLLM's PrometheusServicesLogger labels them.
func TestRedisCalls(t *testing.T) {
	srv := redistest.StartServer(t)
	c := redis.NewClient(&redis.Options{Addr: srv.Addr(), MaxRetries: -1})
	t.Cleanup(func() { c.Close() })
	var h Hooks
	c.AddHook(h.Redis())
	ctx := context.Background()
	if err := c.Set(ctx, "before", "1", 0).Err(); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	h.Set(New(reg, buckets))
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	if err := c.Get(ctx, "missing").Err(); !errors.Is(err, redis.Nil) {
		t.Fatalf("get missing: %v", err)
	}
	if _, err := c.Pipelined(ctx, func(p redis.Pipeliner) error { p.Incr(ctx, "n"); p.Incr(ctx, "n"); return nil }); err != nil {
		t.Fatal(err)
	}
	if err := c.Do(ctx, "NOSUCHCOMMAND").Err(); err == nil {
		t.Fatal("unknown command: no error")
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"litellm_redis_total_requests_total", []string{"redis", "redis"}, 4},
		{"litellm_redis_latency", []string{"redis", "redis"}, 3},
		{"litellm_redis_failed_requests_total", []string{"redis", "redis", "error_class", "ResponseError", "function_name", "nosuchcommand"}, 1},
	} {
		if got := count(t, reg, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	srv.Stop()
	_ = c.Get(ctx, "k").Err()
	if got := count(t, reg, "litellm_redis_failed_requests_total", "error_class", "ConnectionError", "function_name", "get"); got != 1 {
		t.Errorf("a stopped Redis: failed get = %v, want 1", got)
	}
	if got := count(t, reg, "litellm_redis_total_requests_total"); got != 5 {
		t.Errorf("total after the failure = %v, want 5", got)
	}
	h.Set(nil)
	_ = c.Get(ctx, "k").Err()
	if got := count(t, reg, "litellm_redis_total_requests_total"); got != 5 {
		t.Errorf("total after Set(nil) = %v, want 5", got)
	}
}

// TestPostgresCalls: against a real PostgreSQL, each statement and batch
// of a traced pool is a PostgreSQL call; a unique violation is a failed
// "insert" of class UniqueViolationError; with the server stopped, the
// pool's failed connection is a failed "connect" of class ConnectionError.
func TestPostgresCalls(t *testing.T) {
	pg := pgtest.Start(t)
	url := pg.NewDatabase(t)
	var h Hooks
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.Tracer = h.Postgres()
	ctx := context.Background()
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	if _, err := pool.Exec(ctx, `CREATE TABLE t (id INT PRIMARY KEY)`); err != nil {
		t.Fatal(err)
	}
	reg := prometheus.NewRegistry()
	h.Set(New(reg, buckets))
	if _, err := pool.Exec(ctx, `INSERT INTO t VALUES (1)`); err != nil {
		t.Fatal(err)
	}
	var n int
	if err := pool.QueryRow(ctx, `SELECT count(*) FROM t`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("select: %d %v", n, err)
	}
	if _, err := pool.Exec(ctx, `INSERT INTO t VALUES (1)`); err == nil {
		t.Fatal("duplicate insert: no error")
	}
	b := &pgxBatch{}
	if err := b.send(ctx, pool); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name   string
		labels []string
		want   float64
	}{
		{"litellm_postgres_total_requests_total", []string{"postgres", "postgres"}, 4},
		{"litellm_postgres_latency", []string{"postgres", "postgres"}, 3},
		{"litellm_postgres_failed_requests_total", []string{"error_class", "UniqueViolationError", "function_name", "insert"}, 1},
	} {
		if got := count(t, reg, tc.name, tc.labels...); got != tc.want {
			t.Errorf("%s%v = %v, want %v", tc.name, tc.labels, got, tc.want)
		}
	}
	pool.Reset() // no idle connection left: the next query dials
	pg.Stop()
	if _, err := pool.Exec(ctx, `SELECT 1`); err == nil {
		t.Fatal("stopped server: no error")
	}
	if got := count(t, reg, "litellm_postgres_failed_requests_total", "error_class", "ConnectionError", "function_name", "connect"); got != 1 {
		t.Errorf("a stopped PostgreSQL: failed connect = %v, want 1", got)
	}
}

// TestFailureSeriesBounded: past 64 distinct (class, function) pairs a
// service's failures are counted under ("other", "other").
func TestFailureSeriesBounded(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := New(reg, buckets)
	for i := range 100 {
		m.Failure(Redis, "ConnectionError", string(rune('a'+i%26))+string(rune('a'+i/26)))
	}
	if n := testutil.CollectAndCount(reg, "litellm_redis_failed_requests_total"); n != 65 {
		t.Errorf("%d series, want 65", n)
	}
	if got := count(t, reg, "litellm_redis_failed_requests_total", "error_class", "other"); got != 36 {
		t.Errorf("other = %v, want 36", got)
	}
}
