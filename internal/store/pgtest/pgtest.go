package pgtest

import (
	"errors"
	"os"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/pgserver"
)

// Server is a PostgreSQL server owned by one test.
type Server struct {
	*pgserver.Server
}

var dbSeq atomic.Int64

// Start runs a PostgreSQL server and stops it when the test ends.
func Start(t testing.TB) *Server {
	t.Helper()
	s, err := pgserver.Start(pgserver.Options{})
	if errors.Is(err, pgserver.ErrNotInstalled) {
		if os.Getenv("CI") == "true" {
			t.Fatalf("PostgreSQL not found (CI=true): install the Debian package postgresql (make deps)")
		}
		t.Skip("PostgreSQL (initdb, pg_ctl) not found; skipping (set CI=true to make this a failure)")
	}
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	t.Cleanup(s.Close)
	return &Server{s}
}

// NewDatabase creates an empty database and returns its URL.
func (s *Server) NewDatabase(t testing.TB) string {
	t.Helper()
	name := "t" + strconv.FormatInt(dbSeq.Add(1), 10) + "_" + strconv.FormatInt(time.Now().UnixNano()%1e9, 10)
	url, err := s.CreateDatabase(name)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return url
}

// Exec runs SQL statements with psql against a database URL made by NewDatabase.
func (s *Server) Exec(t testing.TB, url, sql string) string {
	t.Helper()
	out, err := s.Server.Exec(url, sql)
	if err != nil {
		t.Fatalf("pgtest: %v", err)
	}
	return out
}
