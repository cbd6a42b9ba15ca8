package extproc

import (
	"context"
	"encoding/binary"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
	"unsafe"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/types/known/emptypb"

	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/outcome"
)

// outboxGateway is one gateway process as the module's outbox sees it: a
// server on the socket and its spend sink's events by call id.
type outboxGateway struct {
	s    *Server
	g    *grpc.Server
	mu   sync.Mutex
	seen map[string]int
	// block, held, stops the spend sink before its next event.
	block sync.Mutex
	// contentTypes of the outcome streams opened, in order.
	contentTypes []string
}

func startOutboxGateway(t *testing.T, sock string) *outboxGateway {
	t.Helper()
	s, _, _ := outcomeServer(t)
	og := &outboxGateway{s: s, seen: map[string]int{}}
	s.Outcomes.Register(keys.SpendSink, keys.SinkQueue, func(e outcome.Try) {
		og.block.Lock()
		og.mu.Lock()
		og.seen[e.CallID]++
		og.mu.Unlock()
		og.block.Unlock()
	})
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	og.g = grpc.NewServer(grpc.StreamInterceptor(func(srv any, ss grpc.ServerStream, info *grpc.StreamServerInfo, h grpc.StreamHandler) error {
		if info.FullMethod == ModuleOutcomesMethod {
			og.mu.Lock()
			og.contentTypes = append(og.contentTypes, metadata.ValueFromIncomingContext(ss.Context(), "content-type")...)
			og.mu.Unlock()
		}
		return h(srv, ss)
	}))
	s.Register(og.g)
	go func() { _ = og.g.Serve(l) }()
	t.Cleanup(og.g.Stop)
	return og
}

func (og *outboxGateway) count() map[string]int {
	og.mu.Lock()
	defer og.mu.Unlock()
	out := map[string]int{}
	for k, v := range og.seen {
		out[k] = v
	}
	return out
}

// moduleRecords are n answered fast requests, each with its own planned
// context (call id).
func moduleRecords(t testing.TB, s *Server, n int, from int) ([]ModuleOutcome, []string) {
	t.Helper()
	var out []ModuleOutcome
	var ids []string
	ctxs, plan := plannedContext(t, s)
	rc, err := decodeContext(ctxs.GetFields()["ctx"].GetStringValue())
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		rc.CallId = "call-" + itoa(from+i)
		ctx, err := encodeContext(rc)
		if err != nil {
			t.Fatal(err)
		}
		begin := time.Now()
		out = append(out, ModuleOutcome{RequestID: "req-" + itoa(from+i), Begin: begin, End: begin.Add(5 * time.Millisecond), Attempts: 1, Ctx: ctx, Fast: true,
			Usage:    RespUsage{Prompt: 10, HasPrompt: true, Completion: 5, HasCompletion: true, Total: 15, HasTotal: true},
			Answered: true, Cluster: plan[0], Status: 200, FirstByte: begin.Add(2 * time.Millisecond), LastByte: begin.Add(4 * time.Millisecond)})
		ids = append(ids, rc.CallId)
	}
	return out, ids
}

func itoa(i int) string {
	const d = "0123456789"
	if i < 10 {
		return d[i : i+1]
	}
	return itoa(i/10) + d[i%10:i%10+1]
}

