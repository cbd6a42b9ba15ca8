package callbacks

import (
	"context"
	"encoding/json"
	"fmt"
	"syscall"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// benchBatch is a full batch of answered tries as the bench's typical
// requests give them (a call id, a key, a deployment).
func benchBatch(n int) []outcome.Try {
	batch := make([]outcome.Try, n)
	for i := range batch {
		t := sampleTry(fmt.Sprintf("0b9c6a3e-6a55-4b1c-9a0e-%012d", i), 200)
		t.Route, t.Overhead, t.End = "/v1/chat/completions", 900*time.Microsecond, t.Start.Add(1234567*time.Microsecond)
		batch[i] = t
	}
	return batch
}

// The observed config's per-try work off the request path (D74): the
// generic_api payload, the spans, the GenAI metrics; per try.
func BenchmarkGenericPayload(b *testing.B) {
	batch, s := benchBatch(512), &Settings{}
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		body := appendStandardBatch(genericSize.buf(len(batch), 1280), batch, s)
		genericSize.observe(body, len(batch))
	}
	reportCPU(b, c0, len(batch))
}

func BenchmarkExportTraces(b *testing.B) {
	batch, res := benchBatch(512), []byte("resource")
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		spanSize.release(exportTraces(res, batch)) // as a 2xx answer releases it
	}
	reportCPU(b, c0, len(batch))
}

// BenchmarkExportTracesBefore is the spans' encoding before D85, into a
// reused body as well, for comparison.
func BenchmarkExportTracesBefore(b *testing.B) {
	batch, res := benchBatch(512), []byte("resource")
	buf := exportTracesBefore(nil, res, batch)
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		buf = exportTracesBefore(buf[:0], res, batch)
	}
	reportCPU(b, c0, len(batch))
}

func BenchmarkGenAIRecord(b *testing.B) {
	g, _ := manualGenAI(b)
	defer func() { _ = g.Shutdown(context.Background()) }()
	t := benchBatch(1)[0]
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		g.Record(&t)
	}
	reportCPU(b, c0, 1)
}

// BenchmarkGenericPayloadReflect is the payload as encoding/json wrote it
// before D74, for comparison.
func BenchmarkGenericPayloadReflect(b *testing.B) {
	batch, s := benchBatch(512), &Settings{}
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		out := make([]StandardPayload, len(batch))
		for i := range batch {
			out[i] = Standard(&batch[i], s)
		}
		_, _ = json.Marshal(out)
	}
	reportCPU(b, c0, len(batch))
}

// cpuNow is the process's CPU time (user and system): on a loaded host the
// wall-clock ns/op of a benchmark says little, its CPU per try more.
func cpuNow() time.Duration {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func reportCPU(b *testing.B, c0 time.Duration, per int) {
	b.ReportMetric(float64((cpuNow()-c0).Nanoseconds())/float64(b.N*per), "cpu-ns/try")
}

// BenchmarkSinkQueue is the callbacks' sink per answered try with otel
// (every request sampled) and generic_api on, their posts doing nothing:
// the sampling decision, the routing to each callback and the senders'
// queues, not the encoding (D110).
func BenchmarkSinkQueue(b *testing.B) {
	m := New(nil)
	s := Settings{BatchSize: 512, FlushInterval: time.Hour, Generic: &GenericSettings{Events: Events{Success: true}, Endpoint: "-"},
		OTel: &OTelSettings{}}
	m.settings.Store(&s)
	noop := func(context.Context, []outcome.Try) error { return nil }
	m.mu.Lock()
	m.start(GenericAPI, s, noop)
	m.start(OTel, s, noop)
	m.otelSampler = newSampler("", 0)
	m.mu.Unlock()
	defer m.Close()
	sink, batch := m.Sink(), benchBatch(512)
	b.ReportAllocs()
	c0 := cpuNow()
	for b.Loop() {
		for i := range batch {
			sink(batch[i])
		}
	}
	reportCPU(b, c0, len(batch))
}
