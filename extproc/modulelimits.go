package extproc

import (
	"context"
	"encoding/json"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/protobuf/types/known/wrapperspb"

	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/router"
)

// Deployment limits in the module without a round trip per request
// (docs/architecture.md D67). The gateway leases rpm allowance per
// deployment per UTC minute from its store (store.Leaser: the same counter
// the ext_proc path's Begin counts in, capped at the limit) and hands it to
// the module with a view of every deployment's counters (rpm, tpm this
// minute), refreshed from the store every 100 ms, over a stream of their
// own (LeaseStreamDesc). The module spends the allowance locally — the
// first try of a plan when it plans it, every later try in its upstream
// filter — and reports what it used, so that the gateway tops the lease up
// before it runs out. A deployment whose lease is spent (or not there yet)
// hands its groups to the ext_proc filter, which counts in the store as
// before: the requests of every instance never exceed a limit.

// LeaseTable is what the gateway sends the module: per deployment, the
// current lease window and the counter view.
type LeaseTable struct {
	Deps map[string]LeaseDep `json:"d"`
}

// LeaseDep is one deployment's lease and view.
type LeaseDep struct {
	// Minute is the lease window's UTC minute (unix seconds / 60); Limit
	// the rpm limit it was leased under (0: no lease, the view only). A
	// new minute or another limit is a new window: nothing used yet.
	Minute int64 `json:"m"`
	Limit  int64 `json:"l,omitempty"`
	// Granted is the allowance leased to this instance in the window so
	// far; Low: the module asks for a top-up when what is left falls to it.
	Granted int64 `json:"g,omitempty"`
	Low     int64 `json:"w,omitempty"`
	// RPM and TPM are the store's counters this minute (every instance's;
	// leased allowance counts in RPM).
	RPM int64 `json:"r,omitempty"`
	TPM int64 `json:"t,omitempty"`
	// IT, OT are this minute's input and output tokens, RD, TD the day's
	// tries and tokens (itpm, otpm, rpd, tpd: D180).
	IT int64 `json:"it,omitempty"`
	OT int64 `json:"ot,omitempty"`
	RD int64 `json:"rd,omitempty"`
	TD int64 `json:"td,omitempty"`
}

// LeaseUse is what the module sends the gateway: per deployment, what it
// used of the window's allowance.
type LeaseUse struct {
	Deps map[string]LeaseUsed `json:"d"`
	// InFlight is the module's count of tries in flight per deployment
	// (D77: the module counts every try when the gateway leaves
	// max_parallel_requests and least-busy to it).
	InFlight map[string]int64 `json:"f,omitempty"`
}

// LeaseUsed is one deployment's use in a window.
type LeaseUsed struct {
	Minute int64 `json:"m"`
	Limit  int64 `json:"l"`
	Used   int64 `json:"u"`
	// Want: the module handed a request on for want of a lease in the
	// window (a limit under LeaseOnDemandRPM is leased only then, D72).
	Want bool `json:"n,omitempty"`
}

// leaseWin is one deployment's window in the module: granted and used
// packed in one word so that a charge and a grant never race.
type leaseWin struct {
	minute, limit int64
	gu            atomic.Uint64 // granted << 32 | used
	low           atomic.Int64
	rpm, tpm      atomic.Int64
	local         atomic.Int64 // tokens of this module's answers in the window
	// The view's counters of D180, and this module's answers' share of
	// them in the window (localIn, localOut, localTries).
	it, ot, rd, td                atomic.Int64
	localIn, localOut, localTries atomic.Int64
	want                          atomic.Bool // a request was handed on for want of a lease
	seen                          atomic.Bool // a key's tpm-only counter was read (D83: reported as in use)
}

func (w *leaseWin) left() int64 {
	v := w.gu.Load()
	return int64(v>>32) - int64(v&0xffffffff)
}

