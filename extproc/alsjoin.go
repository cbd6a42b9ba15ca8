package extproc

import (
	"container/heap"
	"encoding/binary"
	"hash/maphash"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/llmgate/llmgate/translator"
)

// The outcome access log (docs/architecture.md D44) brings one entry per
// upstream try and one per planned request, apart, and in no promised order.
// The joiner pairs them by request id, in bounded memory: a request whose
// entries never all come is given up after a wait, with what did come.

// tryLog is one upstream try as Envoy logged it (the router's upstream_log).
type tryLog struct {
	requestID string
	cluster   string
	start     time.Time
	// status is the provider's HTTP status; 0: no response.
	status int
	// failure says why a try had no whole answer (Envoy's response flags).
	failure tryFailure
	// latency is from the try's start to its last response byte (to its end
	// when nothing came); firstByte to its first response byte.
	latency   time.Duration
	firstByte time.Duration
	// headers are the logged provider response headers (lower case).
	headers map[string]string
	// module: the module reported this try, the request's last (D54); its
	// start is the request's until reportLogged fixes it.
	module bool
	// class: the module's error class of its try (a translated stream's
	// in-stream error, D71); ErrNone: the status's.
	class translator.ErrorClass
}

// tryFailure is what Envoy says went wrong with a try.
type tryFailure int

const (
	failNone    tryFailure = iota
	failConnect            // connection refused or failed (UF), DNS (DF), overflow (UO)
	failReset              // the provider reset or closed the connection (UR, UC, UPE)
	failTimeout            // the per-try timeout (UT)
	failClient             // the client went away or the stream was reset locally (DC, DR, LR)
)

// requestLog is one planned client request as Envoy logged it (the HCM's
// access_log, when the request filter wrote llmgate.ctx).
type requestLog struct {
	requestID string
	start     time.Time
	duration  time.Duration
	// attempts is the number of upstream tries Envoy made.
	attempts int
	// ctx is the RequestContext (llmgate.ctx "ctx", base64); fast is
	// llmgate.ctx "fast": the attempt filter runs only on error responses.
	ctx  string
	fast bool
	// usage is llmgate.usage: what the answering try's response reported.
	usage usageLog
	// ack is the module's message that brought the entry (nil: Envoy's):
	// released once the request is reported (alsmodule.go).
	ack *moduleMsg
}

// usageLog is the llmgate.usage metadata.
type usageLog struct {
	known                                 bool
	promptTokens, completionTokens, total int
	// cached: prompt_tokens_details.cached_tokens (D146: the fast path's
	// answers priced with their cache reads).
	cached int
	model  string
	// finish is a choice's finish_reason ("content_filter" classifies the
	// try as the attempt filter does).
	finish string
	// done: the stream's [DONE] passed (UsageDoneKey): the answer was whole
	// for the client even when its close cut the try (D76).
	done bool
	// streamErr: the stream's OpenAI-format error event (UsageErrorKey,
	// its JSON, bounded): the try failed inside its 200 stream (D82).
	streamErr string
}

// UsageDoneKey is the llmgate.usage key the ext_proc fast path's Lua sets
// when a stream's [DONE] passed (xds.FastPathLua, D76).
const UsageDoneKey = "done"

// UsageErrorKey is the llmgate.usage key the ext_proc fast path's Lua sets
// to a stream's error event (its data, at most 16 KB) when one passed (xds.FastPathLua, D82).
const UsageErrorKey = "error"

// joined is the outcome of one request: its entry (nil when it never came)
// and its tries in the order they started.
type joined struct {
	req   *requestLog
	tries []tryLog
}

// Waits: a try waits for its request's entry as long as a request may run
// (a stream of many minutes after a failed first try); a request's entry
// waits for tries still in Envoy's buffer only briefly.
const (
	joinWaitForRequest = 15 * time.Minute
	joinWaitForTries   = 2 * time.Second
	// joinMax bounds the requests waiting; beyond it the oldest is given up.
	joinMax = 65536
	// joinSeenFor is how long a consumed entry is remembered, so that the
	// same entry delivered twice is not counted twice.
	joinSeenFor = time.Minute
)

type pendingJoin struct {
	id       string
	req      *requestLog
	tries    []tryLog
	deadline time.Time
	// at is the join's place in the deadline heap (-1: not in it).
	at int
}

// deadlineHeap holds each waiting join once, ordered by its deadline: a
// join that ends or waits anew moves or leaves its entry (D115: an entry
// per wait, left until its time, kept 15 minutes of traffic).
type deadlineHeap []*pendingJoin

