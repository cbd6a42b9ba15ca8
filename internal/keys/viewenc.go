package keys

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"reflect"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// The key table's parts encoded for the module, by change (docs/architecture.md
// D68, D78). D68 re-encoded a key shard only when its inputs changed, but
// every push still passed over every key (to print each shard's inputs:
// 0.12 s at 100,000 keys) and one key's change still sent and made the
// module decode its whole shard (1/64 of the table: 427 KB at 100,000
// keys). Now:
//
//   - The gateway's cache marks the keys whose table inputs change (their
//     record: setKey and refresh; their spend and model windows: the spend
//     sink and the shared windows) in a dirty set (markKeyLocked); a push
//     looks at those keys only. What else decides whether a key is in the
//     table — the rpm/tpm/parallel limits of teams, users, budgets and
//     memberships — is printed at every push (O(limited records)); a change
//     there, a dirty set too large to be worth it, or the first push passes
//     over every key, as before.
//   - Each key's projected record and windows are kept encoded (its JSON),
//     with the teams, users, budgets and memberships it names counted, so
//     the common part's record sets need no pass over the keys either.
//   - A shard is sent as a base (part i+1: its keys and deprecated tokens, a
//     base number) and an overlay (part ViewShards+1+i: the keys changed since
//     that base — upserted records, deleted tokens —, naming the base). A
//     change re-sends the shard's overlay only; the overlay is cumulative
//     (each is a state, as SotW resources must be: a module that missed one
//     overlay is made whole by the next) and bounded: past overlayMax keys,
//     or a quarter of the base's bytes, the shard is re-based (a new base,
//     the overlay starting empty). The module applies an overlay on the base
//     it names only, keeps an overlay that names a newer base until that base
//     arrives, and drops one of an older base (ApplySnapshot).
//
// Gen and At are left 0 in the bytes (the gateway writes them into the
// parts it sends), so that equal parts give equal bytes and an unchanged
// part is not sent.

// overlayMax bounds the keys of a shard's overlay before it is re-based.
const overlayMax = 64

// PartsEncoder keeps the encoded state of the key table's parts; one
// publisher uses it (not safe for concurrent use).
type PartsEncoder struct {
	started  bool
	limits   uint64
	entries  map[string]*encEntry
	shards   [ViewShards]encShard
	refs     [4]map[string]int // teams, users, budgets, memberships named by keys in the table
	handedOn int
	nextBase uint64
	common   []byte
	// Encoded is the number of key shards whose base the last EncodeParts
	// encoded; Overlays the number of overlays it encoded; Looked the keys
	// it looked at.
	Encoded, Overlays, Looked int
}

type encShard struct {
	base     uint64
	keys     map[string]*encEntry
	overlay  map[string]bool // tokens changed since the base
	baseJ    []byte
	overlayJ []byte
	depPrint uint64
}

// encEntry is one key as the table holds it. The encoder holds the record
// its bytes were made from, so no new record can take its address.
type encEntry struct {
	k      *keystore.Key
	spend  float64
	winSum uint64
	in     bool
	js     []byte // the projected key (in only)
	wjs    []byte // its windows (in, with windows)
	names  [4]string
}

const (
	refTeam = iota
	refUser
	refBudget
	refMember
)

// fnv-1a, 64 bits.
const (
	fnvOffset = 14695981039346656037
	fnvPrime  = 1099511628211
)

func hashU64(h, v uint64) uint64 {
	for i := 0; i < 8; i++ {
		h ^= v & 0xff
		h *= fnvPrime
		v >>= 8
	}
	return h
}

func hashStr(h uint64, s string) uint64 {
	for i := 0; i < len(s); i++ {
		h ^= uint64(s[i])
		h *= fnvPrime
	}
	return hashU64(h, uint64(len(s)))
}

// markKeyLocked notes that a key's table inputs changed (s.mu held for
// writing). Only while the table is published; a set past a fraction of
// the keys becomes a pass over all of them.
func (s *Service) markKeyLocked(token string) {
	if !s.view.on.Load() || s.vall {
		return
	}
	if s.vdirty == nil {
		s.vdirty = map[string]struct{}{}
	}
	s.vdirty[token] = struct{}{}
	if len(s.vdirty) > 4096+len(s.keys)/4 {
		s.vall, s.vdirty = true, nil
	}
}

