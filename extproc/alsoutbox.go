package extproc

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/protobuf/encoding/protowire"
)

// Outbox is the module's side of the outcome stream (alsmodule.go,
// docs/architecture.md D63): Envoy's workers leave one record per planned
// request (Put: a mutex and an append, nothing else on the request's path);
// a goroutine ships them every OutboxFlushEvery on one stream to the
// gateway and keeps each record until the gateway acknowledges it. After a
// reconnect every record not acknowledged is sent again (the gateway takes a
// record once). The records held are bounded (OutboxMax): beyond that —
// the gateway gone for long under load — a new record is dropped, counted
// (sent with every message, the gateway's llmgate_module_outcomes_dropped_total)
// and logged.
type Outbox struct {
	mu sync.Mutex
	// arena holds the records put and not yet taken by the shipper, encoded
	// back to back (each a StreamAccessLogsMessage's http_logs); ends are
	// their end offsets.
	arena []byte
	ends  []int
	one   [1]ModuleOutcome
	next  uint64 // the sequence number of the next record put
	spill *spill // the records' copy in a file (nil: none)
	held  atomic.Int64
	max   int64
	drops atomic.Uint64
	id    uint64

	socket string
	logf   func(string)
	// Flush is how often the records are shipped (tests shorten it).
	flush time.Duration
	// aheadRefused: the kernel refused to fault the file's pages in ahead
	// (said once).
	aheadRefused bool
}

// Outbox bounds and timings.
const (
	OutboxFlushEvery = moduleFlushEvery
	OutboxMax        = 1 << 16
	outboxMaxBatch   = 512
	// outboxLastWait is how long a stopping outbox (its config destroyed)
	// waits for the acknowledgement of what it holds.
	outboxLastWait = 2 * time.Second
)

// NewOutbox starts an outbox shipping to the gateway's Unix socket until ctx
// ends; logf writes a warning to Envoy's log. With a spill directory each
// record is also copied, as it is put, into a memory-mapped file there
// (outboxspill.go), which the gateway reads at its next start if this
// process dies with records not acknowledged.
func NewOutbox(ctx context.Context, socket, spillDir string, logf func(string)) *Outbox {
	b := newOutbox(socket, logf, OutboxMax, OutboxFlushEvery)
	if spillDir != "" {
		sp, err := openSpill(spillDir, b.id)
		if err != nil {
			logf("llmgate module: outcome records are not copied to a file: " + err.Error())
		} else {
			b.spill = sp
		}
	}
	go b.ship(ctx)
	return b
}

func newOutbox(socket string, logf func(string), max int, flush time.Duration) *Outbox {
	var id [8]byte
	_, _ = rand.Read(id[:])
	return &Outbox{socket: socket, logf: logf, max: int64(max), flush: flush, next: 1, id: binary.LittleEndian.Uint64(id[:]) >> 1}
}

// Put keeps one record; it never blocks on the gateway.
func (b *Outbox) Put(o ModuleOutcome) {
	if b.held.Add(1) > b.max {
		b.held.Add(-1)
		b.drops.Add(1)
		return
	}
	b.mu.Lock()
	start := len(b.arena)
	if (o.SpendOnly || o.Observed) && o.Fast && o.Answered {
		b.arena = appendSpendRecord(b.arena, &o) // alsspend.go
	} else {
		b.one[0] = o
		b.arena = AppendOutcomes(b.arena, b.one[:])
		b.one[0] = ModuleOutcome{}
	}
	b.ends = append(b.ends, len(b.arena))
	if b.spill != nil {
		b.spill.write(b.next, b.arena[start:])
	}
	b.next++
	b.mu.Unlock()
}

// Dropped is the number of records dropped because the outbox was full.
func (b *Outbox) Dropped() uint64 { return b.drops.Load() }

