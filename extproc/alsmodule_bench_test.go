package extproc

import (
	"fmt"
	"testing"
	"time"

	"google.golang.org/grpc/encoding"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/llmgate/llmgate/internal/outcome"
)

// BenchmarkModuleIntake is the gateway's work for one message of the
// module's outcome stream (docs/architecture.md D88): 20 fast records, as
// the module ships them every 20 ms at concurrency 1 on the bench's typical
// config, read, joined and reported to the outcome bus. Per record.
func BenchmarkModuleIntake(b *testing.B) {
	for _, c := range []struct {
		name     string
		observed bool
	}{{"entries", false}, {"observed", true}} {
		b.Run(c.name, func(b *testing.B) { benchModuleIntake(b, c.observed) })
	}
}

// benchModuleIntake is BenchmarkModuleIntake with the records as the
// entries (observed false) or as compact observed records (D177), with the
// rate-limit headers the bench's provider sends.
func benchModuleIntake(b *testing.B, observed bool) {
	s, _, _ := outcomeServer(b)
	s.Outcomes.Register("bench", 1<<16, func(outcome.Try) {})
	ctx, plan := plannedContext(b, s)
	cs := ctx.GetFields()["ctx"].GetStringValue()
	a := &accessLogService{s: s, j: newJoiner()}
	const per = 20
	begin := time.Now()
	msgs := make([][]byte, 0, 64)
	for m := range 64 {
		var os []ModuleOutcome
		for i := range per {
			os = append(os, ModuleOutcome{RequestID: fmt.Sprintf("req-%d-%d", m, i), Begin: begin, End: begin.Add(time.Millisecond), Attempts: 1, Ctx: cs, Fast: true,
				Usage:    RespUsage{Prompt: 11, HasPrompt: true, Completion: 7, HasCompletion: true, Total: 18, HasTotal: true, Model: "gpt-4o-2024-08-06", HasModel: true},
				Answered: true, Cluster: plan[i%len(plan)], Status: 200, FirstByte: begin.Add(300 * time.Microsecond), LastByte: begin.Add(900 * time.Microsecond),
				Headers: [][2]string{{"x-ratelimit-remaining-requests", "99"}, {"x-ratelimit-remaining-tokens", "9999"}}, Observed: observed})
		}
		var msg []byte
		if observed {
			for i := range os {
				msg = appendSpendRecord(msg, &os[i])
			}
		} else {
			msg = AppendOutcomes(nil, os)
		}
		msgs = append(msgs, msg)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for n := 0; n < b.N; n += per {
		a.readModule(msgs[(n/per)%len(msgs)])
		if (n/per)%len(msgs) == len(msgs)-1 {
			b.StopTimer()
			a.j = newJoiner() // the same request ids again are duplicates
			b.StartTimer()
		}
	}
}

// BenchmarkModuleStreamCodec is one message of the module's outcome stream
// (20 records, as at concurrency 1) marshalled by the module and unmarshalled
// by the gateway, in gRPC's proto codec (the message as an emptypb.Empty's
// unknown fields, before D88) and in the raw codec.
func BenchmarkModuleStreamCodec(b *testing.B) {
	s, _, _ := outcomeServer(b)
	ctx, plan := plannedContext(b, s)
	cs := ctx.GetFields()["ctx"].GetStringValue()
	begin := time.Now()
	var os []ModuleOutcome
	for i := range 20 {
		os = append(os, ModuleOutcome{RequestID: fmt.Sprintf("req-%d", i), Begin: begin, End: begin.Add(time.Millisecond), Attempts: 1, Ctx: cs, Fast: true,
			Answered: true, Cluster: plan[i%len(plan)], Status: 200, FirstByte: begin.Add(300 * time.Microsecond), LastByte: begin.Add(900 * time.Microsecond)})
	}
	wire := AppendOutcomes(nil, os)
	wire = protowire.AppendVarint(protowire.AppendTag(wire, wireOutboxSeq, protowire.VarintType), 20)
	b.Run("proto", func(b *testing.B) {
		c := encoding.GetCodecV2("proto")
		b.ReportAllocs()
		for range b.N {
			var m emptypb.Empty
			m.ProtoReflect().SetUnknown(wire)
			out, err := c.Marshal(&m)
			if err != nil {
				b.Fatal(err)
			}
			var got emptypb.Empty
			if err := c.Unmarshal(out, &got); err != nil || len(got.ProtoReflect().GetUnknown()) != len(wire) {
				b.Fatal(err)
			}
			out.Free()
		}
	})
	b.Run("raw", func(b *testing.B) {
		c := rawCodec{}
		b.ReportAllocs()
		for range b.N {
			out, err := c.Marshal(&rawFrame{b: wire})
			if err != nil {
				b.Fatal(err)
			}
			var got rawFrame
			if err := c.Unmarshal(out, &got); err != nil || len(got.b) != len(wire) {
				b.Fatal(err)
			}
			out.Free()
		}
	})
}