// ModuleLimits is the module's leases and counter view, shared by every
// config the module applies. Safe for concurrent use.
type ModuleLimits struct {
	par     sync.Map   // deployment id → *atomic.Int64: tries in flight (modulelimits_inflight.go)
	wants   sync.Map   // counter id → struct{}: a key's counter asked for (modulelimits_keys.go)
	mu      sync.Mutex // applies
	deps    atomic.Pointer[map[string]*leaseWin]
	applied atomic.Int64 // unix nanoseconds of the last table
	changed atomic.Bool  // used moved since the last report
	low     chan struct{}
	now     func() time.Time
}

// NewModuleLimits is an empty lease table.
func NewModuleLimits() *ModuleLimits {
	l := &ModuleLimits{low: make(chan struct{}, 1), now: time.Now}
	l.deps.Store(&map[string]*leaseWin{})
	return l
}

// LeaseOnDemandRPM: a deployment whose rpm limit is under it is leased only
// once this instance had a try of it in the minute (D72): a lease left
// unused when its instance's traffic stops is allowance no other instance
// gets this minute (at most a 1/LeaseChunkDivisor of the limit, at least
// one request, per instance), which a small limit cannot spare for the
// instances that send the deployment nothing. The first try of the minute
// on each instance goes through the ext_proc path, which counts it.
const LeaseOnDemandRPM = 100

// LeaseChunkDivisor bounds a lease: at most limit / LeaseChunkDivisor.
const LeaseChunkDivisor = 100

// leaseFresh bounds the age of the view the module plans with: a gateway
// that stopped sending hands the limited groups back to ext_proc.
const leaseFresh = time.Second

// Apply installs a table from the gateway.
func (l *ModuleLimits) Apply(t *LeaseTable) {
	l.mu.Lock()
	defer l.mu.Unlock()
	old := *l.deps.Load()
	next := make(map[string]*leaseWin, len(t.Deps))
	for id, d := range t.Deps {
		w := old[id]
		if w == nil || w.minute != d.Minute || w.limit != d.Limit {
			nw := &leaseWin{minute: d.Minute, limit: d.Limit}
			if w != nil && w.minute == d.Minute {
				nw.local.Store(w.local.Load()) // another limit, the same minute's tokens
				nw.localIn.Store(w.localIn.Load())
				nw.localOut.Store(w.localOut.Load())
				nw.localTries.Store(w.localTries.Load())
			}
			w = nw
		}
		for {
			v := w.gu.Load()
			if int64(v>>32) >= d.Granted {
				break
			}
			if w.gu.CompareAndSwap(v, uint64(d.Granted)<<32|v&0xffffffff) {
				break
			}
		}
		w.low.Store(d.Low)
		w.rpm.Store(d.RPM)
		w.tpm.Store(d.TPM)
		w.it.Store(d.IT)
		w.ot.Store(d.OT)
		w.rd.Store(d.RD)
		w.td.Store(d.TD)
		next[id] = w
		l.wants.Delete(id)
	}
	l.deps.Store(&next)
	l.applied.Store(l.now().UnixNano())
}

// Used is the module's use of every window it holds.
func (l *ModuleLimits) Used() LeaseUse {
	u := LeaseUse{Deps: map[string]LeaseUsed{}, InFlight: l.inFlightAll()}
	for id, w := range *l.deps.Load() {
		if w.limit > 0 {
			u.Deps[id] = LeaseUsed{Minute: w.minute, Limit: w.limit, Used: int64(w.gu.Load() & 0xffffffff), Want: w.want.Load()}
		} else if w.seen.Swap(false) {
			u.Deps[id] = LeaseUsed{Minute: w.minute} // still in use: the gateway keeps viewing it
		}
	}
	minute := l.now().Unix() / 60
	l.wants.Range(func(k, _ any) bool {
		if id := k.(string); u.Deps[id].Limit == 0 {
			u.Deps[id] = LeaseUsed{Minute: minute, Want: true} // (D83)
		}
		return true
	})
	return u
}

// Changed reports (and clears) whether anything was used since the last call.
func (l *ModuleLimits) Changed() bool { return l.changed.Swap(false) }

// Low is signalled when a charge left a lease at or under its low mark.
func (l *ModuleLimits) Low() <-chan struct{} { return l.low }

func (l *ModuleLimits) fresh(now time.Time) bool {
	return now.UnixNano()-l.applied.Load() < int64(leaseFresh)
}