// limitsPrintLocked prints what, besides a key's own record, decides
// whether it is in the table: the records with rpm/tpm/parallel limits
// (s.mu held). Order-independent.
func (s *Service) limitsPrintLocked() uint64 {
	var sum, xor uint64
	add := func(h uint64) { sum += h; xor ^= h * 0x9e3779b97f4a7c15 }
	lim := func(h uint64, rpm, tpm, par *int64) (uint64, bool) {
		r, t, p := val(rpm), val(tpm), val(par)
		return hashU64(hashU64(hashU64(h, uint64(r)), uint64(t)), uint64(p)), r != 0 || t != 0 || p != 0
	}
	for id, t := range s.teams {
		if h, ok := lim(hashStr(1, id), t.RPMLimit, t.TPMLimit, t.MaxParallelRequests); ok {
			add(h)
		}
	}
	for id, u := range s.users {
		if h, ok := lim(hashStr(2, id), u.RPMLimit, u.TPMLimit, u.MaxParallelRequests); ok {
			add(h)
		}
	}
	for id, b := range s.budgets {
		if h, ok := lim(hashStr(3, id), b.RPMLimit, b.TPMLimit, b.MaxParallelRequests); ok {
			add(h)
		}
	}
	for mk, m := range s.members {
		if b := s.budgets[m.BudgetID]; b != nil && (val(b.RPMLimit) != 0 || val(b.TPMLimit) != 0) {
			add(hashStr(hashStr(4, mk), m.BudgetID))
		}
	}
	if s.moduleSlots {
		add(0x5107) // keys with parallel limits are in the table (D117)
	}
	return hashU64(sum, xor)
}

type encKey struct {
	t      string
	k      *keystore.Key
	spend  float64
	wins   []ModelWindow
	winSum uint64
}

