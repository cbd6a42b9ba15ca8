// Package pgtest starts a real PostgreSQL server (Debian's postgresql
// package: initdb + pg_ctl) on a temporary data directory and a free
// 127.0.0.1 port, for tests of the PostgreSQL key store and end-to-end tests.
// As root it runs the server as the postgres user (PostgreSQL refuses root).
// A missing PostgreSQL fails the test when CI=true, else skips it.
//
// It imports the standard library, testing and internal/pgserver; never use it
// outside tests.
package pgtest
