package gateway

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"google.golang.org/grpc"

	"github.com/llmgate/llmgate/extproc"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/xds"
)

// Shared state for the module (docs/architecture.md D67): with Redis the
// module serves what it can, and the gateway brings it, off the request
// path, what other instances put in Redis.

// cooldownPoll is how often the gateway reads the cooldown keys of the
// config's deployments from Redis besides the announcements it hears.
const cooldownPoll = time.Second

// moduleStore wraps the gateway's store so that the module hears of every
// cooldown: this instance's as they start (coolingStore), and with Redis
// every other instance's (announced on Redis pub/sub, and polled).
func (g *Gateway) moduleStore(ctx context.Context, st store.Store) store.Store {
	if r, ok := st.(*store.Redis); ok {
		go r.WatchCooldowns(ctx, g.deploymentIDs, cooldownPoll, g.cooled)
	}
	cs := &coolingStore{Store: st, cooled: g.cooled}
	if lz := g.serveLeases(ctx, cs); lz != nil {
		// The module, every try's upstream filter, counts the tries in
		// flight (D77).
		lz.inflight = xds.ModuleUpstream(g.xdsOptions())
		return &leaseViewStore{Store: cs, lz: lz}
	}
	return cs
}

// deploymentIDs are the deployments of the config in force.
func (g *Gateway) deploymentIDs() []string {
	ext := g.moduleTables.ext.Load()
	if ext == nil {
		return nil
	}
	st := ext.State()
	if st == nil {
		return nil
	}
	ds := st.Router.Model().Deployments
	ids := make([]string, 0, len(ds))
	for _, d := range ds {
		if !d.Wildcard && !d.Mock() {
			ids = append(ids, d.ID)
		}
	}
	return ids
}

// sharedRedis is the Redis store under the gateway's store (ok false: the
// store is in memory).
func sharedRedis(st store.Store) (*store.Redis, bool) {
	if v, ok := st.(*leaseViewStore); ok {
		st = v.Store
	}
	if c, ok := st.(*coolingStore); ok {
		st = c.Store
	}
	r, ok := st.(*store.Redis)
	return r, ok
}

// The lease server (D67, extproc/modulelimits.go): rpm allowance leased
// from the store per deployment per UTC minute, topped up from the module's
// reports before it runs out, and the counter view refreshed every
// leaseViewEvery, sent to the module on the lease stream.

// leaseViewEvery is how often the counter view is read from the store and
// sent to the module.
const leaseViewEvery = 100 * time.Millisecond

// leaseAhead is how much traffic a lease covers: a top-up takes the
// allowance of about this long at the recent rate (at least 1 request, at
// most a hundredth of the limit, so that one instance never holds much of
// the limit unused).
const leaseAhead = 250 * time.Millisecond

type leaser struct {
	ls store.Leaser
	st store.Store
	// model is the config in force's model (nil: none yet).
	model func() *model.Model
	now   func() time.Time

	mu    sync.Mutex
	wins  map[string]*gwLease
	view  map[string]store.DeploymentState
	viewM int64    // the UTC minute the view was read in
	ids   []string // the deployments of the last table
	idsM  int64    // the UTC minute of the last table
	conns map[*leaseConn]bool
	kick  chan struct{}
	// inflight: the module counts every try in flight (D77); par is its
	// last report of the counts (under mu).
	inflight bool
	par      map[string]int64
	// entity: the key cache's limits of a limited entity's counter; ents:
	// the counters the module asked for (D83, modulelimits_keys.go).
	entity atomic.Pointer[limitSource]
	ents   map[string]*entWin
}

// gwLease is one deployment's lease window on the gateway's side.
type gwLease struct {
	minute, limit int64
	granted, used int64
	low           int64
	rate          float64 // requests per second, smoothed
	seen          int64   // used when the rate was last updated
	count         int64   // the store's counter after the last lease
	// demand: this instance's module handed a request on for want of a
	// lease in the window (a limit under LeaseOnDemandRPM is leased only
	// then: never for an instance that does not send the deployment
	// anything, nor for plans the module does not charge).
	demand bool
	rateAt time.Time
}

type leaseConn struct {
	mu sync.Mutex
	s  extproc.LeaseConn
}

func (c *leaseConn) send(t *extproc.LeaseTable) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return extproc.SendLease(c.s, t)
}