// window is deployment id's window if it is this minute's.
func (l *ModuleLimits) window(id string, now time.Time) *leaseWin {
	w := (*l.deps.Load())[id]
	if w == nil || w.minute != now.Unix()/60 {
		return nil
	}
	return w
}

// Charge takes one request of deployment id's lease (false: none left).
func (l *ModuleLimits) Charge(id string) bool {
	w := l.window(id, l.now())
	if w == nil || w.limit == 0 {
		return false
	}
	for {
		v := w.gu.Load()
		g, u := v>>32, v&0xffffffff
		if u >= g {
			l.signalLow()
			return false
		}
		if w.gu.CompareAndSwap(v, v+1) {
			l.changed.Store(true)
			if int64(g-u-1) <= w.low.Load() {
				l.signalLow()
			}
			return true
		}
	}
}

func (l *ModuleLimits) signalLow() {
	select {
	case l.low <- struct{}{}:
	default:
	}
}

// serves reports whether the module may plan deployment d: its view is
// fresh and this minute's, and an rpm lease has allowance left — or the
// deployment is at its limit for every instance (the plan leaves it out,
// as the ext_proc path's would).
func (l *ModuleLimits) serves(d *model.Deployment, usage, par bool, now time.Time) bool {
	if d.Mock() || d.Limits.MaxParallel > 0 && !par {
		return false // (par: the module counts in-flight tries, D77)
	}
	if !d.Limits.Counted() && !usage {
		return true
	}
	if !l.fresh(now) {
		return false
	}
	w := l.window(d.ID, now)
	if w == nil {
		return false
	}
	if d.Limits.RPM > 0 && w.left() < 1 && w.rpm.Load() < d.Limits.RPM {
		if d.Limits.RPM < LeaseOnDemandRPM && w.gu.Load()>>32 == 0 {
			// Nothing leased yet (on demand, D72): plan, and leaseFirst
			// asks for a lease when the plan is one the module charges.
			return true
		}
		return false // a top-up is coming; ext_proc counts meanwhile
	}
	return true
}

// state is deployment id's counters for the module's plan: the view's
// tpm, and an rpm that leaves the deployment out exactly when its lease is
// spent and the store's counter is at its limit (healthy: rpm+1 > limit).
func (l *ModuleLimits) state(id string, now time.Time) (store.DeploymentState, bool) {
	w := l.window(id, now)
	if w == nil {
		return store.DeploymentState{}, false
	}
	tpm := max(w.tpm.Load(), w.local.Load())
	return store.DeploymentState{RPM: max(w.rpm.Load()-w.left(), 0), TPM: tpm,
		ITPM: max(w.it.Load(), w.localIn.Load()), OTPM: max(w.ot.Load(), w.localOut.Load()),
		// (the view's day counts, at least this minute's own answers)
		RPD: max(w.rd.Load(), w.localTries.Load()), TPD: max(w.td.Load(), tpm)}, true
}

// Deployment is the deployment of plan entry n (Envoy's attempt count,
// from 1) when a window is kept for it ("": none).
func (l *ModuleLimits) Deployment(p *RespPlan, n int) string {
	if len(*l.deps.Load()) == 0 || n < 1 || n > len(p.Entries) {
		return ""
	}
	id := respHeader(p, n-1, "x-litellm-model-id")
	if (*l.deps.Load())[id] == nil {
		return ""
	}
	return id
}

// AddTokens counts n tokens of an answer of deployment id in its window:
// the plan reads the larger of the view's tpm and this module's own count,
// so that a request right after an answer sees its tokens before the
// store has them.
func (l *ModuleLimits) AddTokens(id string, n int64) {
	if w := l.window(id, l.now()); w != nil && n > 0 {
		w.local.Add(n)
	}
}

// AddUsage counts an answer of deployment id in its window: its tokens
// (AddTokens), its input tokens less the cached ones and its output tokens
// (itpm, otpm), the try itself (rpd), until the view has them (D180).
func (l *ModuleLimits) AddUsage(id string, u *RespUsage) {
	w := l.window(id, l.now())
	if w == nil {
		return
	}
	n := u.Total
	if !u.HasTotal {
		n = u.Prompt + u.Completion
	}
	if n > 0 {
		w.local.Add(n)
	}
	w.localIn.Add(max(u.Prompt-u.Cached, 0))
	w.localOut.Add(max(u.Completion, 0))
	w.localTries.Add(1)
}