func (h deadlineHeap) Len() int           { return len(h) }
func (h deadlineHeap) Less(i, j int) bool { return h[i].deadline.Before(h[j].deadline) }
func (h deadlineHeap) Swap(i, j int) {
	h[i], h[j] = h[j], h[i]
	h[i].at, h[j].at = i, j
}
func (h *deadlineHeap) Push(x any) {
	p := x.(*pendingJoin)
	p.at = len(*h)
	*h = append(*h, p)
}
func (h *deadlineHeap) Pop() any {
	old := *h
	p := old[len(old)-1]
	old[len(old)-1] = nil
	*h = old[:len(old)-1]
	p.at = -1
	return p
}

// seenKey is an entry's identity in the duplicate memory: 128 bits of
// hash of its key fields, so that the memory of a minute's entries holds
// no pointer for the GC to scan and no string per entry (D115).
type seenKey [2]uint64

type seenEntry struct {
	key seenKey
	at  int64 // unix nanos
}

// joiner pairs try and request entries. Safe for concurrent use.
type joiner struct {
	mu        sync.Mutex
	pending   map[string]*pendingJoin
	deadlines deadlineHeap
	seen      map[seenKey]int64
	seenQ     []seenEntry
	// dups are the request ids of the last duplicate request entries: the
	// module's try that follows one is a duplicate too (addTry, D135).
	dups    [8]string
	dupNext int
	max     int
	// waits (tests shorten them).
	waitRequest, waitTries time.Duration
}

func newJoiner() *joiner {
	return &joiner{pending: map[string]*pendingJoin{}, seen: map[seenKey]int64{}, max: joinMax,
		waitRequest: joinWaitForRequest, waitTries: joinWaitForTries}
}

// seenSeeds are the duplicate memory's two hash seeds (one process's).
var seenSeeds = [2]maphash.Seed{maphash.MakeSeed(), maphash.MakeSeed()}

// seenKeyOf hashes an entry's key fields: strings length-prefixed, so
// that no two different field lists write the same bytes.
func seenKeyOf(kind byte, id, cluster string, start, latency int64) seenKey {
	var k seenKey
	var b [8]byte
	for i, seed := range seenSeeds {
		var h maphash.Hash
		h.SetSeed(seed)
		_ = h.WriteByte(kind)
		for _, s := range [2]string{id, cluster} {
			binary.LittleEndian.PutUint64(b[:], uint64(len(s)))
			_, _ = h.Write(b[:])
			_, _ = h.WriteString(s)
		}
		for _, x := range [2]int64{start, latency} {
			binary.LittleEndian.PutUint64(b[:], uint64(x))
			_, _ = h.Write(b[:])
		}
		k[i] = h.Sum64()
	}
	return k
}

func (t *tryLog) key() seenKey {
	return seenKeyOf('t', t.requestID, t.cluster, t.start.UnixNano(), int64(t.latency))
}

func (r *requestLog) key() seenKey {
	return seenKeyOf('r', r.requestID, "", r.start.UnixNano(), 0)
}

// duplicate reports whether an entry with this key was taken already (and
// remembers it otherwise). Called with mu held.
func (j *joiner) duplicate(key seenKey, now time.Time) bool {
	if _, ok := j.seen[key]; ok {
		return true
	}
	at := now.UnixNano()
	j.seen[key] = at
	j.seenQ = append(j.seenQ, seenEntry{key, at})
	return false
}

// pendingFor finds or starts the request id's join. Called with mu held;
// out receives a join given up to make room.
func (j *joiner) pendingFor(id string, now time.Time, out []joined) (*pendingJoin, []joined) {
	if p := j.pending[id]; p != nil {
		return p, out
	}
	for len(j.pending) >= j.max && j.deadlines.Len() > 0 {
		out = append(out, j.finish(j.deadlines[0], now)...)
	}
	p := &pendingJoin{id: id, at: -1}
	j.pending[id] = p
	j.schedule(p, now.Add(j.waitRequest))
	return p, out
}

// schedule sets p's deadline (p waiting, in pending).
func (j *joiner) schedule(p *pendingJoin, at time.Time) {
	p.deadline = at
	if p.at >= 0 {
		heap.Fix(&j.deadlines, p.at)
		return
	}
	heap.Push(&j.deadlines, p)
}

// addTry takes a try's entry; it returns the joins it completed.
func (j *joiner) addTry(t tryLog, now time.Time) []joined {
	j.mu.Lock()
	defer j.mu.Unlock()
	if t.module {
		// The module's try comes right after its request's entry, in the
		// same message (AppendOutcomes): it is a copy exactly when that
		// entry was one. The duplicate memory keeps one entry per request
		// of the module, not two (D135: its map was a tenth of the
		// gateway's CPU on a keyed load).
		if i := slices.Index(j.dups[:], t.requestID); i >= 0 && t.requestID != "" {
			j.dups[i] = ""
			return nil
		}
	} else if j.duplicate(t.key(), now) {
		return nil
	}
	p, out := j.pendingFor(t.requestID, now, nil)
	p.tries = append(p.tries, t)
	return append(out, j.tryComplete(p, now)...)
}