// serveLeases serves the lease stream on the work dir's lease socket when
// the store can lease (memory or Redis); nil when it does not.
func (g *Gateway) serveLeases(ctx context.Context, st store.Store) *leaser {
	base := st
	if c, ok := base.(*coolingStore); ok {
		base = c.Store
	}
	ls, ok := base.(store.Leaser)
	if !ok || g.workDir == "" {
		return nil
	}
	l, err := net.Listen("unix", filepath.Join(g.workDir, extproc.ModuleLeaseSocket))
	if err != nil {
		g.log.Warn("module leases not served; limited deployments stay on ext_proc", "error", err.Error())
		return nil
	}
	lz := newLeaser(ls, st, g.configModel)
	srv := grpc.NewServer()
	extproc.RegisterLeaseServer(srv, lz.handle)
	go func() { _ = srv.Serve(l) }()
	go func() { <-ctx.Done(); srv.Stop() }()
	go lz.loop(ctx)
	g.moduleTables.leases = true
	return lz
}

// leaseReserve is how many requests of a small rpm limit (under
// LeaseOnDemandRPM) are never leased: counted by the ext_proc path's Begin.
func leaseReserve(limit int64) int64 { return max(2, limit/2) }

func newLeaser(ls store.Leaser, st store.Store, m func() *model.Model) *leaser {
	return &leaser{ls: ls, st: st, model: m, now: time.Now, wins: map[string]*gwLease{}, conns: map[*leaseConn]bool{}, kick: make(chan struct{}, 1)}
}

// configModel is the model of the config in force (nil: none yet).
func (g *Gateway) configModel() *model.Model {
	ext := g.moduleTables.ext.Load()
	if ext == nil || ext.State() == nil {
		return nil
	}
	return ext.State().Router.Model()
}

// handle serves one module connection: the current table at once, then
// every table the loop sends; the module's reports update the windows.
func (lz *leaser) handle(s grpc.ServerStream) error {
	c := &leaseConn{s: s}
	lz.mu.Lock()
	lz.conns[c] = true
	lz.mu.Unlock()
	defer func() {
		lz.mu.Lock()
		delete(lz.conns, c)
		lz.mu.Unlock()
	}()
	lz.poke()
	for {
		var u extproc.LeaseUse
		if err := extproc.RecvLease(s, &u); err != nil {
			return err
		}
		lz.report(&u)
	}
}

// report takes in what the module used and wants.
func (lz *leaser) report(u *extproc.LeaseUse) {
	lz.mu.Lock()
	if lz.inflight {
		lz.par = u.InFlight // (a deployment left out has nothing in flight)
	}
	now := lz.now()
	for id, x := range u.Deps {
		if lz.deployment(id) || !lz.reportEntityLocked(id, x.Want, now) {
			if x.Limit == 0 {
				continue
			}
		}
		if w := lz.wins[id]; w != nil && w.minute == x.Minute && w.limit == x.Limit {
			if x.Used > w.used {
				w.used = min(x.Used, w.granted)
			}
			w.demand = w.demand || x.Want
		}
	}
	lz.mu.Unlock()
	lz.poke()
}

func (lz *leaser) poke() {
	select {
	case lz.kick <- struct{}{}:
	default:
	}
}

func (lz *leaser) loop(ctx context.Context) {
	t := time.NewTicker(leaseViewEvery)
	defer t.Stop()
	for {
		view := false
		select {
		case <-ctx.Done():
			return
		case <-lz.kick:
		case <-t.C:
			view = true
		}
		lz.round(ctx, view)
	}
}