// take appends the new records to arena and their end offsets (shifted by
// the arena's length) to ends; first is the first one's sequence number.
func (b *Outbox) take(arena []byte, ends []int) ([]byte, []int, uint64) {
	b.mu.Lock()
	defer b.mu.Unlock()
	first := b.next - uint64(len(b.ends))
	base := len(arena)
	arena = append(arena, b.arena...)
	for _, e := range b.ends {
		ends = append(ends, base+e)
	}
	b.arena, b.ends = b.arena[:0], b.ends[:0]
	if cap(b.arena) > 1<<20 {
		b.arena = nil // a burst's buffer is given back
	}
	return arena, ends, first
}

// acknowledged lets the file copy of records up to seq go.
func (b *Outbox) acknowledged(seq uint64) {
	if b.spill == nil {
		return
	}
	b.mu.Lock()
	b.spill.acked(seq)
	b.mu.Unlock()
}

// spillAheadOfWriter faults in the file copy's next pages and prepares its
// next segment, off Envoy's worker (alsspill.go, spillAhead): the shipper
// calls it every tick, and does the file work without the lock Put takes.
func (b *Outbox) spillAheadOfWriter() {
	if b.spill == nil {
		return
	}
	b.mu.Lock()
	pages, prepare := b.spill.ahead()
	n := b.spill.n
	b.mu.Unlock()
	b.faultedIn(faultIn(pages))
	if prepare == "" {
		return
	}
	g, err := openSeg(prepare)
	if err != nil {
		return // the writer opens its next segment itself, as before
	}
	b.faultedIn(faultIn(g.mem[:spillAhead]))
	g.faulted = spillAhead
	b.mu.Lock()
	if b.spill.broken || b.spill.next != nil || b.spill.n != n {
		// Closed, or the writer opened a segment of its own meanwhile: the
		// prepared one would come after it in the files' order.
		b.mu.Unlock()
		_ = syscall.Munmap(g.mem)
		_ = os.Remove(g.path)
		return
	}
	b.spill.next = g
	b.mu.Unlock()
}

// faultedIn says once that the kernel refused to fault the file copy's
// pages in ahead of the writer (the shipper's goroutine only).
func (b *Outbox) faultedIn(err error) {
	if err != nil && !b.aheadRefused {
		b.aheadRefused = true
		b.logf("llmgate module: the outcome records' file pages are not faulted in ahead of Envoy's worker: " + err.Error())
	}
}

// closeSpill removes the file copy when nothing is left unacknowledged.
func (b *Outbox) closeSpill(all bool) {
	if b.spill == nil {
		return
	}
	b.mu.Lock()
	b.spill.close(all)
	b.mu.Unlock()
}

// outStream is one open stream and its acknowledgement reader.
type outStream struct {
	conn   *grpc.ClientConn
	st     grpc.ClientStream
	cancel context.CancelFunc
	acked  atomic.Uint64
	broken atomic.Bool
}

func (s *outStream) close() {
	s.cancel()
	_ = s.conn.Close()
}