// EncodeParts encodes the key table's parts that changed since its last
// call (all, the first time): index 0 the common part, 1..ViewShards the
// key shards' bases, ViewShards+1.. their overlays (contract.ModuleKeysPart
// names them; nil: no overlay yet), with Gen and At 0; parts holds every
// part's latest bytes, changed says which to send. gen is the table's
// generation when it was read (ViewGen).
func (s *Service) EncodeParts(e *PartsEncoder) (gen uint64, parts [][]byte, changed []bool, err error) {
	gen = s.view.gen.Load()
	e.Encoded, e.Overlays, e.Looked = 0, 0, 0
	if e.entries == nil {
		e.entries = map[string]*encEntry{}
		for i := range e.refs {
			e.refs[i] = map[string]int{}
		}
	}
	s.mu.Lock()
	s.view.on.Store(true) // changes are marked from now on
	dirty, all := s.vdirty, s.vall
	s.vdirty, s.vall = nil, false
	limits := s.limitsPrintLocked()
	all = all || !e.started || limits != e.limits
	var ks []encKey
	read := func(t string) {
		x := encKey{t: t, k: s.keys[t], spend: s.spend[t]}
		if ws := s.mwin[winRef{winKey, t}]; x.k != nil && len(ws) > 0 {
			x.wins = append([]ModelWindow(nil), ws...)
			h := uint64(fnvOffset)
			for _, w := range ws {
				h = hashU64(hashU64(hashStr(hashStr(h, w.Model), w.Duration), uint64(w.Start)), math.Float64bits(w.Spend))
			}
			x.winSum = h
		}
		ks = append(ks, x)
	}
	if all {
		ks = make([]encKey, 0, len(s.keys)+len(e.entries))
		for t := range s.keys {
			read(t)
		}
		for t := range e.entries {
			if _, ok := s.keys[t]; !ok {
				read(t)
			}
		}
	} else {
		ks = make([]encKey, 0, len(dirty))
		for t := range dirty {
			read(t)
		}
	}
	deprecated := make([]keystore.DeprecatedKey, 0, len(s.deprecated))
	for _, d := range s.deprecated {
		deprecated = append(deprecated, d)
	}
	groups := s.accessGroups
	s.mu.Unlock()
	e.started, e.limits, e.Looked = true, limits, len(ks)

	parts, changed = make([][]byte, 2*ViewShards+1), make([]bool, 2*ViewShards+1)
	var touched [ViewShards]bool
	for i := range ks {
		x := &ks[i]
		sh := &e.shards[Shard(x.t)]
		old := e.entries[x.t]
		var ne *encEntry
		if x.k != nil {
			ne = &encEntry{k: x.k, spend: x.spend, winSum: x.winSum}
			ne.in = s.inTableNames(x.k, &ne.names)
			if old != nil && old.k == ne.k && old.spend == ne.spend && old.winSum == ne.winSum && old.in == ne.in {
				continue
			}
			if ne.in {
				if ne.js, err = json.Marshal(projectKey(x.k, x.spend)); err != nil {
					return 0, nil, nil, err
				}
				if len(x.wins) > 0 {
					if ne.wjs, err = json.Marshal(EntityWindows{Kind: winKey, ID: x.t, Windows: x.wins}); err != nil {
						return 0, nil, nil, err
					}
				}
			}
		} else if old == nil {
			continue
		}
		e.count(old, -1)
		e.count(ne, 1)
		if sh.keys == nil {
			sh.keys = map[string]*encEntry{}
		}
		if ne == nil {
			delete(e.entries, x.t)
			delete(sh.keys, x.t)
		} else {
			e.entries[x.t], sh.keys[x.t] = ne, ne
		}
		if sh.overlay == nil {
			sh.overlay = map[string]bool{}
		}
		sh.overlay[x.t] = true
		touched[Shard(x.t)] = true
	}

	// Deprecated tokens (a regenerated key's old value) go with their
	// shard's base, while their active key is in the table.
	var depByShard [ViewShards][]keystore.DeprecatedKey
	sortRows(deprecated, func(a, b keystore.DeprecatedKey) bool { return a.Token < b.Token })
	var depPrints [ViewShards]uint64
	for _, d := range deprecated {
		if a := e.entries[d.ActiveToken]; a == nil || !a.in {
			continue
		}
		i := Shard(d.Token)
		depByShard[i] = append(depByShard[i], d)
		depPrints[i] = hashU64(hashStr(hashStr(depPrints[i]+1, d.Token), d.ActiveToken), uint64(d.RevokeAt.UnixNano()))
	}

	for i := range e.shards {
		sh := &e.shards[i]
		// Re-based when the overlay passes overlayMax keys or a quarter of
		// the shard's (so an overlay costs the module at most a quarter of
		// a base to decode).
		rebase := sh.base == 0 || sh.depPrint != depPrints[i] ||
			touched[i] && (len(sh.overlay) > overlayMax || len(sh.overlay) > 4 && 4*len(sh.overlay) > len(sh.keys))
		switch {
		case rebase:
			e.nextBase++
			sh.base, sh.depPrint, sh.overlay = e.nextBase, depPrints[i], nil
			js, err := sh.encodeBase(i, depByShard[i])
			if err != nil {
				return 0, nil, nil, err
			}
			sh.baseJ, changed[i+1] = js, true
			e.Encoded++
		case touched[i]:
			sh.overlayJ, changed[ViewShards+1+i] = sh.encodeOverlay(i), true
			e.Overlays++
		}
		parts[i+1], parts[ViewShards+1+i] = sh.baseJ, sh.overlayJ
	}

	common := s.commonPart(e.refSet(refTeam), e.refSet(refUser), e.refSet(refBudget), e.refSet(refMember), groups, e.handedOn)
	js, err := json.Marshal(common)
	if err != nil {
		return 0, nil, nil, err
	}
	changed[0] = e.common == nil || !bytes.Equal(js, e.common)
	e.common, parts[0] = js, js
	return gen, parts, changed, nil
}

// count adds (d = 1) or removes (d = -1) an entry's names and hand-on.
func (e *PartsEncoder) count(x *encEntry, d int) {
	if x == nil {
		return
	}
	if !x.in {
		e.handedOn += d
		return
	}
	for r, n := range x.names {
		if n == "" {
			continue
		}
		if e.refs[r][n] += d; e.refs[r][n] <= 0 {
			delete(e.refs[r], n)
		}
	}
}

func (e *PartsEncoder) refSet(r int) map[string]bool {
	out := make(map[string]bool, len(e.refs[r]))
	for n := range e.refs[r] {
		out[n] = true
	}
	return out
}

