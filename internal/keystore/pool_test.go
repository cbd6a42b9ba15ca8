package keystore

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/store/pgtest"
)

// TestPostgresPoolSettings (D96): database_connection_pool_limit is the
// pool's size — with 3, three connections held leave none for a fourth —
// and LiteLLM's 10 when unset; database_connection_timeout bounds opening
// a connection to a server that never answers (before: the open waited for
// ever).
func TestPostgresPoolSettings(t *testing.T) {
	pg := pgtest.Start(t)
	ctx := context.Background()
	p, err := OpenPostgresWith(ctx, pg.NewDatabase(t), PostgresOptions{PoolLimit: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if n := p.pool.Stat().MaxConns(); n != 3 {
		t.Fatalf("pool size %d, want 3", n)
	}
	for range 3 {
		c, err := p.pool.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		defer c.Release()
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if c, err := p.pool.Acquire(short); err == nil {
		c.Release()
		t.Fatal("a fourth connection with database_connection_pool_limit: 3")
	}

	d, err := OpenPostgresWith(ctx, pg.NewDatabase(t), PostgresOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if n := d.pool.Stat().MaxConns(); n != DefaultPoolLimit {
		t.Fatalf("default pool size %d, want LiteLLM's %d", n, DefaultPoolLimit)
	}

	// A server that accepts and never speaks.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			defer c.Close()
		}
	}()
	done := make(chan error, 1)
	go func() {
		s, err := OpenPostgresWith(ctx, "postgres://u@"+ln.Addr().String()+"/db?sslmode=disable", PostgresOptions{Timeout: 500 * time.Millisecond})
		if err == nil {
			s.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		if err == nil {
			t.Fatal("opened a database that never answered")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("database_connection_timeout: 0.5 did not end the open of a server that never answers")
	}
}
