package keys

import (
	"context"
	"encoding/json"
	"strconv"
	"time"

	"github.com/redis/go-redis/v9"
)

// Per-model budget windows shared across gateway instances (D73). LiteLLM's
// _PROXY_VirtualKeyModelMaxBudgetLimiter keeps each window's spend and start
// in its DualCache: in Redis when the proxy has one, so every replica counts
// every replica's spend. Here, with Redis configured, the spend sink adds an
// answered request's cost to the local window at once (the checks of this
// instance and its module see it without waiting) and queues it; a
// goroutine off the request path adds the queued costs to the windows in
// Redis (one script per window: start a new period when none is open or
// the open one has passed, else INCRBYFLOAT), takes the totals Redis answers
// as the windows' shared spend, and announces them on pub/sub so the other
// instances take them too. A periodic read of every window named by a
// model_max_budget entry catches an announcement missed while a
// subscription was reconnecting. The request checks (and the module's key
// table, which carries the windows) read memory only: no round trip per
// request. Without Redis the windows stay in process (modelbudget.go).

// WindowID names one model budget window: the entity (kind and id), the
// model_max_budget entry and its period.
type WindowID struct {
	Kind     string `json:"kind"`
	ID       string `json:"id"`
	Model    string `json:"model"`
	Duration string `json:"duration"`
}

// WindowAdd is spend to add to a window of the given period. Init: only
// where no window is open (a window rebuilt from the spend logs at start).
type WindowAdd struct {
	WindowID
	Period time.Duration
	Cost   float64
	Init   bool
}

// WindowState is a shared window's period start (unix ns) and total spend.
type WindowState struct {
	WindowID
	Start int64   `json:"start"`
	Spend float64 `json:"spend"`
}

// SharedWindows holds the model budget windows every instance counts in
// (RedisWindows). Add returns the windows' totals after the additions; Get
// the open windows among ids (an absent window is left out).
type SharedWindows interface {
	Add(ctx context.Context, adds []WindowAdd, now time.Time) ([]WindowState, error)
	Get(ctx context.Context, ids []WindowID) ([]WindowState, error)
	Publish(ctx context.Context, states []WindowState) error
	Subscribe(ctx context.Context, fn func([]WindowState))
}

// windowFlushEvery spaces the additions sent to Redis (a batch per
// interval); windowSyncEvery spaces the full reads.
const (
	windowFlushEvery = 20 * time.Millisecond
	windowSyncEvery  = 5 * time.Second
	// windowSyncBatch bounds the windows read in one pipeline.
	windowSyncBatch = 512
)

// WindowsChannel is the pub/sub channel of shared window totals.
const WindowsChannel = "llmgate:keys:model-windows"

// windowKeyPrefix: LiteLLM's cache key prefixes per entity kind (its
// model_budget_spend_cache_key and model_budget_start_time_cache_key), under
// llmgate's Redis prefix.
var windowKeyPrefix = map[string][2]string{
	winKey:     {"virtual_key_spend", "virtual_key_budget_start_time"},
	winUser:    {"user_model_spend", "user_model_budget_start_time"},
	winEndUser: {"end_user_model_spend", "end_user_budget_start_time"},
	winTeam:    {"team_model_spend", "team_model_budget_start_time"},
}

// WindowKeys are the Redis keys of a window's spend and its period's start:
// llmgate:<LiteLLM's prefix>:<entity id>:<budget model>:<budget duration>.
func WindowKeys(id WindowID) (spend, start string) {
	p, ok := windowKeyPrefix[id.Kind]
	if !ok {
		p = [2]string{id.Kind + "_model_spend", id.Kind + "_model_budget_start_time"}
	}
	tail := ":" + id.ID + ":" + id.Model + ":" + id.Duration
	return "llmgate:" + p[0] + tail, "llmgate:" + p[1] + tail
}

