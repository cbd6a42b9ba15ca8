// Package redistest starts a real redis-server on a free loopback port for
// tests (store, router and end-to-end tests), with a way to stop and restart
// it mid-test. A missing redis-server fails the test when CI=true, else skips it.
//
// It imports only the standard library and testing; never use it outside tests.
package redistest