// round tops up the leases that ran low, reads the view when asked, and
// sends the table.
func (lz *leaser) round(ctx context.Context, readView bool) {
	m := lz.model()
	if m == nil {
		return
	}
	lz.mu.Lock()
	n := len(lz.conns)
	lz.mu.Unlock()
	if n == 0 {
		return // no module: nothing leased, nothing wasted
	}
	usage := m.Routing.Strategy == router.UsageBased || m.Routing.Strategy == router.UsageBasedV2
	now := lz.now()
	minute := now.Unix() / 60
	var viewIDs []string
	var wants []want
	lz.mu.Lock()
	for _, d := range m.Deployments {
		if d.Mock() || d.Wildcard || d.Limits.MaxParallel > 0 && !lz.inflight {
			continue
		}
		if d.Limits.Counted() || usage {
			viewIDs = append(viewIDs, d.ID)
		}
		if d.Limits.RPM == 0 {
			continue
		}
		if x, ok := lz.windowLocked(d.ID, d.Limits.RPM, d.Limits.RPM < extproc.LeaseOnDemandRPM, false, now, readView); ok {
			wants = append(wants, x)
		}
	}
	// Keys', users', teams', members' and customers' counters the module
	// asked for (D83): viewed, and their rpm leased on demand.
	viewIDs, missing := lz.entitiesLocked(viewIDs, &wants, now, readView)
	lz.mu.Unlock()
	for _, x := range wants {
		g, count, err := lz.ls.Lease(ctx, x.id, now.Unix(), x.chunk, x.cap)
		if err != nil {
			continue
		}
		lz.mu.Lock()
		if w := lz.wins[x.id]; w != nil && w.minute == minute && w.limit == x.lim {
			w.granted += g
			w.count = count
		}
		lz.mu.Unlock()
	}
	var view map[string]store.DeploymentState
	if (readView || missing) && len(viewIDs) > 0 {
		v, err := lz.st.Read(ctx, viewIDs, store.ReadOptions{IO: m.Routing.IOLimits, DayStart: m.DayStart})
		if err == nil {
			view = v
		}
	}
	lz.mu.Lock()
	if view != nil {
		if lz.viewM == minute {
			// A try begun while the view was read is in the old one
			// (begun): counters only grow within a minute.
			for id, st := range lz.view {
				if v, ok := view[id]; ok {
					v.RPM, v.TPM = max(v.RPM, st.RPM), max(v.TPM, st.TPM)
					v.ITPM, v.OTPM = max(v.ITPM, st.ITPM), max(v.OTPM, st.OTPM)
					v.RPD, v.TPD = max(v.RPD, st.RPD), max(v.TPD, st.TPD)
					view[id] = v
				}
			}
		}
		lz.view, lz.viewM = view, minute
	}
	lz.ids, lz.idsM = viewIDs, minute
	conns, t := lz.tableLocked(minute)
	lz.mu.Unlock()
	for _, c := range conns {
		_ = c.send(t)
	}
}

// want is a lease to take from the store.
type want struct {
	id              string
	chunk, lim, cap int64 // cap: the counter a lease may take it to
}

// windowLocked updates counter id's lease window (rpm limit rpm) for the
// round and says whether a lease is to be taken: onDemand, only once the
// module asked for one in the window (D72); carry: a new minute's window
// starts with the demand when the last minute's lease was used (D83).
func (lz *leaser) windowLocked(id string, rpm int64, onDemand, carry bool, now time.Time, readView bool) (want, bool) {
	minute := now.Unix() / 60
	w := lz.wins[id]
	if w == nil || w.minute != minute || w.limit != rpm {
		nw := &gwLease{minute: minute, limit: rpm, rateAt: now}
		if w != nil {
			nw.rate = w.rate
			nw.demand = carry && w.used > 0 && w.minute == minute-1
		}
		w = nw
		lz.wins[id] = w
	}
	if readView {
		if dt := now.Sub(w.rateAt).Seconds(); dt > 0 {
			w.rate = 0.5*w.rate + 0.5*float64(w.used-w.seen)/dt
			w.seen, w.rateAt = w.used, now
		}
	}
	if onDemand && !w.demand {
		return want{}, false // (the window is in the table: the module hands on)
	}
	chunk := max(min(int64(w.rate*leaseAhead.Seconds())+1, rpm/extproc.LeaseChunkDivisor), 1)
	w.low = chunk / 2
	if w.granted-w.used > w.low {
		return want{}, false
	}
	limCap := rpm
	if limCap < extproc.LeaseOnDemandRPM {
		// The last requests of a small limit are counted one by one
		// (ext_proc's Begin): a lease granted while this instance's last
		// requests race to the limit through ext_proc would be lost to
		// every instance.
		limCap -= leaseReserve(limCap)
	}
	return want{id, chunk, rpm, limCap}, true
}

