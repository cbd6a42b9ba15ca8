package extproc

import (
	"fmt"
	"runtime"
	"runtime/metrics"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// What the join keeps between messages is bounded by the requests waiting,
// not by the traffic, and holds no pointers the gateway's GC must scan
// (docs/architecture.md D115): a joined request leaves no deadline behind,
// and the duplicate memory of the last minute's entries is pointer-free.
func TestJoinMemory(t *testing.T) {
	const n = 20000
	j := newJoiner()
	now := t0.Add(time.Second)
	runtime.GC()
	scan0 := scannableHeap()
	for i := range n {
		id := fmt.Sprintf("req-%d", i)
		at := now.Add(time.Duration(i) * 100 * time.Microsecond)
		j.addTry(jtry(id, "dep_a", i, 200), at)
		if out := j.addRequest(jreq(id, i, 50, 1), at); len(out) != 1 {
			t.Fatalf("request %d not joined: %+v", i, out)
		}
	}
	if j.size() != 0 {
		t.Fatalf("%d joins waiting, want none", j.size())
	}
	if len(j.deadlines) != 0 {
		t.Errorf("%d deadlines kept after %d requests joined, want none (each would stay up to %v)", len(j.deadlines), n, joinWaitForRequest)
	}
	if len(j.seen) != 2*n {
		t.Fatalf("%d entries remembered, want %d", len(j.seen), 2*n)
	}
	runtime.GC()
	if grew := scannableHeap() - scan0; grew > 1<<20 {
		t.Errorf("the join's memory of %d entries added %d bytes the GC scans, want at most %d", 2*n, grew, 1<<20)
	}
	// Still a duplicate memory: the same entries again are not taken.
	for i := range 100 {
		id := fmt.Sprintf("req-%d", i)
		if out := j.addTry(jtry(id, "dep_a", i, 200), now); out != nil || j.size() != 0 {
			t.Fatalf("a duplicate try of %s taken again", id)
		}
		if out := j.addRequest(jreq(id, i, 50, 1), now); out != nil {
			t.Fatalf("a duplicate request entry of %s taken again", id)
		}
	}
	// A try of the same request that differs (another cluster) is not one.
	j.addTry(jtry("req-1", "dep_b", 1, 200), now)
	if j.size() != 1 {
		t.Fatalf("a new try taken as a duplicate")
	}
	runtime.KeepAlive(j)
}

func scannableHeap() int64 {
	s := []metrics.Sample{{Name: "/gc/scan/heap:bytes"}}
	metrics.Read(s)
	return int64(s[0].Value.Uint64())
}

// The gateway's allocations per record of the module's outcome stream
// (read, joined, reported; docs/architecture.md D115): 68 before D115, 61
// with the duplicate memory's hashed keys, 47 with map keys and struct
// values read as views of the message and a request's single try joined
// without a copy or a sort, 45 with the api_base's authority cached.
func TestModuleIntakeAllocs(t *testing.T) {
	s, _, _ := outcomeServer(t)
	s.Outcomes.Register("allocs", 1<<16, func(outcome.Try) {})
	ctx, plan := plannedContext(t, s)
	cs := ctx.GetFields()["ctx"].GetStringValue()
	a := &accessLogService{s: s, j: newJoiner()}
	const per, runs = 20, 40
	begin := time.Now()
	var msgs [][]byte
	for m := range runs + 1 {
		var os []ModuleOutcome
		for i := range per {
			os = append(os, ModuleOutcome{RequestID: fmt.Sprintf("req-%d-%d", m, i), Begin: begin, End: begin.Add(time.Millisecond), Attempts: 1, Ctx: cs, Fast: true,
				Usage:    RespUsage{Prompt: 11, HasPrompt: true, Completion: 7, HasCompletion: true, Total: 18, HasTotal: true, Model: "gpt-4o-2024-08-06", HasModel: true},
				Answered: true, Cluster: plan[i%len(plan)], Status: 200, FirstByte: begin.Add(300 * time.Microsecond), LastByte: begin.Add(900 * time.Microsecond),
				Headers: [][2]string{{"x-ratelimit-remaining-requests", "99"}, {"x-ratelimit-remaining-tokens", "9999"}}})
		}
		msgs = append(msgs, AppendOutcomes(nil, os))
	}
	n := 0
	allocs := testing.AllocsPerRun(runs, func() {
		a.readModule(msgs[n])
		n++
	})
	if got := allocs / per; got > 46 {
		t.Errorf("%.1f allocations per record read, joined and reported, want at most 46", got)
	}
}

// The module's records (its request entry, then its try's, in one message)
// take one entry of the duplicate memory per request, not two (D135); a
// record sent again is still taken once, and leaves no join waiting for a
// request entry that was dropped as a copy; a new request that reuses a
// copy's id (a client's own x-request-id) is taken with its try.
func TestJoinModuleRecordsSeenOnce(t *testing.T) {
	j := newJoiner()
	now := t0.Add(time.Second)
	modTry := func(id string, i int) tryLog {
		tr := jtry(id, "dep_a", i, 200)
		tr.module = true
		return tr
	}
	const n = 100
	for i := range n {
		id := fmt.Sprintf("req-%d", i)
		j.addRequest(jreq(id, i, 50, 1), now)
		if out := j.addTry(modTry(id, i), now); len(out) != 1 {
			t.Fatalf("record %d not joined: %+v", i, out)
		}
	}
	if len(j.seen) != n {
		t.Fatalf("%d entries remembered for %d module records, want %d", len(j.seen), n, n)
	}
	for i := range n {
		id := fmt.Sprintf("req-%d", i)
		if out := j.addRequest(jreq(id, i, 50, 1), now); out != nil {
			t.Fatalf("a copy of request entry %s taken again", id)
		}
		if out := j.addTry(modTry(id, i), now); out != nil || j.size() != 0 {
			t.Fatalf("a copy of %s's module try taken again (%d joins waiting)", id, j.size())
		}
	}
	// A copy of req-1, then a new request with the same id (another start).
	j.addRequest(jreq("req-1", 1, 50, 1), now)
	j.addRequest(jreq("req-1", 500, 50, 1), now)
	if out := j.addTry(modTry("req-1", 500), now); len(out) != 1 {
		t.Fatalf("a new request reusing a copy's id: %d joined, want 1", len(out))
	}
}