// windowAddScript adds ARGV[1] to the window KEYS[1] (spend) / KEYS[2]
// (start, unix ms): a window with no start, or whose period (ARGV[3] ms)
// has passed at ARGV[2] (unix ms), starts again at ARGV[2] with the cost as
// its spend, both keys expiring with the period; ARGV[4] "1" (init) adds
// nothing to an open window. Returns {start, spend}.
var windowAddScript = `
local s = redis.call('GET', KEYS[2])
if (not s) or (tonumber(ARGV[2]) - tonumber(s) >= tonumber(ARGV[3])) then
  redis.call('SET', KEYS[2], ARGV[2], 'PX', ARGV[3])
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[3])
  return {ARGV[2], ARGV[1]}
end
if ARGV[4] == '1' then
  return {s, redis.call('GET', KEYS[1]) or '0'}
end
local v = redis.call('INCRBYFLOAT', KEYS[1], ARGV[1])
return {s, v}
`

// RedisWindows keeps the windows in Redis.
type RedisWindows struct{ C *redis.Client }

// Add implements SharedWindows.
func (r RedisWindows) Add(ctx context.Context, adds []WindowAdd, now time.Time) ([]WindowState, error) {
	pipe := r.C.Pipeline()
	cmds := make([]*redis.Cmd, len(adds))
	ms := strconv.FormatInt(now.UnixMilli(), 10)
	for i, a := range adds {
		sk, tk := WindowKeys(a.WindowID)
		init := "0"
		if a.Init {
			init = "1"
		}
		cmds[i] = pipe.Eval(ctx, windowAddScript, []string{sk, tk}, strconv.FormatFloat(a.Cost, 'f', -1, 64), ms,
			strconv.FormatInt(max(a.Period.Milliseconds(), 1), 10), init)
	}
	if _, err := pipe.Exec(ctx); err != nil {
		return nil, err
	}
	out := make([]WindowState, 0, len(adds))
	for i, c := range cmds {
		v, err := c.StringSlice()
		if err != nil || len(v) != 2 {
			continue
		}
		if st, ok := windowState(adds[i].WindowID, v[0], v[1]); ok {
			out = append(out, st)
		}
	}
	return out, nil
}

func windowState(id WindowID, start, spend string) (WindowState, bool) {
	ms, err1 := strconv.ParseInt(start, 10, 64)
	f, err2 := strconv.ParseFloat(spend, 64)
	if err1 != nil || err2 != nil || f != f {
		return WindowState{}, false
	}
	return WindowState{WindowID: id, Start: ms * int64(time.Millisecond), Spend: f}, true
}

// Get implements SharedWindows.
func (r RedisWindows) Get(ctx context.Context, ids []WindowID) ([]WindowState, error) {
	pipe := r.C.Pipeline()
	cmds := make([]*redis.SliceCmd, len(ids))
	for i, id := range ids {
		sk, tk := WindowKeys(id)
		cmds[i] = pipe.MGet(ctx, tk, sk)
	}
	if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
		return nil, err
	}
	var out []WindowState
	for i, c := range cmds {
		v := c.Val()
		if len(v) != 2 {
			continue
		}
		start, ok1 := v[0].(string)
		spend, ok2 := v[1].(string)
		if !ok1 || !ok2 {
			continue
		}
		if st, ok := windowState(ids[i], start, spend); ok {
			out = append(out, st)
		}
	}
	return out, nil
}

// Publish implements SharedWindows.
func (r RedisWindows) Publish(ctx context.Context, states []WindowState) error {
	b, err := json.Marshal(states)
	if err != nil {
		return err
	}
	return r.C.Publish(ctx, WindowsChannel, b).Err()
}

// maxWindowsMessage bounds an announcement read from Redis.
const maxWindowsMessage = 4 << 20

// Subscribe implements SharedWindows; go-redis reconnects a dropped
// subscription by itself.
func (r RedisWindows) Subscribe(ctx context.Context, fn func([]WindowState)) {
	subscribe(ctx, r.C, WindowsChannel, func(payload string) {
		if len(payload) > maxWindowsMessage {
			return
		}
		var states []WindowState
		if json.Unmarshal([]byte(payload), &states) == nil {
			fn(states)
		}
	})
}