// tableLocked is the table of the last round's deployments and the
// connections to send it on (under lz.mu).
func (lz *leaser) tableLocked(minute int64) ([]*leaseConn, *extproc.LeaseTable) {
	t := &extproc.LeaseTable{Deps: make(map[string]extproc.LeaseDep, len(lz.ids))}
	for _, id := range lz.ids {
		if _, in := lz.view[id]; lz.ents[id] != nil && (lz.viewM != minute || !in) {
			continue // an entity's counters not read yet this minute (D83)
		}
		var st store.DeploymentState
		if lz.viewM == minute {
			st = lz.view[id] // (a view of the minute before counts nothing now)
		} else if lz.viewM == minute-1 {
			// but its day's counts, until this minute's view (D180; at
			// a day's reset they hold its requests back ≤ one round)
			st.RPD, st.TPD = lz.view[id].RPD, lz.view[id].TPD
		}
		d := extproc.LeaseDep{Minute: minute, RPM: st.RPM, TPM: st.TPM, IT: st.ITPM, OT: st.OTPM, RD: st.RPD, TD: st.TPD}
		if w := lz.wins[id]; w != nil && w.minute == minute {
			d.Limit, d.Granted, d.Low = w.limit, w.granted, w.low
			d.RPM = max(d.RPM, w.count)
		}
		t.Deps[id] = d
	}
	conns := make([]*leaseConn, 0, len(lz.conns))
	for c := range lz.conns {
		conns = append(conns, c)
	}
	return conns, t
}

// begun counts a try the ext_proc path's Begin counted in the store
// (rpm: the counter after it) in the view, and sends the module the table
// before Begin returns: the module's x-ratelimit-remaining-requests (and
// its plans) see the try from the next request on, not 100 ms later when
// the view is read again.
func (lz *leaser) begun(id string, rpm int64, at time.Time) {
	minute := at.Unix() / 60
	lz.mu.Lock()
	if lz.idsM != minute || len(lz.conns) == 0 {
		lz.mu.Unlock()
		return
	}
	moved := false
	if w := lz.wins[id]; w != nil && w.minute == minute && rpm > w.count {
		w.count, moved = rpm, true
	}
	if lz.viewM == minute {
		if st, ok := lz.view[id]; ok && rpm > st.RPM {
			st.RPM = rpm
			lz.view[id], moved = st, true
		}
	}
	if !moved {
		lz.mu.Unlock()
		return
	}
	conns, t := lz.tableLocked(minute)
	lz.mu.Unlock()
	for _, c := range conns {
		_ = c.send(t)
	}
}

// leaseViewStore is the gateway's store when it serves leases: a try the
// ext_proc path counts (Begin) is in the module's view at once.
type leaseViewStore struct {
	store.Store
	lz *leaser
}

func (s *leaseViewStore) Begin(ctx context.Context, id string, lim store.Limits) (store.BeginResult, error) {
	if s.lz.inflight && s.lz.deployment(id) {
		// The module counted the try (D77): one count per try. (Other
		// callers count their own ids here: virtual keys' limits.)
		lim.MaxParallel = 0
	}
	res, err := s.Store.Begin(ctx, id, lim)
	if err == nil && res.Allowed {
		now := s.lz.now()
		s.lz.begun(id, res.RPM, now)
		// A key's count as this instance sees it: its module's unused
		// lease is not a request yet (x-litellm-key-remaining-requests,
		// D83), as the module's own count says.
		res.RPM = max(res.RPM-s.lz.unusedEntityLease(id, now), 1)
	}
	return res, err
}

// deployment reports whether id is a deployment of the config in force
// whose tries the module counts (not a mock, answered by the gateway, nor
// a `model: "*"` deployment, which the module's upstream table leaves out).
func (lz *leaser) deployment(id string) bool {
	m := lz.model()
	if m == nil {
		return false
	}
	d, ok := m.Deployment(id)
	return ok && !d.Mock() && !d.AnyProvider
}

// Read implements store.Store: when the module counts the tries in flight
// (D77), the in-flight counts are the module's last report — the store's
// own count would miss every try the module's plans send.
func (s *leaseViewStore) Read(ctx context.Context, ids []string, opt store.ReadOptions) (map[string]store.DeploymentState, error) {
	out, err := s.Store.Read(ctx, ids, opt)
	if err != nil || !s.lz.inflight {
		return out, err
	}
	s.lz.mu.Lock()
	defer s.lz.mu.Unlock()
	for id, st := range out {
		if s.lz.deployment(id) {
			st.InFlight = s.lz.par[id] // (absent: none in flight)
			out[id] = st
		}
	}
	return out, nil
}