func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The module's records survive the gateway going away: records put while
// the gateway is down, and records it received but had not acknowledged
// (its spend sink had not consumed them) when it stopped, reach the next
// gateway; an acknowledged record is never sent again; within one gateway
// a record sent twice is reported once (D63).
func TestModuleOutboxSurvivesGatewayRestart(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	var logMu sync.Mutex
	var logs []string
	logf := func(s string) { logMu.Lock(); logs = append(logs, s); logMu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()

	a := startOutboxGateway(t, sock)
	b := newOutbox(sock, logf, OutboxMax, 5*time.Millisecond)
	go b.ship(ctx)
	recs, ids := moduleRecords(t, a.s, 60, 0)
	for _, r := range recs[:20] {
		b.Put(r)
	}
	// 1. Reported and acknowledged: the outbox holds nothing.
	waitFor(t, "the first 20 acknowledged", func() bool { return len(a.count()) == 20 && b.held.Load() == 0 })

	// 2. The spend sink is stuck: received, reported, not consumed — so
	// not acknowledged; then the gateway dies.
	a.block.Lock()
	for _, r := range recs[20:30] {
		b.Put(r)
	}
	waitFor(t, "10 received", func() bool { return a.s.moduleOut.pending.Load() > 0 })
	time.Sleep(50 * time.Millisecond)
	if n := b.held.Load(); n != 10 {
		t.Fatalf("%d records held while the gateway's spend sink has not consumed them, want 10", n)
	}
	a.g.Stop()
	// 3. Records put while no gateway listens are kept.
	for _, r := range recs[30:50] {
		b.Put(r)
	}
	time.Sleep(300 * time.Millisecond)

	// 4. The next gateway gets every record not acknowledged, once.
	c := startOutboxGateway(t, sock)
	for _, r := range recs[50:] {
		b.Put(r)
	}
	waitFor(t, "every record acknowledged by the new gateway", func() bool { return b.held.Load() == 0 })
	got := c.count()
	for i, id := range ids {
		switch {
		case i < 20 && got[id] != 0:
			t.Errorf("record %d was acknowledged by the first gateway and sent again", i)
		case i >= 20 && got[id] != 1:
			t.Errorf("record %d reached the new gateway %d times, want once", i, got[id])
		}
	}
	if b.Dropped() != 0 {
		t.Errorf("%d dropped", b.Dropped())
	}
	a.block.Unlock()

	// 5. Sent again on the same gateway (an acknowledgement lost with the
	// stream): reported once.
	st := c.s
	again := startStreamAgain(t, sock, recs[50:])
	waitFor(t, "the copy acknowledged", again)
	if n := st.Outcomes.Mark(keys.SpendSink); n != 40 {
		t.Errorf("the spend sink got %d events, want 40 (the copies dropped)", n)
	}
}

// startStreamAgain sends recs again on a new outbox (same records, as after
// a lost acknowledgement) and reports when it is acknowledged.
func startStreamAgain(t *testing.T, sock string, recs []ModuleOutcome) func() bool {
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	b := newOutbox(sock, func(string) {}, OutboxMax, 5*time.Millisecond)
	go b.ship(ctx)
	for _, r := range recs {
		b.Put(r)
	}
	return func() bool { return b.held.Load() == 0 }
}

// The outbox is bounded: with the gateway gone, records beyond the bound are
// dropped, counted and logged; the gateway learns the count.
func TestModuleOutboxBounded(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	var logMu sync.Mutex
	var logs []string
	logf := func(s string) { logMu.Lock(); logs = append(logs, s); logMu.Unlock() }
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	b := newOutbox(sock, logf, 10, 5*time.Millisecond)
	go b.ship(ctx)
	s, _, _ := outcomeServer(t)
	recs, _ := moduleRecords(t, s, 15, 0)
	for _, r := range recs {
		b.Put(r)
	}
	if b.Dropped() != 5 || b.held.Load() != 10 {
		t.Fatalf("dropped %d held %d, want 5 and 10", b.Dropped(), b.held.Load())
	}
	waitFor(t, "the drop logged", func() bool {
		logMu.Lock()
		defer logMu.Unlock()
		for _, l := range logs {
			if strings.Contains(l, "5 records dropped") {
				return true
			}
		}
		return false
	})
	g := startOutboxGateway(t, sock)
	waitFor(t, "the 10 held records", func() bool { return len(g.count()) == 10 && b.held.Load() == 0 })
	if n := g.s.ModuleOutcomesDropped(); n != 5 {
		t.Errorf("the gateway knows of %d dropped records, want 5", n)
	}
}

// The file copy: records acknowledged are not in it; records put while the
// gateway is down are, and survive the outbox's process (the files are
// read without it); the next gateway reports each once and removes the
// files (D63).
func TestModuleOutboxFileCopy(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := startOutboxGateway(t, sock)
	b := NewOutbox(ctx, sock, dir, func(string) {})
	recs, ids := moduleRecords(t, a.s, 30, 0)
	for _, r := range recs[:10] {
		b.Put(r)
	}
	waitFor(t, "the first 10 acknowledged", func() bool { return len(a.count()) == 10 && b.held.Load() == 0 })
	a.g.Stop()
	for _, r := range recs[10:] {
		b.Put(r)
	}
	// Envoy is killed here: only the files are left.
	got, files, err := readSpill(dir)
	if err != nil || len(got) != 20 || len(files) != 1 {
		t.Fatalf("%d records not acknowledged in %d files (%v), want 20 in 1", len(got), len(files), err)
	}
	c := startOutboxGateway(t, filepath.Join(t.TempDir(), "other.sock"))
	n, err := c.s.ReplayModuleOutcomes(dir, 5*time.Second)
	if err != nil || n != 20 {
		t.Fatalf("replayed %d (%v), want 20", n, err)
	}
	seen := c.count()
	for i, id := range ids {
		if want := map[bool]int{true: 0, false: 1}[i < 10]; seen[id] != want {
			t.Errorf("record %d reported %d times by the next gateway, want %d", i, seen[id], want)
		}
	}
	if left, _ := filepath.Glob(filepath.Join(dir, "*")); len(left) != 0 {
		t.Errorf("files left after the replay: %v", left)
	}
}

// A record of a request that is not fast (its tries are the attempt
// filter's; its join waits for Envoy's entries of them) holds up no
// acknowledgement.
func TestModuleOutboxNotFastAcknowledgedAtOnce(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := startOutboxGateway(t, sock)
	b := newOutbox(sock, func(string) {}, OutboxMax, 5*time.Millisecond)
	go b.ship(ctx)
	now := time.Now()
	b.Put(ModuleOutcome{RequestID: "not-fast", Begin: now, End: now.Add(time.Millisecond), Attempts: 1, Ctx: "-"})
	recs, _ := moduleRecords(t, a.s, 1, 0)
	b.Put(recs[0])
	deadline := time.Now().Add(time.Second) // the join's wait is 2 s
	for b.held.Load() != 0 {
		if time.Now().After(deadline) {
			t.Fatalf("%d records not acknowledged after 1 s", b.held.Load())
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// The gateway coalesces its acknowledgements (D69): a module shipping a
// message every 10 ms for 600 ms gets at most one acknowledgement per
// ackEvery (100 ms), not one per message, and the last one covers every
// record; an idle stream gets none. Each acknowledgement wakes the module's
// goroutine inside Envoy and each check the gateway's scheduler; with a 5 ms
// check and an acknowledgement per message this was +1.5 context switches
// per request on the core both share.
func TestModuleAcksCoalesced(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	a := startOutboxGateway(t, sock)
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st, err := conn.NewStream(ctx, &ModuleOutcomesStream, ModuleOutcomesMethod)
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var acks []uint64
	go func() {
		for {
			var m emptypb.Empty
			if st.RecvMsg(&m) != nil {
				return
			}
			_ = wireFields(m.ProtoReflect().GetUnknown(), func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num == wireAckSeq && typ == protowire.VarintType {
					mu.Lock()
					acks = append(acks, x)
					mu.Unlock()
				}
				return nil
			})
		}
	}()
	const n = 60
	recs, _ := moduleRecords(t, a.s, n, 0)
	for i, r := range recs {
		wire := AppendOutcomes(nil, []ModuleOutcome{r})
		wire = protowire.AppendVarint(protowire.AppendTag(wire, wireOutboxSeq, protowire.VarintType), uint64(i+1))
		wire = protowire.AppendVarint(protowire.AppendTag(wire, wireOutboxID, protowire.VarintType), 7)
		var m emptypb.Empty
		m.ProtoReflect().SetUnknown(wire)
		if err := st.SendMsg(&m); err != nil {
			t.Fatal(err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	last := func() uint64 {
		mu.Lock()
		defer mu.Unlock()
		if len(acks) == 0 {
			return 0
		}
		return acks[len(acks)-1]
	}
	waitFor(t, "every record acknowledged", func() bool { return last() == n })
	mu.Lock()
	got := len(acks)
	mu.Unlock()
	// 60 messages over ≥ 600 ms: at most one acknowledgement per 100 ms
	// (a loaded host stretches the sending, so the bound is on the time the
	// messages took, plus the last).
	if got > n/3 {
		t.Errorf("%d acknowledgements for %d messages, want them coalesced (at most one per %v)", got, n, ackEvery)
	}
	time.Sleep(3 * ackEvery)
	mu.Lock()
	idle := len(acks) - got
	mu.Unlock()
	if idle != 0 {
		t.Errorf("%d acknowledgements on an idle stream with nothing to acknowledge", idle)
	}
}

// The module ships its records as their bytes (D88): its outcome stream is
// opened with the raw codec, and every record reaches the spend sink once
// and is acknowledged. (An earlier module's stream, proto-coded, is served
// too: TestModuleAcksCoalesced's client opens it so.)
func TestModuleOutboxRawCodec(t *testing.T) {
	sock := filepath.Join(t.TempDir(), "gw.sock")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	a := startOutboxGateway(t, sock)
	b := newOutbox(sock, func(string) {}, OutboxMax, 5*time.Millisecond)
	go b.ship(ctx)
	const n = 50
	recs, ids := moduleRecords(t, a.s, n, 0)
	for _, r := range recs {
		b.Put(r)
	}
	waitFor(t, "every record acknowledged", func() bool { return b.held.Load() == 0 })
	seen := a.count()
	for _, id := range ids {
		if seen[id] != 1 {
			t.Errorf("record %s reached the spend sink %d times, want once", id, seen[id])
		}
	}
	a.mu.Lock()
	cts := a.contentTypes
	a.mu.Unlock()
	if len(cts) != 1 || cts[0] != "application/grpc+"+rawCodecName {
		t.Errorf("outcome streams opened with %q, want one with application/grpc+%s", cts, rawCodecName)
	}
}

// The outbox's shipper faults in the file copy's pages ahead of the writer
// and prepares its next segment (D88), so that a record's copy on Envoy's
// worker does not fault into the file system (ext4's page_mkwrite waited
// milliseconds now and then): the pages after the writer's are resident
// before any record reaches them, the writer moves into the prepared
// segment, and the files still read back every record in order.
func TestSpillAheadOfWriter(t *testing.T) {
	dir := t.TempDir()
	var logged []string
	b := newOutbox(filepath.Join(dir, "none.sock"), func(m string) { logged = append(logged, m) }, OutboxMax, time.Hour)
	sp, err := openSpill(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	b.spill = sp
	defer sp.close(true)
	page := os.Getpagesize()
	// dirty is the mapping's pages made writable (dirty) so far, from
	// /proc/self/smaps: a page the writer's copy would fault on is clean.
	dirty := func(m []byte) int {
		b, err := os.ReadFile("/proc/self/smaps")
		if err != nil {
			t.Fatal(err)
		}
		start := fmt.Sprintf("%x-", uintptr(unsafe.Pointer(&m[0])))
		kb, in := 0, false
		for _, l := range strings.Split(string(b), "\n") {
			if f := strings.Fields(l); len(f) > 0 && strings.Contains(f[0], "-") && !strings.HasSuffix(f[0], ":") {
				in = strings.HasPrefix(f[0], start)
				continue
			}
			if f := strings.Fields(l); in && len(f) == 3 && (f[0] == "Shared_Dirty:" || f[0] == "Private_Dirty:") {
				n, _ := strconv.Atoi(f[1])
				kb += n
			}
		}
		return kb << 10 / page
	}
	cur := sp.segs[0]
	if n := dirty(cur.mem); n > 1 {
		t.Fatalf("%d pages dirty before the shipper's tick, want the header's", n)
	}
	b.spillAheadOfWriter()
	if n, want := dirty(cur.mem), (spillHeader+spillAhead)/page; n < want {
		t.Errorf("%d pages writable after the shipper's tick, want the %d up to spillAhead past the writer", n, want)
	}
	// The writer moves on by records of an odd size (its offset no longer
	// on a page boundary, as in Envoy): the next tick faults in the pages
	// up to spillAhead past its new place too (D106: every tick after the
	// first asked the kernel for a range that did not start on a page, which
	// it refused, so the worker's copies faulted on every fresh page).
	seq := uint64(0)
	for small := make([]byte, 1703); cur.off < 300<<10; {
		seq++
		sp.write(seq, small)
	}
	b.spillAheadOfWriter()
	if n, want := dirty(cur.mem), (cur.off+spillAhead)/page; n < want {
		t.Errorf("%d pages writable after the second tick, want the %d up to spillAhead past the writer (at %d)", n, want, cur.off)
	}
	rec := make([]byte, 60<<10)
	for cur.off <= spillSegSize-spillAhead {
		seq++
		sp.write(seq, rec)
	}
	b.spillAheadOfWriter()
	if sp.next == nil {
		t.Fatal("no next segment prepared with the writer within spillAhead of the end")
	}
	prepared := sp.next.path
	for len(sp.segs) == 1 {
		seq++
		sp.write(seq, rec)
	}
	if got := sp.segs[1].path; got != prepared || sp.next != nil {
		t.Errorf("the writer moved into %s, want the prepared %s", got, prepared)
	}
	recs, files, err := readSpill(dir)
	if err != nil || len(files) != 2 || uint64(len(recs)) != seq {
		t.Fatalf("read %d records in %d files (%v), want %d in 2", len(recs), len(files), err, seq)
	}
	if len(logged) > 0 {
		t.Errorf("the shipper said %q", logged)
	}
}

// countingPool is a mem.BufferPool that records what is given back.
type countingPool struct {
	mu   sync.Mutex
	back []*[]byte
}

func (p *countingPool) Get(size int) *[]byte {
	b := make([]byte, size)
	return &b
}

func (p *countingPool) Put(b *[]byte) {
	p.mu.Lock()
	p.back = append(p.back, b)
	p.mu.Unlock()
}

// TestRawCodecOwnedFrame (D154): the outbox's message goes to gRPC as the
// buffer the shipper wrote it in — not copied into gRPC's default pool,
// whose 1 MB tier cleared a whole megabyte for every message — and comes
// back to the shipper's pool once gRPC has freed it. A frame without a
// buffer of its own is still copied (its sender reuses its slice).
func TestRawCodecOwnedFrame(t *testing.T) {
	var p countingPool
	b := make([]byte, 64<<10)
	for i := range b {
		b[i] = byte(i)
	}
	bs, err := rawCodec{}.Marshal(&rawFrame{owned: &b, pool: &p})
	if err != nil || len(bs) != 1 {
		t.Fatalf("Marshal: %d buffers, %v", len(bs), err)
	}
	got := bs[0].ReadOnlyData()
	if len(got) != len(b) || &got[0] != &b[0] {
		t.Fatalf("the owned frame's bytes were copied (%d bytes at %p, the shipper's at %p)", len(got), &got[0], &b[0])
	}
	bs.Free()
	if len(p.back) != 1 || p.back[0] != &b {
		t.Errorf("after Free the shipper's pool got %d buffers back, want its own one", len(p.back))
	}
	plain := []byte("a record")
	bs, err = rawCodec{}.Marshal(&rawFrame{b: plain})
	if err != nil || string(bs.Materialize()) != "a record" || &bs[0].ReadOnlyData()[0] == &plain[0] {
		t.Errorf("a frame without its own buffer: %q, %v (want a copy)", bs.Materialize(), err)
	}
	bs.Free()
	var w wirePool
	x := w.Get(100)
	if len(*x) != 100 {
		t.Errorf("wirePool.Get(100): length %d", len(*x))
	}
}

// A segment whose records are all acknowledged becomes the next segment
// (D166): the writer moves into the same mapping under the next name, no
// third file is made, and the files read back exactly the records not
// acknowledged, in order — none of the old records left beyond the writer,
// also when the writer stops between a record's bytes and its length (the
// kill -9 the file copy is for).
func TestSpillSegmentReused(t *testing.T) {
	dir := t.TempDir()
	sp, err := openSpill(dir, 1)
	if err != nil {
		t.Fatal(err)
	}
	defer sp.close(true)
	rec := func(seq uint64) []byte { // an odd size, its sequence number inside
		b := make([]byte, 1703+seq%7)
		binary.LittleEndian.PutUint64(b, seq)
		return b
	}
	seq := uint64(0)
	for len(sp.segs) == 1 {
		seq++
		sp.write(seq, rec(seq))
	}
	first := sp.segs[0]
	unacked := first.last + 1
	sp.acked(first.last)
	if sp.next != first || len(sp.segs) != 1 {
		t.Fatalf("the acknowledged segment is not the next one (next %p, first %p, %d segments)", sp.next, first, len(sp.segs))
	}
	check := func(from uint64, files int) {
		t.Helper()
		recs, fs, err := readSpill(dir)
		if err != nil || len(fs) != files {
			t.Fatalf("%d files (%v), want %d", len(fs), err, files)
		}
		if uint64(len(recs)) != seq-from+1 {
			t.Fatalf("read %d records, want %d (%d to %d)", len(recs), seq-from+1, from, seq)
		}
		for i, r := range recs {
			if got := binary.LittleEndian.Uint64(r); got != from+uint64(i) || len(r) != len(rec(got)) {
				t.Fatalf("record %d is %d (%d bytes), want %d", i, got, len(r), from+uint64(i))
			}
		}
	}
	check(unacked, 2)
	for len(sp.segs) == 1 {
		seq++
		sp.write(seq, rec(seq))
	}
	if sp.segs[1] != first || !strings.HasSuffix(first.path, "-000003"+spillSuffix) {
		t.Fatalf("the writer moved into %s, want the used segment under the third name", sp.segs[1].path)
	}
	check(unacked, 2)
	// The writer cut off after a record's bytes and sequence number, before
	// its length: the old record under it is not read.
	cur := sp.segs[1]
	next := rec(seq + 1)
	copy(cur.mem[cur.off+12:], next)
	binary.LittleEndian.PutUint64(cur.mem[cur.off+4:], seq+1)
	check(unacked, 2)
	sp.acked(seq - 1)
	if len(sp.segs) != 1 || sp.segs[0] != cur || sp.next == nil {
		t.Fatalf("after the second acknowledgement: %d segments, next %v", len(sp.segs), sp.next)
	}
	check(seq, 2)
}