// ship holds the stream and the records until they are acknowledged.
func (b *Outbox) ship(ctx context.Context) {
	var (
		// held: the records sent or not, not yet acknowledged, in order,
		// back to back; ends their end offsets; heldFirst the first one's
		// sequence number.
		held      []byte
		ends      []int
		heldFirst uint64 = 1
		sentTo    uint64 // the last sequence number sent on the current stream
		st        *outStream
		retry     time.Time
		backoff   = 100 * time.Millisecond
		lastDrops uint64
		lastLog   time.Time
	)
	t := time.NewTicker(b.flush)
	defer t.Stop()
	defer func() {
		if st != nil {
			st.close()
		}
	}()
	var stopAt time.Time
	for {
		if stopAt.IsZero() {
			select {
			case <-t.C:
			case <-ctx.Done():
				// Envoy destroyed the config: no request of it is left.
				// What is held is sent and awaited for a while.
				stopAt = time.Now().Add(outboxLastWait)
			}
		} else {
			if len(ends) == 0 || time.Now().After(stopAt) {
				if len(ends) > 0 {
					b.logf(fmt.Sprintf("llmgate module: %d outcome records not acknowledged at the config's end", len(ends)))
				}
				b.closeSpill(len(ends) == 0)
				return
			}
			time.Sleep(b.flush)
		}
		b.spillAheadOfWriter()
		n0 := len(ends)
		var first uint64
		held, ends, first = b.take(held, ends)
		if n0 == 0 && len(ends) > 0 {
			heldFirst = first
		}
		if st != nil {
			// Acknowledged records are let go.
			if a := st.acked.Load(); a >= heldFirst && len(ends) > 0 {
				n := min(int(a-heldFirst+1), len(ends))
				off := ends[n-1]
				held = append(held[:0], held[off:]...)
				ends = append(ends[:0], ends[n:]...)
				for i := range ends {
					ends[i] -= off
				}
				heldFirst += uint64(n)
				b.held.Add(-int64(n))
				b.acknowledged(heldFirst - 1)
			}
			if st.broken.Load() {
				st.close()
				st, retry = nil, time.Now().Add(backoff)
				backoff = min(2*backoff, time.Second)
			}
		}
		if d := b.drops.Load(); d != lastDrops && time.Since(lastLog) > 10*time.Second {
			b.logf(fmt.Sprintf("llmgate module: outcome outbox full (%d records held, the gateway does not acknowledge): %d records dropped so far", len(ends), d))
			lastDrops, lastLog = d, time.Now()
		}
		if len(ends) == 0 {
			continue
		}
		if st == nil && time.Now().After(retry) {
			var err error
			if st, err = b.open(); err != nil {
				b.logf("llmgate module: outcome stream to " + b.socket + ": " + err.Error())
				st, retry = nil, time.Now().Add(backoff)
				backoff = min(2*backoff, time.Second)
			} else {
				// Everything held goes again on the new stream.
				sentTo = heldFirst - 1
			}
		}
		if st == nil {
			continue
		}
		for sentTo < heldFirst+uint64(len(ends))-1 {
			from := int(sentTo + 1 - heldFirst)
			to := min(from+outboxMaxBatch, len(ends))
			start := 0
			if from > 0 {
				start = ends[from-1]
			}
			// The message is written into a buffer handed to gRPC as it is
			// (sendOwned: no copy, no clearing; D154).
			wb := outboxWire.Get(ends[to-1] - start + 3*(1+binary.MaxVarintLen64))
			wire := append((*wb)[:0], held[start:ends[to-1]]...)
			wire = protowire.AppendVarint(protowire.AppendTag(wire, wireOutboxSeq, protowire.VarintType), heldFirst+uint64(to)-1)
			if d := b.drops.Load(); d > 0 {
				wire = protowire.AppendVarint(protowire.AppendTag(wire, wireOutboxDropped, protowire.VarintType), d)
			}
			wire = protowire.AppendVarint(protowire.AppendTag(wire, wireOutboxID, protowire.VarintType), b.id)
			*wb = wire
			if err := sendOwned(st.st, wb, &outboxWire); err != nil {
				b.logf(fmt.Sprintf("llmgate module: outcome stream ended: %v (%d records held, sent again on the next stream)", err, len(ends)))
				st.close()
				st, retry = nil, time.Now().Add(backoff)
				backoff = min(2*backoff, time.Second)
				break
			}
			sentTo = heldFirst + uint64(to) - 1
			backoff = 100 * time.Millisecond
		}
	}
}

// outboxWire holds the shipper's message buffers between sends.
var outboxWire wirePool

// open starts a stream and its acknowledgement reader.
func (b *Outbox) open() (*outStream, error) {
	conn, err := grpc.NewClient("unix://"+b.socket, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	st, err := conn.NewStream(ctx, &ModuleOutcomesStream, ModuleOutcomesMethod, grpc.CallContentSubtype(rawCodecName))
	if err != nil {
		cancel()
		_ = conn.Close()
		return nil, err
	}
	s := &outStream{conn: conn, st: st, cancel: cancel}
	go func() {
		for {
			b, err := recvBytes(st, true)
			if err != nil {
				s.broken.Store(true)
				return
			}
			_ = wireFields(b, func(num protowire.Number, typ protowire.Type, _ []byte, x uint64) error {
				if num == wireAckSeq && typ == protowire.VarintType && x > s.acked.Load() {
					s.acked.Store(x)
				}
				return nil
			})
		}
	}()
	return s, nil
}
