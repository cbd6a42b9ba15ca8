package keys

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
	"github.com/llmgate/llmgate/internal/store"
)

// Defaults, as LiteLLM's.
const (
	DefaultCacheTTL     = 60 * time.Second // user_api_key_cache_ttl
	DefaultBatchWriteAt = 10 * time.Second // proxy_batch_write_at
)

// Notifier tells the other gateway instances that a key changed (Redis
// pub/sub when Redis is configured). Publish must not block for long;
// Subscribe delivers tokens until ctx ends.
type Notifier interface {
	Publish(ctx context.Context, token string) error
	Subscribe(ctx context.Context, fn func(token string))
}

// Options configure a Service.
type Options struct {
	Store keystore.Store
	// Counters hold the per-key rpm/tpm/parallel counts (Redis or memory).
	Counters store.Store
	// Notifier is nil without Redis: other instances then see changes
	// after CacheTTL.
	Notifier     Notifier
	CacheTTL     time.Duration // 0: DefaultCacheTTL
	BatchWriteAt time.Duration // 0: DefaultBatchWriteAt
	// WALDir holds the spend write-ahead file; "" keeps pending spend in
	// memory only (tests).
	WALDir           string
	DisableSpendLogs bool
	// CallerSpendLogs: the spend of keyless callers (the master key's
	// alias, a JWT's hash; IsCaller) is logged under their api_key, as
	// LiteLLM logs it with a database (general_settings.database_url,
	// D136). Without it such a try's tokens still count to its limits.
	CallerSpendLogs bool
	// GracePeriod is /key/regenerate's default grace_period
	// (LITELLM_KEY_ROTATION_GRACE_PERIOD); "" revokes the old value at once.
	GracePeriod string
	// Windows shares the per-model budget windows across instances (Redis;
	// sharedwindows.go); nil keeps them in this process.
	Windows SharedWindows
	Log     *slog.Logger
	Now     func() time.Time
}

