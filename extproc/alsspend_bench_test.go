package extproc

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strconv"
	"testing"
	"time"

	"google.golang.org/protobuf/encoding/protowire"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/callbacks"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/store"
)

// BenchmarkSpendIntakeCPU is the gateway's intake of SPEND_N compact keyed
// records (default 20,000), 20 a message, with virtual keys as the gateway
// wires them (the grouped spend sink, the keyed callbacks sink, a key naming
// no callback), its batches written to the embedded store. Made to be timed
// whole (D155): run once (-test.benchtime 1x) under /usr/bin/time with two
// SPEND_N and take the difference (the setup encodes each record).
func BenchmarkSpendIntakeCPU(b *testing.B) {
	n, err := strconv.Atoi(os.Getenv("SPEND_N"))
	if err != nil || n <= 0 {
		n = 20000
	}
	cfg, err := config.Parse([]byte(benchConfig), "bench.yaml", func(string) (string, bool) { return "", false })
	if err != nil {
		b.Fatal(err)
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ks, err := keystore.OpenEmbedded(b.TempDir())
	if err != nil {
		b.Fatal(err)
	}
	svc, err := keys.New(context.Background(), keys.Options{Store: ks, Counters: store.NewMemory(nil), Log: log, WALDir: b.TempDir(), BatchWriteAt: 200 * time.Millisecond, CacheTTL: time.Hour})
	if err != nil {
		b.Fatal(err)
	}
	s := NewServer(NewState(cfg, store.NewMemory(nil), "test", log).WithKeys(svc), log)
	s.Outcomes = outcome.NewBus()
	fn, end := svc.GroupedSink()
	s.Outcomes.RegisterGrouped(keys.SpendSink, keys.SinkQueue, fn, end)
	cb := callbacks.New(log)
	cb.Configure(callbacks.Settings{Metadata: svc.LoggingMetadata})
	s.Outcomes.RegisterKeyed("callbacks", 0, cb.Sink(), cb.WantsSuccess)
	st, out := svc.Handle(context.Background(), "POST", "/key/generate", []byte(`{"user_id":"u1"}`), keys.Caller{Admin: true})
	if st != 200 {
		b.Fatal(string(out))
	}
	var tok string
	for _, k := range svc.Snapshot().Keys {
		tok = k.Token
	}
	recs := spendRecordCases(b, s)
	o := recs[0]
	rc, err := decodeContext(o.Ctx)
	if err != nil {
		b.Fatal(err)
	}
	rc.KeyHash, rc.TeamId = tok, ""
	bodies := make([][]byte, 0, n)
	for i := range n {
		rc.CallId = fmt.Sprintf("6f1c9f0e-3c1a-4a53-9c7e-%012x", i) // (Envoy's x-request-id: a UUID)
		if o.Ctx, err = encodeContext(rc); err != nil {
			b.Fatal(err)
		}
		o.RequestID = rc.CallId
		r := appendSpendRecord(nil, &o)
		_, _, k := protowire.ConsumeTag(r)
		body, _ := protowire.ConsumeBytes(r[k:])
		bodies = append(bodies, body)
	}
	a := &accessLogService{s: s, j: newJoiner()}
	for b.Loop() {
		for i := 0; i < len(bodies); i += 20 {
			a.spendRecords(bodies[i:min(i+20, len(bodies))])
		}
	}
	s.Outcomes.Close()
	_ = svc.Close()
	_ = ks.Close()
}