// leaseStore is the module router's store with limits: the lease view for
// Read, the module's memory for the rest.
type leaseStore struct {
	*store.Memory
	l atomic.Pointer[ModuleLimits]
}

// Read implements store.Store.
func (s *leaseStore) Read(ctx context.Context, ids []string, opt store.ReadOptions) (map[string]store.DeploymentState, error) {
	out := make(map[string]store.DeploymentState, len(ids))
	return out, s.ReadInto(ctx, ids, opt, out)
}

// ReadInto implements store.MapReader (the Memory's own would leave the
// leases out).
func (s *leaseStore) ReadInto(ctx context.Context, ids []string, opt store.ReadOptions, out map[string]store.DeploymentState) error {
	err := s.Memory.ReadInto(ctx, ids, opt, out)
	l := s.l.Load()
	if err != nil || l == nil {
		return err
	}
	now := l.now()
	for _, id := range ids {
		if st, ok := l.state(id, now); ok {
			out[id] = st
		}
		if n := l.InFlight(id); n > 0 {
			st := out[id]
			st.InFlight = n // the module's count of its tries (D77)
			out[id] = st
		}
	}
	return nil
}

// UseLimits makes the module plan deployments with rpm/tpm limits, and
// route by usage (usage-based-routing, -v2), from l's leases and view
// (NewModuleFilter with ModuleConfig.Leases).
func (m *ModuleFilter) UseLimits(l *ModuleLimits) {
	if m.leases == nil || l == nil {
		return
	}
	m.leases.l.Store(l)
	m.limits = l
	if m.st.keys != nil {
		m.st.keys.UseLeases(l) // keys' rpm/tpm limits (D83)
	}
	// The module counts rpm by its leases: its plans may be fast (D45).
	m.st.countCalls = false
	if m.countsTries() {
		// And in-flight tries in its upstream filter (D77): nothing waits
		// for a try's end in the attempt filter.
		m.st.trackEnd = false
	}
}

// limitBlocked reports whether deployment d keeps its groups from the
// module now: counted in the gateway's store (no leases), or leased with
// nothing left.
func (m *ModuleFilter) limitBlocked(id string, now time.Time) bool {
	if !m.counted[id] && !m.usage {
		return false
	}
	d, ok := m.st.Router.Model().Deployment(id)
	if m.limits == nil || !ok {
		return true
	}
	return !m.limits.serves(d, m.usage, m.countsTries(), now)
}

// leaseFirst takes the first try's request from its deployment's lease
// (a module-served plan with limits must be fast: its later tries are
// charged in the upstream filter); false hands the request on.
func (m *ModuleFilter) leaseFirst(a *ModuleAnswer, r *routed) bool {
	if m.limits == nil {
		return true
	}
	if a.Resp == nil || len(a.Resp.Entries) == 0 {
		// Not fast: the gateway's attempt filter counts every try — but
		// a small limit's lease would then never be spent and lost to
		// every instance: its plans go to ext_proc whole (D72).
		return !m.smallLimit(r)
	}
	if m.wantLease(a.Resp) {
		return false
	}
	id := respHeader(a.Resp, 0, "x-litellm-model-id")
	d, ok := m.st.Router.Model().Deployment(id)
	if !ok {
		return false
	}
	if d.Limits.RPM == 0 {
		return true
	}
	return m.limits.Charge(id)
}

// wantLease reports whether a fast plan reaches a deployment leased on
// demand with nothing left of its lease, and asks the gateway for one.
func (m *ModuleFilter) wantLease(p *RespPlan) bool {
	md := m.st.Router.Model()
	now := m.limits.now()
	want := false
	for i := range p.Entries {
		d, ok := md.Deployment(respHeader(p, i, "x-litellm-model-id"))
		if !ok || d.Limits.RPM == 0 || d.Limits.RPM >= LeaseOnDemandRPM {
			continue
		}
		if w := m.limits.window(d.ID, now); w == nil || w.left() < 1 {
			if w != nil && w.limit > 0 {
				w.want.Store(true)
			}
			want = true
		}
	}
	if want {
		m.limits.signalLow()
	}
	return want
}