// Service is the key cache, checks, management API and spend writer of one
// gateway process. It outlives config reloads.
type Service struct {
	o   Options
	log *slog.Logger
	now func() time.Time
	ua  uaTagCache // the spend logs' User-Agent tags (sink.go)

	mu   sync.RWMutex
	keys map[string]*keystore.Key // by token; records are never mutated once stored here
	// deprecated are regenerated keys' old tokens in their grace period.
	deprecated map[string]keystore.DeprecatedKey
	spend      map[string]float64 // key token → spend (stored + not yet written)
	teams      map[string]*keystore.Team
	tspnd      map[string]float64
	users      map[string]*keystore.User
	uspnd      map[string]float64
	// Budgets, team memberships (by MemberKey) and end users, with the
	// memberships' and end users' current spend.
	budgets map[string]*keystore.Budget
	members map[string]*keystore.Membership
	mspnd   map[string]float64
	endUsrs map[string]*keystore.EndUser
	espnd   map[string]float64
	// litellm_settings.max_end_user_budget and max_end_user_budget_id.
	maxEndUserBudget *float64
	endUserBudgetID  string
	// endUsersPartial: a module view's table left customers out.
	endUsersPartial bool
	// mwin are the model budgets' windows (modelbudget.go), memory only.
	mwin map[winRef][]ModelWindow
	// With Options.Windows: window costs not yet sent to Redis, those being
	// sent, and the sender's wake-up (sharedwindows.go).
	wpend   map[WindowID]WindowAdd
	wflight map[WindowID]float64
	wwake   chan struct{}
	wsync   chan struct{}
	winit   []WindowAdd // windows rebuilt from the spend logs at start
	// accessGroups are model_info.access_groups: name → model groups.
	accessGroups map[string][]string
	// keyModelDefaults are the model groups' default per-key limits
	// (keymodel.go, D109).
	keyModelDefaults map[string]ModelLimits

	modelSet ModelSettings
	// keyGen are the key-generation settings (keygen.go).
	keyGen KeyGenSettings
	// noReset is general_settings.disable_reset_budget (reset.go).
	noReset atomic.Bool
	// resetEvery is the budget reset check's interval in nanoseconds
	// (proxy_budget_rescheduler_*; 0: after every batch), nextReset when
	// it is next due (unix nanoseconds; reset.go).
	resetEvery, nextReset atomic.Int64
	// upserts are the JWT users whose rows upsertUser is writing (D109).
	upserts sync.Map
	// noMasterReturn is general_settings.disable_master_key_return (D96):
	// /user/info lists no key row whose token is the master key's hash.
	noMasterReturn atomic.Bool
	// noDefaultTeam is general_settings.default_team_disabled (uisettings.go).
	noDefaultTeam atomic.Bool
	// proxyBudget: litellm_settings.max_budget is set (proxybudget.go).
	proxyBudget atomic.Bool
	// rotMu serializes a master key rotation and following another
	// instance's (masterkeyfollow.go).
	rotMu sync.Mutex
	// salt encrypts callback variables (teamcallbacks_crypt.go).
	salt atomic.Pointer[string]

	crossings  chan Crossing
	crossed    atomic.Int64
	onCrossing func(Crossing)

	// installMu: a store read and the cache install made from it (RLock:
	// management POSTs, refreshes, reloads) never straddle a spend batch's
	// commit (Lock: flush, from taking pending to the store's commit).
	// Otherwise the install computed the stored spend without the batch
	// plus the pending spend the batch had emptied, and the batch's spend
	// was missing from the cache until the next refresh (D92).
	installMu sync.RWMutex
	pmu       sync.Mutex
	pending   *keystore.Spend // not yet written to the store
	// spareLogs is the spend-log slice of the last batch the store took,
	// emptied: the next batch appends into it (D108; pmu).
	spareLogs []keystore.SpendLog
	wal       *wal
	// inMemory are the batches this process sealed and has not written
	// yet, by sealed file: a retried batch is not read back from its file.
	inMemory map[string]sealedBatch
	// recent are the request ids whose spend was added (dedup.go).
	recent recentIDs
	// tokenTries are the tries that counted tokens without spend
	// (rememberTokens; pmu).
	tokenTries recentIDs

	// view: what the module's key table publisher must push (view.go);
	// shardKeys: a module view's tokens by shard (applyShard).
	view      viewState
	shardKeys [][]string
	// moduleSlots: the module counts keys' parallel slots (SetModuleSlots;
	// s.mu); slots: a module view's counts (slots.go, D117).
	moduleSlots bool
	slots       slotCounts
	// prompts: the bodies waiting for their spend logs (prompts.go, D117)
	prompts promptStore
	// vdirty are the keys whose table inputs changed since the last
	// EncodeParts, vall: look at every key (viewenc.go; s.mu). A module
	// view's shard bases and the overlays waiting for theirs (view.go).
	vdirty    map[string]struct{}
	vall      bool
	shardBase []uint64
	pendOver  map[int]*Snapshot

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// New loads every key, team and user into memory and starts the background
// refresh and spend writer.
func New(ctx context.Context, o Options) (*Service, error) {
	if o.CacheTTL <= 0 {
		o.CacheTTL = DefaultCacheTTL
	}
	if o.BatchWriteAt <= 0 {
		o.BatchWriteAt = DefaultBatchWriteAt
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	s := &Service{o: o, log: o.Log, now: o.Now, pending: newSpend(), inMemory: map[string]sealedBatch{}, stop: make(chan struct{}), done: make(chan struct{}),
		crossings: make(chan Crossing, crossingsQueue)}
	s.view.wake = make(chan struct{}, 1)
	if o.WALDir != "" {
		w, err := openWAL(o.WALDir)
		if err != nil {
			return nil, err
		}
		s.wal = w
	}
	// Spend a previous process acknowledged but had not written yet (its
	// sealed write-ahead files) is written before the cache is loaded.
	if err := s.flush(ctx); err != nil {
		s.log.Warn("spend recovered from the write-ahead file not written yet; will retry", "error", err.Error())
	}
	if err := s.refresh(ctx); err != nil {
		return nil, err
	}
	s.seedModelWindows(ctx)
	if o.Windows != nil {
		s.wwake, s.wsync = make(chan struct{}, 1), make(chan struct{}, 1)
		go s.shareWindows()
	}
	go s.loop()
	go s.recordCrossings()
	if o.Notifier != nil {
		nctx, cancel := context.WithCancel(context.Background())
		go func() { <-s.stop; cancel() }()
		go o.Notifier.Subscribe(nctx, s.onNotice)
	}
	return s, nil
}

// Close writes the pending spend and stops the background work.
func (s *Service) Close() error {
	s.once.Do(func() { close(s.stop) })
	<-s.done
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err := s.flush(ctx)
	if s.o.Windows != nil {
		s.flushWindows(ctx)
	}
	if s.wal != nil {
		s.wal.close()
	}
	s.closeAudit()
	return err
}

func (s *Service) loop() {
	defer close(s.done)
	flush := time.NewTicker(s.o.BatchWriteAt)
	refresh := time.NewTicker(s.o.CacheTTL)
	defer flush.Stop()
	defer refresh.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-flush.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.flush(ctx); err != nil {
				s.log.Warn("spend batch not written; kept for the next batch", "error", err.Error())
			} else if s.resetCheckDue() {
				s.resetDue(ctx)
			}
			cancel()
		case <-refresh.C:
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			if err := s.refresh(ctx); err != nil {
				s.log.Warn("key cache not refreshed; serving the last copy", "error", err.Error())
			} else {
				s.windowsRefreshed()
				go s.followMasterKey()
			}
			cancel()
		}
	}
}

