// Package pgserver runs a real PostgreSQL server (Debian's postgresql
// package: initdb + pg_ctl) on a temporary data directory and a free
// 127.0.0.1 port: for the tests (through internal/store/pgtest) and for the
// benchmark's PostgreSQL target. As root it runs the server as the postgres
// user (PostgreSQL refuses root).
//
// It imports only the standard library.
package pgserver