// addRequest takes a request's entry; it returns the joins it completed.
func (j *joiner) addRequest(r requestLog, now time.Time) []joined {
	j.mu.Lock()
	defer j.mu.Unlock()
	if j.duplicate(r.key(), now) {
		j.dups[j.dupNext] = r.requestID
		j.dupNext = (j.dupNext + 1) % len(j.dups)
		if r.ack != nil {
			// Sent again after a reconnect: the first copy is reported.
			r.ack.release()
		}
		return nil
	}
	if i := slices.Index(j.dups[:], r.requestID); i >= 0 {
		j.dups[i] = "" // a new request with a copy's id: its try is new
	}
	p, out := j.pendingFor(r.requestID, now, nil)
	if p.req != nil {
		// Another request with the same id (a client's own x-request-id)
		// is waiting for its tries: give it up with what it has.
		out = append(out, j.finish(p, now)...)
		p, out = j.pendingFor(r.requestID, now, out)
	}
	rc := r
	p.req = &rc
	j.schedule(p, now.Add(j.waitTries))
	return append(out, j.tryComplete(p, now)...)
}

// tryComplete ends p's join when its request entry and all its tries are
// here. Called with mu held.
func (j *joiner) tryComplete(p *pendingJoin, now time.Time) []joined {
	if p.req == nil {
		return nil
	}
	mine, _ := p.split()
	if len(mine) < p.req.attempts {
		return nil
	}
	return j.finish(p, now)
}

// split parts p's tries into those within its request's time (ordered by
// start) and the others (another request that reused the id).
func (p *pendingJoin) split() (mine, others []tryLog) {
	if p.req == nil {
		return nil, p.tries
	}
	from := p.req.start.Add(-time.Millisecond)
	to := p.req.start.Add(p.req.duration + time.Millisecond)
	if len(p.tries) == 1 {
		// The common case (one try, D115): no copy, nothing to order.
		if t := p.tries[0]; p.req.start.IsZero() || t.start.IsZero() || (!t.start.Before(from) && !t.start.After(to)) {
			return p.tries, nil
		}
		return nil, p.tries
	}
	for _, t := range p.tries {
		if p.req.start.IsZero() || t.start.IsZero() || (!t.start.Before(from) && !t.start.After(to)) {
			mine = append(mine, t)
		} else {
			others = append(others, t)
		}
	}
	sort.SliceStable(mine, func(a, b int) bool {
		if mine[a].module != mine[b].module {
			return mine[b].module // the module's try is the last
		}
		return mine[a].start.Before(mine[b].start)
	})
	return mine, others
}

// finish ends p: its request with its tries, and tries of another request
// that reused the id keep waiting (from now). Called with mu held.
func (j *joiner) finish(p *pendingJoin, now time.Time) []joined {
	mine, others := p.split()
	delete(j.pending, p.id)
	if p.at >= 0 {
		heap.Remove(&j.deadlines, p.at)
	}
	var out []joined
	if p.req != nil {
		out = append(out, joined{req: p.req, tries: mine})
	} else {
		sort.SliceStable(others, func(a, b int) bool { return others[a].start.Before(others[b].start) })
		if len(others) > 0 {
			out = append(out, joined{tries: others})
		}
		return out
	}
	if len(others) > 0 {
		q := &pendingJoin{id: p.id, tries: others, at: -1}
		j.pending[p.id] = q
		j.schedule(q, now.Add(j.waitRequest))
	}
	return out
}

// sweep gives up the joins whose wait is over, and forgets old duplicates.
func (j *joiner) sweep(now time.Time) []joined {
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []joined
	for j.deadlines.Len() > 0 && !j.deadlines[0].deadline.After(now) {
		out = append(out, j.finish(j.deadlines[0], now)...)
	}
	n := 0
	for n < len(j.seenQ) && now.UnixNano()-j.seenQ[n].at > int64(joinSeenFor) {
		delete(j.seen, j.seenQ[n].key)
		n++
	}
	if n > 0 {
		j.seenQ = append(j.seenQ[:0], j.seenQ[n:]...)
	}
	// The duplicate memory is bounded as the joins are.
	for len(j.seenQ) > 4*j.max {
		delete(j.seen, j.seenQ[0].key)
		j.seenQ = j.seenQ[1:]
	}
	return out
}

// size is the number of requests waiting (tests).
func (j *joiner) size() int {
	j.mu.Lock()
	defer j.mu.Unlock()
	return len(j.pending)
}