// refresh reloads every record from the store; spend is the stored spend
// plus what this process has not written yet.
func (s *Service) refresh(ctx context.Context) error {
	s.installMu.RLock()
	defer s.installMu.RUnlock()
	ks, err := s.o.Store.ListKeys(ctx)
	if err != nil {
		return err
	}
	ts, err := s.o.Store.ListTeams(ctx)
	if err != nil {
		return err
	}
	us, err := s.o.Store.ListUsers(ctx)
	if err != nil {
		return err
	}
	bs, err := s.o.Store.ListBudgets(ctx)
	if err != nil {
		return err
	}
	ms, err := s.o.Store.ListMemberships(ctx)
	if err != nil {
		return err
	}
	es, err := s.o.Store.ListEndUsers(ctx)
	if err != nil {
		return err
	}
	deprecated, err := s.loadDeprecated(ctx)
	if err != nil {
		return err
	}
	budgets := make(map[string]*keystore.Budget, len(bs))
	for _, b := range bs {
		budgets[b.BudgetID] = b
	}
	members, mspnd := make(map[string]*keystore.Membership, len(ms)), make(map[string]float64, len(ms))
	endUsrs, espnd := make(map[string]*keystore.EndUser, len(es)), make(map[string]float64, len(es))
	keys, spend := make(map[string]*keystore.Key, len(ks)), make(map[string]float64, len(ks))
	teams, tspnd := make(map[string]*keystore.Team, len(ts)), make(map[string]float64, len(ts))
	users, uspnd := make(map[string]*keystore.User, len(us)), make(map[string]float64, len(us))
	s.pmu.Lock()
	for _, k := range ks {
		keys[k.Token], spend[k.Token] = k, k.Spend+s.pending.Keys[k.Token]
	}
	for _, t := range ts {
		teams[t.TeamID], tspnd[t.TeamID] = t, t.Spend+s.pending.Teams[t.TeamID]
	}
	for _, u := range us {
		users[u.UserID], uspnd[u.UserID] = u, u.Spend+s.pending.Users[u.UserID]
	}
	for _, m := range ms {
		mk := keystore.MemberKey(m.TeamID, m.UserID)
		members[mk], mspnd[mk] = m, m.Spend+s.pending.Members[mk]
	}
	for _, e := range es {
		endUsrs[e.UserID], espnd[e.UserID] = e, e.Spend
	}
	// End users spending for the first time have no row yet: their pending
	// spend still counts.
	for id, v := range s.pending.EndUsers {
		espnd[id] += v
	}
	// A record equal to the cached one keeps the cached one: the module's
	// key table re-encodes only the shards whose records changed (D68).
	s.mu.RLock()
	for t, k := range keys {
		if old := s.keys[t]; old != nil && sameKey(old, k) {
			keys[t] = old
		}
	}
	s.mu.RUnlock()
	s.mu.Lock()
	if s.view.on.Load() {
		// The module's table looks at the keys this reload changed (D78).
		for t, k := range keys {
			if s.keys[t] != k || s.spend[t] != spend[t] {
				s.markKeyLocked(t)
			}
		}
		for t := range s.keys {
			if keys[t] == nil {
				s.markKeyLocked(t)
			}
		}
	}
	s.keys, s.spend, s.teams, s.tspnd, s.users, s.uspnd = keys, spend, teams, tspnd, users, uspnd
	s.deprecated = deprecated
	s.budgets, s.members, s.mspnd, s.endUsrs, s.espnd = budgets, members, mspnd, endUsrs, espnd
	s.mu.Unlock()
	s.pmu.Unlock()
	s.viewChanged(true)
	return nil
}