// queueWindowLocked queues a cost added to a local window for Redis (s.mu
// held).
func (s *Service) queueWindowLocked(kind, id string, l modelLimit, cost float64) {
	if s.o.Windows == nil {
		return
	}
	if s.wpend == nil {
		s.wpend, s.wflight = map[WindowID]WindowAdd{}, map[WindowID]float64{}
	}
	wid := WindowID{Kind: kind, ID: id, Model: l.model, Duration: l.dur}
	a := s.wpend[wid]
	a.WindowID, a.Period = wid, l.d
	a.Cost += cost
	s.wpend[wid] = a
	select {
	case s.wwake <- struct{}{}:
	default:
	}
}

// shareWindows runs while the service does (with SharedWindows): it sends
// the queued additions, applies what Redis and the other instances answer,
// and reads every window now and then.
func (s *Service) shareWindows() {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { <-s.stop; cancel() }()
	go s.o.Windows.Subscribe(ctx, s.applyShared)
	s.initWindows(ctx)
	s.syncWindows(ctx)
	sync := time.NewTicker(windowSyncEvery)
	defer sync.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-sync.C:
			s.syncWindows(ctx)
		case <-s.wsync:
			// A cache refresh may have brought entities whose windows
			// were announced before this instance knew them.
			s.syncWindows(ctx)
		case <-s.wwake:
			s.flushWindows(ctx)
			select { // at most one batch per interval
			case <-s.stop:
				return
			case <-time.After(windowFlushEvery):
			}
		}
	}
}

// flushWindows sends the queued additions to Redis. A failed batch is
// queued again (Redis down: the windows count locally meanwhile).
func (s *Service) flushWindows(ctx context.Context) {
	s.mu.Lock()
	if len(s.wpend) == 0 {
		s.mu.Unlock()
		return
	}
	adds := make([]WindowAdd, 0, len(s.wpend))
	for id, a := range s.wpend {
		adds = append(adds, a)
		s.wflight[id] += a.Cost
	}
	clear(s.wpend)
	s.mu.Unlock()
	actx, acancel := context.WithTimeout(ctx, 5*time.Second)
	states, err := s.o.Windows.Add(actx, adds, s.now())
	acancel()
	s.mu.Lock()
	for _, a := range adds {
		if s.wflight[a.WindowID] -= a.Cost; s.wflight[a.WindowID] <= 1e-15 {
			delete(s.wflight, a.WindowID)
		}
		if err != nil {
			p := s.wpend[a.WindowID]
			p.WindowID, p.Period = a.WindowID, a.Period
			p.Cost += a.Cost
			s.wpend[a.WindowID] = p
		}
	}
	var changed, crossed bool
	if err == nil {
		// Under the same lock as the in-flight costs leave: an older total
		// announced meanwhile cannot undercount them.
		changed, crossed = s.applySharedLocked(states)
	}
	s.mu.Unlock()
	if err != nil {
		s.log.Warn("model budget windows not added in Redis; counted here and retried", "error", err.Error())
		return
	}
	if changed {
		s.viewChanged(crossed)
	}
	pctx, pcancel := context.WithTimeout(ctx, 2*time.Second)
	if err := s.o.Windows.Publish(pctx, states); err != nil {
		s.log.Debug("model budget windows not announced", "error", err.Error())
	}
	pcancel()
}

// windowsRefreshed asks shareWindows for a full read after a cache refresh.
func (s *Service) windowsRefreshed() {
	if s.wsync == nil {
		return
	}
	select {
	case s.wsync <- struct{}{}:
	default:
	}
}

// initWindows writes the windows rebuilt from the spend logs at start to
// Redis where it has none open (Redis emptied or restarted meanwhile), so
// the first spend does not start a window without them.
func (s *Service) initWindows(ctx context.Context) {
	s.mu.Lock()
	adds := s.winit
	s.winit = nil
	s.mu.Unlock()
	if len(adds) == 0 {
		return
	}
	actx, cancel := context.WithTimeout(ctx, 5*time.Second)
	states, err := s.o.Windows.Add(actx, adds, s.now())
	cancel()
	if err != nil {
		s.log.Debug("model budget windows rebuilt from the spend logs not written to Redis", "error", err.Error())
		return
	}
	s.applyShared(states)
}