// encodeBase is shard i's base: its keys in the table (token order) with
// their windows, and its deprecated tokens.
func (sh *encShard) encodeBase(i int, deprecated []keystore.DeprecatedKey) ([]byte, error) {
	toks := make([]string, 0, len(sh.keys))
	for t, x := range sh.keys {
		if x.in {
			toks = append(toks, t)
		}
	}
	sortRows(toks, func(a, b string) bool { return a < b })
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"gen":0,"part":%d,"at":0,"base":%d,"keys":[`, i+1, sh.base)
	writeEntries(&b, sh.keys, toks)
	b.WriteByte(']')
	if len(deprecated) > 0 {
		js, err := json.Marshal(deprecated)
		if err != nil {
			return nil, err
		}
		b.WriteString(`,"deprecated":`)
		b.Write(js)
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// writeEntries writes the keys of toks into an open "keys" list and, when
// any has windows, closes it and opens a "windows" list with them; the
// caller closes whichever list is open.
func writeEntries(b *bytes.Buffer, keys map[string]*encEntry, toks []string) {
	for j, t := range toks {
		if j > 0 {
			b.WriteByte(',')
		}
		b.Write(keys[t].js)
	}
	n := 0
	for _, t := range toks {
		if w := keys[t].wjs; w != nil {
			if n == 0 {
				b.WriteString(`],"windows":[`)
			} else {
				b.WriteByte(',')
			}
			b.Write(w)
			n++
		}
	}
}

// encodeOverlay is shard i's overlay: the keys changed since its base, in
// the table (upserted, with their windows) or not (deleted).
func (sh *encShard) encodeOverlay(i int) []byte {
	var in, gone []string
	for t := range sh.overlay {
		if x := sh.keys[t]; x != nil && x.in {
			in = append(in, t)
		} else {
			gone = append(gone, t)
		}
	}
	sortRows(in, func(a, b string) bool { return a < b })
	sortRows(gone, func(a, b string) bool { return a < b })
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"gen":0,"part":%d,"at":0,"base":%d,"keys":[`, ViewShards+1+i, sh.base)
	writeEntries(&b, sh.keys, in)
	b.WriteByte(']')
	if len(gone) > 0 {
		js, _ := json.Marshal(gone)
		b.WriteString(`,"deleted":`)
		b.Write(js)
	}
	b.WriteByte('}')
	return b.Bytes()
}

// IsOverlayPart reports whether part index i of EncodeParts is a shard's
// overlay (else the common part or a shard's base).
func IsOverlayPart(i int) bool { return i > ViewShards }

// inTableNames is inTable noting the records a key in the table names.
func (s *Service) inTableNames(k *keystore.Key, names *[4]string) bool {
	if !s.inTable(k, nil, nil, nil, nil) {
		return false
	}
	names[refBudget] = k.BudgetID
	names[refTeam] = k.TeamID
	names[refUser] = k.UserID
	if k.TeamID != "" && k.UserID != "" {
		names[refMember] = keystore.MemberKey(k.TeamID, k.UserID)
	}
	return true
}

// inTable reports whether a key is in the module's table (no
// max_parallel_requests of its own or of its budget, user or team unless the
// module counts them, D117: rpm/tpm limits are leased, D83) and notes the records it names in the sets (nil
// sets: not noted).
func (s *Service) inTable(k *keystore.Key, teams, users, budgets, members map[string]bool) bool {
	var team *keystore.Team
	var user *keystore.User
	if k.TeamID != "" {
		team, _, _ = s.team(k.TeamID)
	}
	if k.UserID != "" {
		user, _, _ = s.user(k.UserID)
	}
	if !s.moduleSlotsOn() {
		for _, e := range s.entities(k, team, user, "", nil) {
			if e.par > 0 {
				return false
			}
		}
	}
	if teams == nil {
		return true
	}
	if k.BudgetID != "" {
		budgets[k.BudgetID] = true
	}
	if team != nil {
		teams[team.TeamID] = true
		if k.UserID != "" {
			members[keystore.MemberKey(team.TeamID, k.UserID)] = true
		}
	}
	if user != nil {
		users[user.UserID] = true
	}
	return true
}