// reloadKey re-reads one key after another instance changed it.
func (s *Service) reloadKey(token string) {
	s.installMu.RLock()
	defer s.installMu.RUnlock()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	k, err := s.o.Store.GetKey(ctx, token)
	if err != nil && !errors.Is(err, keystore.ErrNotFound) {
		s.log.Warn("key change not loaded; the next refresh will", "error", err.Error())
		return
	}
	s.setKey(token, k)
	if k == nil {
		// A regenerated key's old value may keep working (grace_period).
		s.reloadDeprecated(ctx, token)
	}
	s.viewChanged(true)
}

// setKey installs (k != nil) or removes a key in the cache.
func (s *Service) setKey(token string, k *keystore.Key) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.markKeyLocked(token)
	if k == nil {
		delete(s.keys, token)
		delete(s.spend, token)
		return
	}
	s.keys[token] = k
	s.spend[token] = k.Spend + s.pending.Keys[token]
}

// changed tells other instances (best effort; they refresh after the TTL anyway).
func (s *Service) changed(token string) {
	if s.o.Notifier == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	if err := s.o.Notifier.Publish(ctx, token); err != nil {
		s.log.Warn("key change not published; other instances see it after user_api_key_cache_ttl", "error", err.Error())
	}
}

// Lookup returns the cached key for a token and its current spend. The old
// value of a key regenerated with a grace_period finds the key that replaced
// it until its revoke_at (LiteLLM's _lookup_deprecated_key): the returned
// key's Token is the one to count against.
func (s *Service) Lookup(token string) (*keystore.Key, float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k, ok := s.keys[token]
	if !ok && len(s.deprecated) > 0 {
		if a := s.activeTokenLocked(token); a != "" {
			k, ok = s.keys[a]
			return k, s.spend[a], ok
		}
	}
	return k, s.spend[token], ok
}

// keySpend is Lookup's spend alone, for a key found already (Check.Key).
func (s *Service) keySpend(token string) float64 {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return s.spend[token]
}

// lookupKey is Lookup without the spend (one map read fewer: D127).
func (s *Service) lookupKey(token string) *keystore.Key {
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k := s.keys[token]; k != nil || len(s.deprecated) == 0 {
		return k
	}
	if a := s.activeTokenLocked(token); a != "" {
		return s.keys[a]
	}
	return nil
}

func (s *Service) team(id string) (*keystore.Team, float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	t, ok := s.teams[id]
	return t, s.tspnd[id], ok
}

func (s *Service) user(id string) (*keystore.User, float64, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	u, ok := s.users[id]
	return u, s.uspnd[id], ok
}
