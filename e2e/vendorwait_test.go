package e2e

import (
	"testing"
	"time"
)

// The callbacks' fake vendor receivers (fake GCS, S3, SQS, Datadog and
// LangSmith intakes, OTLP collectors, webhooks) are polled the same way
// (D170): every receiverPoll the test reads what the receiver holds, until
// it holds what the test waits for or receiverWait passes; then, once
// more after receiverSettle, so that an item sent twice would show.
const (
	receiverPoll   = 100 * time.Millisecond
	receiverWait   = 30 * time.Second
	receiverSettle = 500 * time.Millisecond
)

// waitReceived waits for a fake vendor receiver to hold want items and
// returns them. read returns what the receiver holds so far and the
// requests it refused as malformed; the test fails on any refused request,
// or when the receiver holds other than want items after the wait and the
// settle, with the gateway's logs (g may be nil).
func waitReceived[T any](t *testing.T, g *Gateway, what string, want int, read func() (items []T, refused []string)) []T {
	t.Helper()
	items := waitUntil(t, g, what, func() ([]T, []string, bool) {
		items, refused := read()
		return items, refused, len(items) >= want
	})
	if len(items) != want {
		logs := ""
		if g != nil {
			logs = g.Logs()
		}
		t.Fatalf("%s: got %d, want %d\n%s", what, len(items), want, logs)
	}
	return items
}

// waitUntil polls read until it reports done (or receiverWait passes),
// then reads once more after receiverSettle and returns that; a refused
// request fails the test at once.
func waitUntil[T any](t *testing.T, g *Gateway, what string, read func() (items []T, refused []string, done bool)) []T {
	t.Helper()
	check := func() ([]T, bool) {
		items, refused, done := read()
		if len(refused) > 0 {
			logs := ""
			if g != nil {
				logs = g.Logs()
			}
			t.Fatalf("%s: the fake receiver refused requests: %v\n%s", what, refused, logs)
		}
		return items, done
	}
	for deadline := time.Now().Add(receiverWait); ; time.Sleep(receiverPoll) {
		if _, done := check(); done || time.Now().After(deadline) {
			break
		}
	}
	time.Sleep(receiverSettle)
	items, _ := check()
	return items
}