// syncWindows reads every window a model_max_budget entry with a period
// names (keys, teams, users, customers with a budget), in batches.
func (s *Service) syncWindows(ctx context.Context) {
	var ids []WindowID
	s.mu.RLock()
	add := func(kind, id string, mmb map[string]any) {
		for name := range mmb {
			if l, ok := resolveModelBudget(mmb, name); ok && l.d > 0 && l.max >= 0 {
				ids = append(ids, WindowID{Kind: kind, ID: id, Model: l.model, Duration: l.dur})
			}
		}
	}
	for t, k := range s.keys {
		add(winKey, t, k.ModelMaxBudget)
	}
	for id, t := range s.teams {
		add(winTeam, id, t.ModelMaxBudget)
	}
	for id, u := range s.users {
		add(winUser, id, u.ModelMaxBudget)
	}
	for id := range s.endUsrs {
		if b := s.endUserBudgetLocked(id); b != nil {
			add(winEndUser, id, b.ModelMaxBudget)
		}
	}
	s.mu.RUnlock()
	for len(ids) > 0 {
		n := min(len(ids), windowSyncBatch)
		gctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		states, err := s.o.Windows.Get(gctx, ids[:n])
		cancel()
		if err != nil {
			s.log.Debug("model budget windows not read from Redis", "error", err.Error())
			return
		}
		s.applyShared(states)
		ids = ids[n:]
	}
}

// entityModelBudgetLocked is the model_max_budget of a window's entity (s.mu
// held).
func (s *Service) entityModelBudgetLocked(kind, id string) map[string]any {
	switch kind {
	case winKey:
		if k := s.keys[id]; k != nil {
			return k.ModelMaxBudget
		}
	case winTeam:
		if t := s.teams[id]; t != nil {
			return t.ModelMaxBudget
		}
	case winUser:
		if u := s.users[id]; u != nil {
			return u.ModelMaxBudget
		}
	case winEndUser:
		if b := s.endUserBudgetLocked(id); b != nil {
			return b.ModelMaxBudget
		}
	}
	return nil
}

// applyShared takes shared windows' totals (applySharedLocked) and pushes
// the module's key table when a window changed (at once when one crossed
// its limit).
func (s *Service) applyShared(states []WindowState) {
	s.mu.Lock()
	changed, crossed := s.applySharedLocked(states)
	s.mu.Unlock()
	if changed {
		s.viewChanged(crossed)
	}
}

// applySharedLocked: a shared window whose period is open now replaces a
// local window of another period start; within one period the highest
// total read wins (announcements may arrive out of order), and this
// instance's additions not yet in Redis are added on top (s.mu held).
func (s *Service) applySharedLocked(states []WindowState) (changed, crossed bool) {
	now := s.now().UnixNano()
	if s.mwin == nil {
		s.mwin = map[winRef][]ModelWindow{}
	}
	for _, st := range states {
		l, ok := resolveModelBudget(s.entityModelBudgetLocked(st.Kind, st.ID), st.Model)
		if !ok || l.model != st.Model || l.dur != st.Duration || l.d <= 0 {
			continue // an entity this instance does not know (yet), or an entry changed since
		}
		if now-st.Start >= int64(l.d) {
			continue // a period that has passed
		}
		local := s.wpend[st.WindowID].Cost + s.wflight[st.WindowID]
		r := winRef{st.Kind, st.ID}
		if st.Kind == winKey {
			s.markKeyLocked(st.ID) // the module's table looks at it (D78)
		}
		ws := s.mwin[r]
		i := 0
		for i < len(ws) && (ws[i].Model != st.Model || ws[i].Duration != st.Duration) {
			i++
		}
		if i == len(ws) {
			ws = append(ws, ModelWindow{Model: st.Model, Duration: st.Duration, Start: st.Start})
			s.mwin[r] = ws
		}
		w := &ws[i]
		before := w.Spend
		if w.Start != st.Start {
			w.Start, w.shared = st.Start, st.Spend
		} else if st.Spend > w.shared {
			w.shared = st.Spend
		}
		w.Spend = w.shared + local
		if w.Spend != before {
			changed = true
			crossed = crossed || before < l.max && w.Spend >= l.max
		}
	}
	return changed, crossed
}
