package keys

import (
	"encoding/hex"
	"log/slog"
	"sync/atomic"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// The key table of the request filter in Envoy (docs/architecture.md D57):
// the gateway's Service exports a Snapshot of what the request checks read
// (Snapshot), the module holds it in a view (NewView, ApplySnapshot: a
// Service without a store), and the module runs the same AuthorizeRequest on
// it as the ext_proc filter runs on the gateway's cache. Keys whose checks
// count parallel slots (max_parallel_requests of the key, its user or team)
// are not in the table: the module hands them to ext_proc; rpm/tpm limits
// are checked on the gateway's leases (viewlimits.go, D83).

// Snapshot is the key table pushed to the module, as JSON. Records carry
// their current spend (stored + not yet written) in Spend, and only the
// fields the request checks read.
type Snapshot struct {
	// Gen is the table's generation when the gateway started building it
	// (ViewGen; first, so that a reader finds it in the first bytes).
	Gen uint64 `json:"gen"`
	// Part is 0 for the whole table, -1 for its common part (teams, users,
	// budgets, memberships, access groups), i+1 for shard i of its keys and
	// deprecated tokens (Split; EncodeParts: the shard's base),
	// ViewShards+1+i for shard i's overlay (EncodeParts, D78).
	Part int `json:"part,omitempty"`
	// At is when the gateway built it (unix nanoseconds).
	At int64 `json:"at"`
	// Base numbers a shard's base; an overlay names the base it applies to
	// (D78; 0: a shard of Split).
	Base uint64 `json:"base,omitempty"`
	// Deleted are an overlay's tokens no longer in the table.
	Deleted      []string               `json:"deleted,omitempty"`
	Keys         []*keystore.Key        `json:"keys"`
	Teams        []*keystore.Team       `json:"teams,omitempty"`
	Users        []*keystore.User       `json:"users,omitempty"`
	Budgets      []*keystore.Budget     `json:"budgets,omitempty"`
	Members      []*keystore.Membership `json:"members,omitempty"`
	AccessGroups map[string][]string    `json:"access_groups,omitempty"`
	// KeyModelDefaults are the model groups' default per-key limits
	// (keymodel.go), in the common part.
	KeyModelDefaults map[string]ModelLimits `json:"key_model_defaults,omitempty"`
	// Deprecated are regenerated keys' old tokens in their grace period
	// whose active key is in the table.
	Deprecated []keystore.DeprecatedKey `json:"deprecated,omitempty"`
	// Windows are the model budgets' current periods (modelbudget.go) of
	// the keys (in their shard), teams and users (in the common part).
	Windows []EntityWindows `json:"windows,omitempty"`
	// HandedOn counts the keys left out (their checks count shared state).
	HandedOn int `json:"handed_on,omitempty"`
	// EndUsers are the customers (the body's `user`) the end-user checks
	// read, in the common part (viewcustomers.go): each with a row, and each
	// with spend while a default end-user budget applies; at most
	// MaxViewEndUsers. EndUsersPartial: some were left out (the module then
	// hands on a customer it does not find). EndUserDefault is
	// litellm_settings' max_end_user_budget / max_end_user_budget_id.
	EndUsers        []*keystore.EndUser `json:"end_users,omitempty"`
	EndUsersPartial bool                `json:"end_users_partial,omitempty"`
	EndUserDefault  *EndUserDefaults    `json:"end_user_default,omitempty"`
	// ProxyBudget: litellm_settings.max_budget is set; Users then hold its
	// litellm-proxy-budget row (proxybudget.go).
	ProxyBudget bool `json:"proxy_budget,omitempty"`
}

// Snapshot copies the key table for the module: every key whose checks need
// no counters, with the teams, users, memberships and budgets they name.
func (s *Service) Snapshot() *Snapshot {
	type kv struct {
		k     *keystore.Key
		spend float64
	}
	gen := s.view.gen.Load()
	s.mu.RLock()
	ks := make([]kv, 0, len(s.keys))
	for t, k := range s.keys {
		ks = append(ks, kv{k, s.spend[t]})
	}
	groups, kmd := s.accessGroups, s.keyModelDefaults
	deprecated := make([]keystore.DeprecatedKey, 0, len(s.deprecated))
	for _, d := range s.deprecated {
		deprecated = append(deprecated, d)
	}
	s.mu.RUnlock()
	sn := &Snapshot{Gen: gen, At: s.now().UnixNano(), Keys: make([]*keystore.Key, 0, len(ks)), AccessGroups: groups, KeyModelDefaults: kmd}
	teams, users, budgets, members := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	for _, x := range ks {
		k := x.k
		if !s.inTable(k, teams, users, budgets, members) {
			sn.HandedOn++
			continue
		}
		c := *k
		c.Spend, c.Metadata, c.KeyName, c.CreatedBy, c.UpdatedBy = x.spend, tempMetadata(k.Metadata), "", "", ""
		c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
		sn.Keys = append(sn.Keys, &c)
	}
	inTable := make(map[string]bool, len(sn.Keys))
	for _, k := range sn.Keys {
		inTable[k.Token] = true
	}
	for _, d := range deprecated {
		if inTable[d.ActiveToken] {
			sn.Deprecated = append(sn.Deprecated, d)
		}
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	s.proxyBudgetLocked(sn, users)
	for _, k := range sn.Keys {
		if w := s.windowsLocked(winKey, k.Token); w != nil {
			sn.Windows = append(sn.Windows, *w)
		}
	}
	for id := range teams {
		if w := s.windowsLocked(winTeam, id); w != nil {
			sn.Windows = append(sn.Windows, *w)
		}
	}
	for id := range users {
		if w := s.windowsLocked(winUser, id); w != nil {
			sn.Windows = append(sn.Windows, *w)
		}
	}
	for id := range teams {
		if t := s.teams[id]; t != nil {
			c := *t
			c.Spend, c.Admins, c.Members, c.MembersWithRoles, c.Metadata = s.tspnd[id], nil, nil, nil, nil
			sn.Teams = append(sn.Teams, &c)
		}
	}
	for id := range users {
		if u := s.users[id]; u != nil {
			c := *u
			c.Spend, c.Metadata, c.Teams = s.uspnd[id], nil, nil
			sn.Users = append(sn.Users, &c)
		}
	}
	for mk := range members {
		if m := s.members[mk]; m != nil {
			c := *m
			c.Spend = s.mspnd[mk]
			sn.Members = append(sn.Members, &c)
			if m.BudgetID != "" {
				budgets[m.BudgetID] = true
			}
		}
	}
	s.endUsersLocked(sn, budgets)
	for id := range budgets {
		if b := s.budgets[id]; b != nil {
			sn.Budgets = append(sn.Budgets, b)
		}
	}
	return sn
}

// ViewShards is the number of key shards of a split table: a change of one
// key re-sends the keys of its shard only (a 1/ViewShards of the table).
const ViewShards = 64

// Shard is the shard of a token (its first two hex digits).
func Shard(token string) int {
	if len(token) < 2 {
		return 0
	}
	return (hexVal(token[0])<<4 | hexVal(token[1])) % ViewShards
}

func hexVal(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'a' && c <= 'f':
		return int(c-'a') + 10
	}
	return 0
}

// Split cuts a table into its common part (Part -1: everything but keys and
// deprecated tokens) and ViewShards shards of keys (Part i+1), each with the
// table's Gen; ApplySnapshot of every part gives the whole table.
func (sn *Snapshot) Split() []*Snapshot {
	out := make([]*Snapshot, ViewShards+1)
	out[0] = &Snapshot{Gen: sn.Gen, At: sn.At, Part: -1, Keys: []*keystore.Key{}, Teams: sn.Teams, Users: sn.Users, Budgets: sn.Budgets,
		Members: sn.Members, AccessGroups: sn.AccessGroups, KeyModelDefaults: sn.KeyModelDefaults, HandedOn: sn.HandedOn,
		EndUsers: sn.EndUsers, EndUsersPartial: sn.EndUsersPartial, EndUserDefault: sn.EndUserDefault}
	for i := 1; i <= ViewShards; i++ {
		out[i] = &Snapshot{Gen: sn.Gen, At: sn.At, Part: i, Keys: []*keystore.Key{}}
	}
	for _, k := range sn.Keys {
		p := out[Shard(k.Token)+1]
		p.Keys = append(p.Keys, k)
	}
	for _, d := range sn.Deprecated {
		p := out[Shard(d.Token)+1]
		p.Deprecated = append(p.Deprecated, d)
	}
	for _, w := range sn.Windows {
		p := out[0]
		if w.Kind == winKey {
			p = out[Shard(w.ID)+1]
		}
		p.Windows = append(p.Windows, w)
	}
	return out
}

// NewView is an empty key table for the module: a Service with no store,
// counters, write-ahead file or background work; ApplySnapshot fills it.
func NewView() *Service {
	s := &Service{log: slog.Default(), now: time.Now, pending: newSpend(), stop: make(chan struct{})}
	s.o.Log, s.o.Now = s.log, s.now
	s.view.module = true
	s.ApplySnapshot(&Snapshot{})
	return s
}

// ApplySnapshot replaces a view's table with sn in one step: the whole
// table (Part 0 with keys from an unsplit Snapshot), its common part, or one
// shard of keys (the keys and deprecated tokens of that shard replaced).
func (s *Service) ApplySnapshot(sn *Snapshot) {
	if sn.Part > ViewShards {
		s.applyOverlay(sn)
		return
	}
	if sn.Part > 0 {
		s.applyShard(sn)
		return
	}
	keys, spend := make(map[string]*keystore.Key, len(sn.Keys)), make(map[string]float64, len(sn.Keys))
	for _, k := range sn.Keys {
		keys[k.Token], spend[k.Token] = k, k.Spend
	}
	teams, tspnd := make(map[string]*keystore.Team, len(sn.Teams)), make(map[string]float64, len(sn.Teams))
	for _, t := range sn.Teams {
		teams[t.TeamID], tspnd[t.TeamID] = t, t.Spend
	}
	users, uspnd := make(map[string]*keystore.User, len(sn.Users)), make(map[string]float64, len(sn.Users))
	for _, u := range sn.Users {
		users[u.UserID], uspnd[u.UserID] = u, u.Spend
	}
	budgets := make(map[string]*keystore.Budget, len(sn.Budgets))
	for _, b := range sn.Budgets {
		budgets[b.BudgetID] = b
	}
	members, mspnd := make(map[string]*keystore.Membership, len(sn.Members)), make(map[string]float64, len(sn.Members))
	for _, m := range sn.Members {
		mk := keystore.MemberKey(m.TeamID, m.UserID)
		members[mk], mspnd[mk] = m, m.Spend
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.teams, s.tspnd, s.users, s.uspnd = teams, tspnd, users, uspnd
	s.budgets, s.members, s.mspnd = budgets, members, mspnd
	s.applyEndUsersLocked(sn)
	s.accessGroups = sn.AccessGroups
	s.keyModelDefaults = sn.KeyModelDefaults
	if sn.Part < 0 && s.keys != nil {
		s.dropWindowsLocked(false)
		s.applyWindowsLocked(sn.Windows)
		return // the common part: the keys stay
	}
	s.dropWindowsLocked(true)
	s.applyWindowsLocked(sn.Windows)
	s.keys, s.spend = keys, spend
	s.deprecated = make(map[string]keystore.DeprecatedKey, len(sn.Deprecated))
	for _, d := range sn.Deprecated {
		s.deprecated[d.Token] = d
	}
	s.shardKeys, s.shardBase, s.pendOver = nil, nil, nil
}

// applyShard replaces the keys and deprecated tokens of one shard.
func (s *Service) applyShard(sn *Snapshot) {
	i := sn.Part - 1
	if i >= ViewShards {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initShardsLocked()
	for _, t := range s.shardKeys[i] {
		delete(s.keys, t)
		delete(s.spend, t)
		delete(s.deprecated, t)
		delete(s.mwin, winRef{winKey, t})
	}
	s.applyWindowsLocked(sn.Windows)
	toks := make([]string, 0, len(sn.Keys)+len(sn.Deprecated))
	for _, k := range sn.Keys {
		s.keys[k.Token], s.spend[k.Token] = k, k.Spend
		toks = append(toks, k.Token)
	}
	for _, d := range sn.Deprecated {
		if s.deprecated == nil {
			s.deprecated = map[string]keystore.DeprecatedKey{}
		}
		s.deprecated[d.Token] = d
		toks = append(toks, d.Token)
	}
	s.shardKeys[i] = toks
	// An overlay that came first, naming this base, applies now; one of an
	// older base is dropped (D78).
	s.shardBase[i] = sn.Base
	if o := s.pendOver[i]; o != nil && o.Base <= sn.Base {
		delete(s.pendOver, i)
		if o.Base == sn.Base {
			s.applyOverlayLocked(i, o)
		}
	}
}

// initShardsLocked indexes a view's keys by shard once (s.mu held).
func (s *Service) initShardsLocked() {
	if s.shardKeys != nil {
		return
	}
	// The keys so far (a whole table) by shard.
	s.shardKeys = make([][]string, ViewShards)
	s.shardBase = make([]uint64, ViewShards)
	for t := range s.keys {
		s.shardKeys[Shard(t)] = append(s.shardKeys[Shard(t)], t)
	}
	for t := range s.deprecated {
		s.shardKeys[Shard(t)] = append(s.shardKeys[Shard(t)], t)
	}
}

// applyOverlay applies a shard's overlay (the keys changed since its base,
// D78) on the base it names; one naming a base not applied yet waits for it,
// one of an older base is dropped.
func (s *Service) applyOverlay(sn *Snapshot) {
	i := sn.Part - ViewShards - 1
	if i < 0 || i >= ViewShards {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.initShardsLocked()
	switch {
	case sn.Base == s.shardBase[i]:
		s.applyOverlayLocked(i, sn)
	case sn.Base > s.shardBase[i]:
		if s.pendOver == nil {
			s.pendOver = map[int]*Snapshot{}
		}
		if o := s.pendOver[i]; o == nil || o.Base <= sn.Base {
			s.pendOver[i] = sn
		}
	}
}

// applyOverlayLocked upserts an overlay's keys (with their windows) and
// removes its deleted tokens (s.mu held).
func (s *Service) applyOverlayLocked(i int, sn *Snapshot) {
	for _, t := range sn.Deleted {
		delete(s.keys, t)
		delete(s.spend, t)
		delete(s.mwin, winRef{winKey, t})
	}
	for _, k := range sn.Keys {
		if _, had := s.keys[k.Token]; !had {
			s.shardKeys[i] = append(s.shardKeys[i], k.Token)
		}
		delete(s.mwin, winRef{winKey, k.Token})
		s.keys[k.Token], s.spend[k.Token] = k, k.Spend
	}
	s.applyWindowsLocked(sn.Windows)
}

// Len is the number of keys in the cache (or the view).
func (s *Service) Len() int {
	s.mu.RLock()
	defer s.mu.RUnlock()
	return len(s.keys)
}

// LookupSum finds a key by the sha256 of the presented key without
// allocating: the token returned is the cached record's (a regenerated
// key's old value in its grace period: the old token, as Lookup takes it),
// and k the record (nil for such an old value), which Check.Key hands on to
// AuthorizeRequest (D166: it found the key a second time).
func (s *Service) LookupSum(sum *[32]byte) (token string, k *keystore.Key, ok bool) {
	var buf [64]byte
	hex.Encode(buf[:], sum[:])
	s.mu.RLock()
	defer s.mu.RUnlock()
	if k, ok := s.keys[string(buf[:])]; ok {
		return k.Token, k, true
	}
	if len(s.deprecated) > 0 {
		// A regenerated key's old value in its grace period: Lookup
		// resolves it to the key that replaced it.
		old := string(buf[:])
		if a := s.activeTokenLocked(old); a != "" && s.keys[a] != nil {
			return old, nil, true
		}
	}
	return "", nil, false
}

// viewState tells the key table's publisher what changed: records (urgent:
// pushed at once) or only spend (pushed at most every spend interval).
type viewState struct {
	wake   chan struct{}
	urgent atomic.Bool
	dirty  atomic.Bool
	gen    atomic.Uint64 // counts the urgent changes
	on     atomic.Bool   // PublishView runs
	// module: a module's view (NewView); leases: its rpm leases and
	// counter view of limited keys (viewlimits.go, D83).
	module bool
	leases atomic.Pointer[leasesRef]
}

// ViewGen is the key table's generation: a Snapshot with Gen at least the
// value read after a change holds that change.
func (s *Service) ViewGen() uint64 { return s.view.gen.Load() }

// viewChanged notes a change of the key table; urgent wakes the publisher.
func (s *Service) viewChanged(urgent bool) {
	if !s.view.on.Load() {
		return
	}
	if !urgent {
		s.view.dirty.Store(true)
		return
	}
	s.view.gen.Add(1)
	s.view.urgent.Store(true)
	select {
	case s.view.wake <- struct{}{}:
	default:
	}
}

// spendPushShare bounds the share of time the publisher spends building
// and pushing spend-only tables: the spend interval is at least this many
// times the last push's cost.
const spendPushShare = 20

// PublishView calls push with a fresh Snapshot now, at once after every
// change of a key, team, user, budget, membership or access group and after
// a spend crosses a max budget (key, team, user, team member: the module
// then refuses with LiteLLM's budget_exceeded), and at most every spendEvery
// when only spend moved (the module's x-litellm-key-spend). push runs on the
// publisher's goroutine, never on the request path. Call it once.
func (s *Service) PublishView(push func(*Snapshot), spendEvery time.Duration) {
	s.publish(func() { push(s.Snapshot()) }, spendEvery)
}

// PublishParts is PublishView with the table encoded in parts by e
// (EncodeParts: only the key shards whose inputs changed are encoded again);
// push gets the parts and which of them changed.
func (s *Service) PublishParts(e *PartsEncoder, push func(gen uint64, parts [][]byte, changed []bool, err error), spendEvery time.Duration) {
	s.publish(func() { push(s.EncodeParts(e)) }, spendEvery)
}

func (s *Service) publish(push func(), spendEvery time.Duration) {
	s.view.urgent.Store(true)
	s.view.on.Store(true)
	go func() {
		// Spend-only pushes are due spendEvery after the last push; the
		// ticker checks four times per interval (at most 1.25 intervals late).
		tick := time.NewTicker(max(spendEvery/4, time.Millisecond))
		defer tick.Stop()
		var last time.Time
		var cost time.Duration
		for {
			urgent := s.view.urgent.Swap(false)
			dirty := s.view.dirty.Swap(false)
			if urgent || dirty && time.Since(last) >= max(spendEvery, spendPushShare*cost) {
				t0 := time.Now()
				push()
				last, cost = time.Now(), time.Since(t0)
			} else if dirty {
				s.view.dirty.Store(true)
			}
			select {
			case <-s.stop:
				return
			case <-s.view.wake:
			case <-tick.C:
			}
		}
	}()
}

// budgetCrossedLocked reports whether an event took its key, team, user or
// team member from under a max budget to at or over it (s.mu held).
func (s *Service) budgetCrossedLocked(e *SpendEvent, r *spendRecs, key, team, user, member float64) bool {
	over := func(before, after float64, mb *float64) bool { return mb != nil && before < *mb && after >= *mb }
	if k := r.key; k != nil {
		mb := k.MaxBudget
		if mb == nil && k.BudgetID != "" && s.budgets[k.BudgetID] != nil {
			mb = s.budgets[k.BudgetID].MaxBudget
		}
		if over(key, s.spend[e.KeyToken], mb) {
			return true
		}
	}
	if t := r.team; t != nil && over(team, s.tspnd[e.TeamID], t.MaxBudget) {
		return true
	}
	if u := r.user; u != nil && over(user, s.uspnd[e.UserID], u.MaxBudget) {
		return true
	}
	if m := r.member; m != nil && m.BudgetID != "" && s.budgets[m.BudgetID] != nil {
		return over(member, s.mspnd[keystore.MemberKey(e.TeamID, e.UserID)], memberMax(s.budgets[m.BudgetID], s.now()))
	}
	return false
}
