package keys

import (
	"bytes"
	"encoding/json"
	"math"
	"reflect"
	"strconv"
	"time"
	"unsafe"

	"github.com/llmgate/llmgate/internal/keystore"
)

// The key table's parts encoded for the module with a cache per key shard
// (docs/architecture.md D68): a push used to build, split and JSON-encode
// the whole table (3–4 s of CPU at 100,000 keys) although one key had
// changed. A shard's bytes are now re-encoded only when its print — every
// input of the shard — differs from the print its cached bytes were made
// from. The inputs of a shard are, for each of its keys: the key's record
// (by identity: the cache's records are never mutated, a change stores a new
// one, and the encoder holds the records its bytes were made from so that no
// new record can take an old one's address), its current spend, its model
// windows, and whether the key is in the table at all (that depends on its
// team's, user's, budget's and membership's limits: computed afresh at
// every push); for each deprecated token (a regenerated key's old value): its
// record and whether its active key is in the table. The common part
// (teams, users, budgets, memberships, access groups, their windows) is
// encoded at every push; like every part it is sent only when its bytes
// changed. Gen and At are left 0 in the bytes (the gateway writes them into
// the parts it sends), so that equal tables give equal bytes.

// PartsEncoder keeps the last encoded bytes of each part; one publisher
// uses it (not safe for concurrent use).
type PartsEncoder struct {
	shards [ViewShards]encodedShard
	common []byte
	// Encoded is the number of key shards encoded by the last EncodeParts
	// (the others' bytes came from the cache).
	Encoded int
}

type encodedShard struct {
	ok    bool
	print shardPrint
	hold  []*keystore.Key // the records js was made from (kept alive: their addresses stay theirs)
	js    []byte
}

// shardPrint identifies a shard's inputs: their count and two
// order-independent sums of each input's 64-bit hash.
type shardPrint struct {
	n        int
	sum, xor uint64
}

func (p *shardPrint) add(h uint64) {
	p.n++
	p.sum += h
	p.xor ^= h * 0x9e3779b97f4a7c15
}

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

type encKey struct {
	k      *keystore.Key
	spend  float64
	wins   []ModelWindow
	in     bool
	shard  int
	winSum uint64
}

