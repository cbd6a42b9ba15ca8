// Package fakes3 is the tests' S3-compatible object store: gofakes3 in
// memory on 127.0.0.1, one bucket made at the start, every request's method
// and Authorization header recorded. The s3 logging callback's unit tests
// (internal/callbacks) and its end-to-end tests (e2e) share it.
package fakes3
