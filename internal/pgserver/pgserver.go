package pgserver

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// ErrNotInstalled: no initdb/pg_ctl on this machine.
var ErrNotInstalled = errors.New("PostgreSQL (initdb, pg_ctl) not found: install the Debian package postgresql (make deps)")

// Options shape the server.
type Options struct {
	// Durable keeps PostgreSQL's fsync and full-page writes on (a
	// benchmark's honest figure); off, the tests' server is faster.
	Durable bool
	// Wrap prefixes every command (e.g. taskset -c 1): the server's
	// processes inherit it.
	Wrap []string
}

// Server is a running PostgreSQL server.
type Server struct {
	bin    string // directory of initdb, pg_ctl, postgres
	dir    string
	port   int
	asUser string // "" or the user the server runs as (postgres when we are root)
	wrap   []string
}

// BinDir finds PostgreSQL's server programs: Debian keeps them under
// /usr/lib/postgresql/<version>/bin, other systems on PATH; "" when none.
func BinDir() string {
	if m, _ := filepath.Glob("/usr/lib/postgresql/*/bin/initdb"); len(m) > 0 {
		sort.Strings(m)
		return filepath.Dir(m[len(m)-1])
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if _, err := exec.LookPath("pg_ctl"); err == nil {
			return filepath.Dir(p)
		}
	}
	return ""
}

// Start runs a server; Close stops it and removes its files.
func Start(o Options) (*Server, error) {
	bin := BinDir()
	if bin == "" {
		return nil, ErrNotInstalled
	}
	dir, err := os.MkdirTemp("", "pgserver-")
	if err != nil {
		return nil, err
	}
	port, err := freePort()
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	s := &Server{bin: bin, dir: dir, port: port, wrap: o.Wrap}
	fail := func(err error) (*Server, error) {
		os.RemoveAll(dir)
		return nil, err
	}
	if os.Geteuid() == 0 {
		s.asUser = "postgres"
		u, err := user.Lookup("postgres")
		if err != nil {
			return fail(fmt.Errorf("running as root needs the postgres user (Debian's postgresql package creates it): %w", err))
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chmod(dir, 0o755); err != nil {
			return fail(err)
		}
		if err := os.Chown(dir, uid, gid); err != nil {
			return fail(err)
		}
	}
	data := filepath.Join(dir, "data")
	initArgs := []string{"-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C"}
	opts := fmt.Sprintf("-p %d -k %s -c listen_addresses=127.0.0.1 -c max_connections=200", port, dir)
	if !o.Durable {
		initArgs = append(initArgs, "--no-sync")
		opts += " -c fsync=off -c full_page_writes=off"
	}
	if out, err := s.run("initdb", initArgs...); err != nil {
		return fail(fmt.Errorf("initdb: %v\n%s", err, out))
	}
	if out, err := s.run("pg_ctl", "-D", data, "-o", opts, "-l", filepath.Join(dir, "log"), "-w", "-t", "30", "start"); err != nil {
		log, _ := os.ReadFile(filepath.Join(dir, "log"))
		return fail(fmt.Errorf("pg_ctl start: %v\n%s\n%s", err, out, log))
	}
	return s, nil
}

// Stop stops the server at once (idempotent).
func (s *Server) Stop() {
	_, _ = s.run("pg_ctl", "-D", filepath.Join(s.dir, "data"), "-m", "immediate", "-w", "stop")
}

// Close stops the server and removes its files.
func (s *Server) Close() {
	s.Stop()
	os.RemoveAll(s.dir)
}

func (s *Server) run(prog string, args ...string) ([]byte, error) {
	argv := append([]string{filepath.Join(s.bin, prog)}, args...)
	if s.asUser != "" {
		argv = append([]string{"runuser", "-u", s.asUser, "--"}, argv...)
	}
	argv = append(append([]string(nil), s.wrap...), argv...)
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Dir = s.dir
	done := make(chan struct{})
	var out []byte
	var err error
	go func() { out, err = cmd.CombinedOutput(); close(done) }()
	select {
	case <-done:
	case <-time.After(60 * time.Second):
		_ = cmd.Process.Kill()
		<-done
		err = fmt.Errorf("%s timed out", prog)
	}
	return out, err
}

// URL is the connection URL of the postgres database.
func (s *Server) URL() string { return s.DBURL("postgres") }

// DBURL is the connection URL of database db.
func (s *Server) DBURL(db string) string {
	return fmt.Sprintf("postgresql://postgres@127.0.0.1:%d/%s?sslmode=disable", s.port, db)
}

// CreateDatabase creates an empty database and returns its URL.
func (s *Server) CreateDatabase(name string) (string, error) {
	if _, err := s.psql("postgres", "CREATE DATABASE "+name); err != nil {
		return "", fmt.Errorf("create database: %w", err)
	}
	return s.DBURL(name), nil
}

// Exec runs SQL statements with psql against a database URL of this
// server and returns psql's unaligned output.
func (s *Server) Exec(url, sql string) (string, error) {
	db := url[strings.LastIndexByte(url, '/')+1:]
	if i := strings.IndexByte(db, '?'); i >= 0 {
		db = db[:i]
	}
	return s.psql(db, sql)
}

func (s *Server) psql(db, sql string) (string, error) {
	out, err := s.run("psql", "-h", s.dir, "-p", strconv.Itoa(s.port), "-U", "postgres", "-d", db, "-v", "ON_ERROR_STOP=1", "-At", "-c", sql)
	if err != nil {
		return "", fmt.Errorf("psql: %v\n%s", err, out)
	}
	return strings.TrimSpace(string(out)), nil
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