// EncodeParts encodes the key table's parts (0: the common part, i+1: key
// shard i; as Split numbers them, with Gen and At 0) and reports which
// differ from the bytes the previous call returned (all, the first time).
// gen is the table's generation when it was read (ViewGen).
func (s *Service) EncodeParts(e *PartsEncoder) (gen uint64, parts [][]byte, changed []bool, err error) {
	gen = s.view.gen.Load()
	s.mu.RLock()
	ks := make([]encKey, 0, len(s.keys))
	for t, k := range s.keys {
		x := encKey{k: k, spend: s.spend[t], shard: Shard(t)}
		if ws := s.mwin[winRef{winKey, t}]; len(ws) > 0 {
			x.wins = append([]ModelWindow(nil), ws...)
			h := uint64(fnvOffset)
			for _, w := range ws {
				h = hashU64(hashU64(hashStr(hashStr(h, w.Model), w.Duration), uint64(w.Start)), math.Float64bits(w.Spend))
			}
			x.winSum = h
		}
		ks = append(ks, x)
	}
	deprecated := make([]keystore.DeprecatedKey, 0, len(s.deprecated))
	for _, d := range s.deprecated {
		deprecated = append(deprecated, d)
	}
	groups := s.accessGroups
	s.mu.RUnlock()

	// Which keys are in the table (their checks count no shared state), and
	// the teams, users, budgets and memberships they name.
	teams, users, budgets, members := map[string]bool{}, map[string]bool{}, map[string]bool{}, map[string]bool{}
	handedOn := 0
	var prints [ViewShards]shardPrint
	for i := range ks {
		x := &ks[i]
		x.in = s.inTable(x.k, teams, users, budgets, members)
		if !x.in {
			handedOn++
		}
		h := hashU64(uint64(fnvOffset), uint64(uintptr(unsafe.Pointer(x.k))))
		h = hashU64(h, math.Float64bits(x.spend))
		h = hashU64(h, x.winSum)
		if x.in {
			h = hashU64(h, 1)
		}
		prints[x.shard].add(h)
	}
	for _, d := range deprecated {
		k, _, ok := s.Lookup(d.ActiveToken)
		in := ok && k.Token == d.ActiveToken && s.inTable(k, nil, nil, nil, nil)
		h := hashStr(hashStr(uint64(fnvOffset), d.Token), d.ActiveToken)
		h = hashU64(hashU64(h, uint64(d.RevokeAt.UnixNano())), uint64(len(d.ActiveToken)))
		if in {
			h = hashU64(h, 2)
		}
		prints[Shard(d.Token)].add(h)
	}

	parts, changed = make([][]byte, ViewShards+1), make([]bool, ViewShards+1)
	e.Encoded = 0
	var byShard [ViewShards][]int
	for i := range ks {
		byShard[ks[i].shard] = append(byShard[ks[i].shard], i)
	}

	var depByShard [ViewShards][]keystore.DeprecatedKey
	sortRows(deprecated, func(a, b keystore.DeprecatedKey) bool { return a.Token < b.Token })
	for _, d := range deprecated {
		depByShard[Shard(d.Token)] = append(depByShard[Shard(d.Token)], d)
	}
	for i := 0; i < ViewShards; i++ {
		c := &e.shards[i]
		if c.ok && c.print == prints[i] {
			parts[i+1] = c.js
			continue
		}
		e.Encoded++
		// Token order: a shard encoded again from equal inputs gives equal bytes.
		sortRows(byShard[i], func(a, b int) bool { return ks[a].k.Token < ks[b].k.Token })
		sn := &Snapshot{Part: i + 1, Keys: []*keystore.Key{}}
		hold := make([]*keystore.Key, 0, len(byShard[i]))
		inTable := map[string]bool{}
		for _, j := range byShard[i] {
			x := &ks[j]
			hold = append(hold, x.k)
			if !x.in {
				continue
			}
			sn.Keys = append(sn.Keys, projectKey(x.k, x.spend))
			inTable[x.k.Token] = true
			if len(x.wins) > 0 {
				sn.Windows = append(sn.Windows, EntityWindows{Kind: winKey, ID: x.k.Token, Windows: x.wins})
			}
		}
		for _, d := range depByShard[i] {
			k, _, ok := s.Lookup(d.ActiveToken)
			if ok && k.Token == d.ActiveToken && (inTable[d.ActiveToken] || s.inTable(k, nil, nil, nil, nil)) {
				sn.Deprecated = append(sn.Deprecated, d)
			}
		}
		js, err := json.Marshal(sn)
		if err != nil {
			return 0, nil, nil, err
		}
		changed[i+1] = !c.ok || !bytes.Equal(js, c.js)
		*c = encodedShard{ok: true, print: prints[i], hold: hold, js: js}
		parts[i+1] = js
	}

	common := s.commonPart(teams, users, budgets, members, groups, handedOn)
	js, err := json.Marshal(common)
	if err != nil {
		return 0, nil, nil, err
	}
	changed[0] = e.common == nil || !bytes.Equal(js, e.common)
	e.common, parts[0] = js, js
	return gen, parts, changed, nil
}

// inTable reports whether a key is in the module's table (no limits of its
// own or of its budget, user, team or team member) and notes the records it
// names in the sets (nil sets: not noted).
func (s *Service) inTable(k *keystore.Key, teams, users, budgets, members map[string]bool) bool {
	var team *keystore.Team
	var user *keystore.User
	if k.TeamID != "" {
		team, _, _ = s.team(k.TeamID)
	}
	if k.UserID != "" {
		user, _, _ = s.user(k.UserID)
	}
	if len(s.entities(k, team, user, "", nil)) > 0 {
		return false
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