// projectKey is a key as the table holds it: what the checks read.
func projectKey(k *keystore.Key, spend float64) *keystore.Key {
	c := *k
	c.Spend, c.Metadata, c.KeyName, c.CreatedBy, c.UpdatedBy = spend, tempMetadata(k.Metadata), "", "", ""
	c.CreatedAt, c.UpdatedAt = time.Time{}, time.Time{}
	return &c
}

// commonPart is the table's common part (Part -1) for the records the
// table's keys name.
func (s *Service) commonPart(teams, users, budgets, members map[string]bool, groups map[string][]string, handedOn int) *Snapshot {
	sn := &Snapshot{Part: -1, Keys: []*keystore.Key{}, AccessGroups: groups, HandedOn: handedOn}
	s.mu.RLock()
	defer s.mu.RUnlock()
	sn.KeyModelDefaults = s.keyModelDefaults
	s.proxyBudgetLocked(sn, users)
	for _, id := range sortedKeys(teams) {
		if t := s.teams[id]; t != nil {
			c := *t
			c.Spend, c.Admins, c.Members, c.MembersWithRoles, c.Metadata = s.tspnd[id], nil, nil, nil, nil
			sn.Teams = append(sn.Teams, &c)
			if w := s.windowsLocked(winTeam, id); w != nil {
				sn.Windows = append(sn.Windows, *w)
			}
		}
	}
	for _, id := range sortedKeys(users) {
		if u := s.users[id]; u != nil {
			c := *u
			c.Spend, c.Metadata, c.Teams = s.uspnd[id], nil, nil
			sn.Users = append(sn.Users, &c)
			if w := s.windowsLocked(winUser, id); w != nil {
				sn.Windows = append(sn.Windows, *w)
			}
		}
	}
	for _, mk := range sortedKeys(members) {
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
	for _, id := range sortedKeys(budgets) {
		if b := s.budgets[id]; b != nil {
			sn.Budgets = append(sn.Budgets, b)
		}
	}
	return sn
}

// WithGen writes a part's generation and build time into its bytes (made
// with both 0 by EncodeParts): {"gen":N,… and "at":T.
func WithGen(part []byte, gen uint64, at int64) []byte {
	const g0, a0 = `{"gen":0,`, `"at":0,`
	if !bytes.HasPrefix(part, []byte(g0)) {
		return part
	}
	rest := part[len(g0):]
	out := make([]byte, 0, len(part)+40)
	out = append(out, `{"gen":`...)
	out = strconv.AppendUint(out, gen, 10)
	out = append(out, ',')
	// "at" follows "gen" and the optional "part": within the first bytes.
	if i := bytes.Index(rest[:min(len(rest), 40)], []byte(a0)); i >= 0 {
		out = append(out, rest[:i]...)
		out = append(out, `"at":`...)
		out = strconv.AppendInt(out, at, 10)
		out = append(out, ',')
		return append(out, rest[i+len(a0):]...)
	}
	return append(out, rest...)
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sortRows(out, func(a, b string) bool { return a < b })
	return out
}

// sameKey reports whether two records of a key are equal as the store
// holds them: times compared as instants, empty maps and lists as absent
// (a record made by a management route against the same one read back).
func sameKey(a, b *keystore.Key) bool {
	x, y := normalKey(*a), normalKey(*b)
	return reflect.DeepEqual(&x, &y)
}

func normalKey(k keystore.Key) keystore.Key {
	t := func(p *time.Time) *time.Time {
		if p == nil {
			return nil
		}
		v := p.UTC().Round(0)
		return &v
	}
	k.Expires, k.BudgetResetAt = t(k.Expires), t(k.BudgetResetAt)
	k.CreatedAt, k.UpdatedAt = k.CreatedAt.UTC().Round(0), k.UpdatedAt.UTC().Round(0)
	if len(k.Models) == 0 {
		k.Models = nil
	}
	if len(k.Aliases) == 0 {
		k.Aliases = nil
	}
	if len(k.Metadata) == 0 {
		k.Metadata = nil
	}
	if len(k.ModelMaxBudget) == 0 {
		k.ModelMaxBudget = nil
	}
	if len(k.ModelSpend) == 0 {
		k.ModelSpend = nil
	}
	return k
}