// smallLimit reports whether a plan the module made (not fast) reaches a
// deployment leased on demand (an rpm limit under LeaseOnDemandRPM).
func (m *ModuleFilter) smallLimit(r *routed) bool {
	if r == nil {
		return false
	}
	md := m.st.Router.Model()
	for _, a := range r.plan {
		if d, ok := md.Deployment(a.GetDeploymentId()); ok && d.Limits.RPM > 0 && d.Limits.RPM < LeaseOnDemandRPM {
			return true
		}
	}
	return false
}

// respHeader is header k of plan entry i.
func respHeader(p *RespPlan, i int, k string) string {
	for _, h := range p.Entries[i].Headers {
		if h[0] == k {
			return h[1]
		}
	}
	for _, h := range p.Common {
		if h[0] == k {
			return h[1]
		}
	}
	return ""
}

// ChargeTry takes a later try's request (attempt > 1) of a module-served
// plan from deployment d's lease. A refusal is the reply the attempt filter
// gives when the store refuses a try (Begin: 429); nil when the try may go
// (or d has no rpm limit). The first try was charged when the module
// planned it (leaseFirst). Only a fast try is charged: the module plans
// fast only with leases (the ext_proc path counts calls, never fast).
func (l *ModuleLimits) ChargeTry(d *model.Deployment, attempt int) *ModuleReply {
	if l == nil || d == nil || attempt <= 1 || d.Limits.RPM == 0 || l.Charge(d.ID) {
		return nil
	}
	return limitRefusal(d, "rpm", "")
}

// leaseStrategy: the routing strategies the module serves with leases;
// least-busy when the module is every try's upstream filter (upstream) and
// counts the tries (D77).
func leaseStrategy(s string, upstream bool) bool {
	return s == "" || s == router.SimpleShuffle || s == router.UsageBased || s == router.UsageBasedV2 || upstream && s == router.LeastBusy
}

// The lease stream: one bidirectional gRPC stream on the gateway's limits
// socket, google.protobuf.BytesValue messages holding JSON — LeaseTable
// from the gateway, LeaseUse from the module.

// ModuleLeaseSocket is the lease socket's file name, beside the module's
// table socket.
const ModuleLeaseSocket = "leases.sock"

// LeaseStreamMethod is the stream's full method name.
const LeaseStreamMethod = "/llmgate.v1.ModuleLeases/Stream"

// LeaseStreamDesc describes the stream for grpc.ClientConn.NewStream.
var LeaseStreamDesc = grpc.StreamDesc{StreamName: "Stream", ServerStreams: true, ClientStreams: true}

// RegisterLeaseServer serves the lease stream on s: handle runs for each
// module connection.
func RegisterLeaseServer(s *grpc.Server, handle func(grpc.ServerStream) error) {
	s.RegisterService(&grpc.ServiceDesc{
		ServiceName: "llmgate.v1.ModuleLeases",
		HandlerType: (*any)(nil),
		Streams: []grpc.StreamDesc{{StreamName: "Stream", ServerStreams: true, ClientStreams: true,
			Handler: func(_ any, stream grpc.ServerStream) error { return handle(stream) }}},
	}, struct{}{})
}

// LeaseConn is either end of a lease stream.
type LeaseConn interface {
	SendMsg(m any) error
	RecvMsg(m any) error
}

// SendLease sends v (LeaseTable or LeaseUse) on a lease stream.
func SendLease(s LeaseConn, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return s.SendMsg(wrapperspb.Bytes(b))
}

// RecvLease receives one message of a lease stream into v.
func RecvLease(s LeaseConn, v any) error {
	var bv wrapperspb.BytesValue
	if err := s.RecvMsg(&bv); err != nil {
		return err
	}
	return json.Unmarshal(bv.GetValue(), v)
}
