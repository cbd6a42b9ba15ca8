package keystore

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"time"
)

// Embedded is the store used without a database: every change is one JSON
// line appended to state.jsonl and fsynced before the call returns; spend logs
// go to spend_logs.jsonl the same way. Opening replays the log (a torn last
// line, left by a crash mid-write, is dropped: that change was never
// acknowledged). When the log holds many more lines than records it is
// compacted: a snapshot is written to a temporary file, fsynced and renamed
// over the log.
type Embedded struct {
	dir string

	mu      sync.Mutex
	log     *os.File
	spend   *os.File
	lines   int
	keys    map[string]*Key
	teams   map[string]*Team
	users   map[string]*User
	budgets map[string]*Budget
	members map[string]*Membership // by MemberKey
	endUsrs map[string]*EndUser
	models  map[string]*ModelRow
	batches map[string]bool // spend batch ids already added
	compact int             // compact when lines > compact + records
	// deprecated are regenerated keys' old values in their grace period.
	deprecated map[string]*DeprecatedKey
	// rotations are the master key rotations by the replaced key's hash.
	rotations map[string]*MasterKeyRotation
	// logBuf is the spend log lines' buffer, kept from batch to batch
	// (D96: a fresh one each batch was a tenth of the gateway's CPU in a
	// keys profile, its pages faulted in anew). A batch's lines are
	// written in chunks of logChunk (D108: a buffer for the whole batch,
	// 512 B per log, outgrew the kept size at the bench's rate and was
	// made anew every batch: 20–40 MB of fresh pages per 10 s).
	logBuf []byte
	// logWrites counts the spend log file's write(2) calls, logEncodes the
	// spend logs it encoded (not copied from Spend.LogFile) (tests).
	logWrites, logEncodes int
}

// logChunk is the most spend log bytes encoded before they are written.
const logChunk = 1 << 20

// record is one line of state.jsonl.
type record struct {
	Op      string      `json:"op"`
	Key     *Key        `json:"key,omitempty"`
	Team    *Team       `json:"team,omitempty"`
	User    *User       `json:"user,omitempty"`
	Budget  *Budget     `json:"budget,omitempty"`
	Member  *Membership `json:"member,omitempty"`
	EndUser *EndUser    `json:"end_user,omitempty"`
	Model   *ModelRow   `json:"model,omitempty"`
	// Deprecated is a regenerated key's old value (op "deprecate_key").
	Deprecated *DeprecatedKey `json:"deprecated,omitempty"`
	// Rotation is a master key rotation (op "master_key_rotation").
	Rotation *MasterKeyRotation `json:"rotation,omitempty"`
	ID       string             `json:"id,omitempty"`
	NewID    string             `json:"new_id,omitempty"`
	Spend    *spendR            `json:"spend,omitempty"`
	// Batches are the spend batch ids a compaction snapshot carries over.
	Batches []string `json:"batches,omitempty"`
	// Kind and Next are a budget reset's (op "reset").
	Kind string     `json:"kind,omitempty"`
	Next *time.Time `json:"next,omitempty"`
}

type spendR struct {
	BatchID   string                        `json:"batch_id,omitempty"`
	Keys      map[string]float64            `json:"keys,omitempty"`
	KeyModels map[string]map[string]float64 `json:"key_models,omitempty"`
	Teams     map[string]float64            `json:"teams,omitempty"`
	Users     map[string]float64            `json:"users,omitempty"`
	Members   map[string]float64            `json:"members,omitempty"`
	EndUsers  map[string]float64            `json:"end_users,omitempty"`
}

// OpenEmbedded opens (or creates) the embedded store in dir.
func OpenEmbedded(dir string) (*Embedded, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	e := &Embedded{dir: dir, keys: map[string]*Key{}, teams: map[string]*Team{}, users: map[string]*User{},
		budgets: map[string]*Budget{}, members: map[string]*Membership{}, endUsrs: map[string]*EndUser{}, models: map[string]*ModelRow{}, batches: map[string]bool{}, compact: 10000}
	path := filepath.Join(dir, "state.jsonl")
	if err := e.replay(path); err != nil {
		return nil, err
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return nil, fmt.Errorf("key store: %w", err)
	}
	e.log = f
	s, err := os.OpenFile(filepath.Join(dir, "spend_logs.jsonl"), os.O_CREATE|os.O_RDWR|os.O_APPEND, 0o600)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("key store: %w", err)
	}
	e.spend = s
	if err := syncDir(dir); err != nil {
		return nil, err
	}
	return e, nil
}

func (e *Embedded) replay(path string) error {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	good := 0
	for off := 0; off < len(b); {
		i := bytes.IndexByte(b[off:], '\n')
		if i < 0 {
			break // torn last line: never acknowledged
		}
		var r record
		if err := json.Unmarshal(b[off:off+i], &r); err != nil {
			return fmt.Errorf("key store: %s: line %d: %w", path, e.lines+1, err)
		}
		e.apply(&r)
		e.lines++
		off += i + 1
		good = off
	}
	if good < len(b) {
		if err := os.Truncate(path, int64(good)); err != nil {
			return fmt.Errorf("key store: dropping a torn line: %w", err)
		}
	}
	return nil
}

// apply changes the in-memory state; mu held (or not yet shared).
func (e *Embedded) apply(r *record) {
	switch r.Op {
	case "put_key":
		if old, ok := e.keys[r.Key.Token]; ok {
			r.Key.Spend, r.Key.ModelSpend = old.Spend, old.ModelSpend
		}
		e.keys[r.Key.Token] = r.Key
	case "put_key_full": // compaction snapshot: spend included
		e.keys[r.Key.Token] = r.Key
	case "del_key":
		delete(e.keys, r.ID)
	case "rekey":
		if k, ok := e.keys[r.ID]; ok {
			delete(e.keys, r.ID)
			k.Token = r.NewID
			e.keys[r.NewID] = k
		}
	case "put_team":
		if old, ok := e.teams[r.Team.TeamID]; ok {
			r.Team.Spend, r.Team.ModelSpend = old.Spend, old.ModelSpend
		}
		e.teams[r.Team.TeamID] = r.Team
	case "put_team_full":
		e.teams[r.Team.TeamID] = r.Team
	case "del_team":
		delete(e.teams, r.ID)
	case "put_user":
		if old, ok := e.users[r.User.UserID]; ok {
			r.User.Spend, r.User.ModelSpend = old.Spend, old.ModelSpend
		}
		e.users[r.User.UserID] = r.User
	case "put_user_full":
		e.users[r.User.UserID] = r.User
	case "del_user":
		delete(e.users, r.ID)
	case "reset":
		switch r.Kind {
		case "key":
			if k, ok := e.keys[r.ID]; ok {
				k.Spend, k.BudgetResetAt, k.SoftBudgetCooldown = 0, r.Next, false
			}
		case "budget":
			e.resetBudgetLocked(r.ID, r.Next)
		case "team":
			if t, ok := e.teams[r.ID]; ok {
				t.Spend, t.BudgetResetAt = 0, r.Next
			}
		case "user":
			if u, ok := e.users[r.ID]; ok {
				u.Spend, u.BudgetResetAt = 0, r.Next
			}
		}
	case "batches":
		for _, id := range r.Batches {
			e.batches[id] = true
		}
	case "spend":
		s := r.Spend
		if s.BatchID != "" {
			e.batches[s.BatchID] = true
		}
		for tok, v := range s.Keys {
			if k, ok := e.keys[tok]; ok {
				k.Spend += v
			}
		}
		for tok, ms := range s.KeyModels {
			if k, ok := e.keys[tok]; ok {
				if k.ModelSpend == nil {
					k.ModelSpend = map[string]float64{}
				}
				for m, v := range ms {
					k.ModelSpend[m] += v
				}
			}
		}
		for id, v := range s.Teams {
			if t, ok := e.teams[id]; ok {
				t.Spend += v
			}
		}
		for id, v := range s.Users {
			if u, ok := e.users[id]; ok {
				u.Spend += v
			}
		}
		e.addSpendLocked(s)
	default:
		if !e.applyModels(r) && !e.applyDeprecated(r) && !e.applyRotation(r) {
			e.applyBudgets(r)
		}
	}
}

// write appends one record durably and applies it; mu held.
func (e *Embedded) write(r *record) error {
	b, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	b = append(b, '\n')
	if _, err := e.log.Write(b); err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	if err := e.log.Sync(); err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	// Decode a fresh copy so the caller's struct is never shared with the state.
	var own record
	_ = json.Unmarshal(b, &own)
	e.apply(&own)
	e.lines++
	if e.lines > e.compact+len(e.keys)+len(e.teams)+len(e.users)+len(e.budgets)+len(e.members)+len(e.endUsrs)+len(e.models) {
		return e.compactLocked()
	}
	return nil
}

// compactLocked rewrites the log as a snapshot of the state; mu held.
func (e *Embedded) compactLocked() error {
	path := filepath.Join(e.dir, "state.jsonl")
	tmp, err := os.CreateTemp(e.dir, "state-*.tmp")
	if err != nil {
		return fmt.Errorf("key store: compact: %w", err)
	}
	w := bufio.NewWriter(tmp)
	enc := json.NewEncoder(w)
	n := 0
	for _, k := range e.keys {
		_ = enc.Encode(&record{Op: "put_key_full", Key: k})
		n++
	}
	for _, t := range e.teams {
		_ = enc.Encode(&record{Op: "put_team_full", Team: t})
		n++
	}
	for _, u := range e.users {
		_ = enc.Encode(&record{Op: "put_user_full", User: u})
		n++
	}
	n += e.snapshotBudgets(enc)
	n += e.snapshotDeprecated(enc)
	n += e.snapshotRotations(enc)
	for _, m := range e.models {
		_ = enc.Encode(&record{Op: "put_model", Model: m})
		n++
	}
	if len(e.batches) > 0 {
		ids := make([]string, 0, len(e.batches))
		for id := range e.batches {
			ids = append(ids, id)
		}
		_ = enc.Encode(&record{Op: "batches", Batches: ids})
		n++
	}
	if err := w.Flush(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("key store: compact: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return fmt.Errorf("key store: compact: %w", err)
	}
	tmp.Close()
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("key store: compact: %w", err)
	}
	if err := syncDir(e.dir); err != nil {
		return err
	}
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("key store: compact: %w", err)
	}
	e.log.Close()
	e.log = f
	e.lines = n
	return nil
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("key store: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("key store: sync %s: %w", dir, err)
	}
	return nil
}

// clone deep-copies through JSON, so callers never share the state's records.
func clone[T any](v *T) *T {
	b, _ := json.Marshal(v)
	var out T
	_ = json.Unmarshal(b, &out)
	return &out
}

func (e *Embedded) PutKey(_ context.Context, k *Key) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.write(&record{Op: "put_key", Key: k})
}

func (e *Embedded) GetKey(_ context.Context, token string) (*Key, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	k, ok := e.keys[token]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(k), nil
}

func (e *Embedded) DeleteKey(_ context.Context, token string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.keys[token]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "del_key", ID: token})
}

func (e *Embedded) RekeyKey(_ context.Context, oldToken, newToken string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.keys[oldToken]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "rekey", ID: oldToken, NewID: newToken})
}

func (e *Embedded) ListKeys(_ context.Context) ([]*Key, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Key, 0, len(e.keys))
	for _, k := range e.keys {
		out = append(out, clone(k))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Token < out[j].Token })
	return out, nil
}

func (e *Embedded) PutTeam(_ context.Context, t *Team) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.write(&record{Op: "put_team", Team: t})
}

func (e *Embedded) GetTeam(_ context.Context, id string) (*Team, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	t, ok := e.teams[id]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(t), nil
}

func (e *Embedded) DeleteTeam(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.teams[id]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "del_team", ID: id})
}

func (e *Embedded) ListTeams(_ context.Context) ([]*Team, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Team, 0, len(e.teams))
	for _, t := range e.teams {
		out = append(out, clone(t))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].TeamID < out[j].TeamID })
	return out, nil
}

func (e *Embedded) PutUser(_ context.Context, u *User) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.write(&record{Op: "put_user", User: u})
}

func (e *Embedded) GetUser(_ context.Context, id string) (*User, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.users[id]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(u), nil
}

func (e *Embedded) DeleteUser(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.users[id]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "del_user", ID: id})
}

func (e *Embedded) ListUsers(_ context.Context) ([]*User, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*User, 0, len(e.users))
	for _, u := range e.users {
		out = append(out, clone(u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// AddSpend writes the spend logs first, then the totals as one line: the
// totals line is the commit point (a crash between the two leaves logs of a
// batch whose totals were never acknowledged; the caller retries the batch).
func (e *Embedded) AddSpend(_ context.Context, s *Spend) error {
	if s.Empty() {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if s.BatchID != "" && e.batches[s.BatchID] {
		return nil // already added
	}
	if len(s.Logs) > 0 {
		if e.logBuf == nil {
			e.logBuf = make([]byte, 0, logChunk+logChunk/4)
		}
		buf := e.logBuf[:0]
		copied, err := e.copyLogLines(s.LogFile, len(s.Logs), &buf)
		if err != nil {
			return err
		}
		for i := range s.Logs {
			if copied {
				break
			}
			e.logEncodes++
			buf = AppendSpendLog(buf, &s.Logs[i])
			if len(buf) >= logChunk || i == len(s.Logs)-1 {
				if err := e.writeLogs(buf); err != nil {
					return err
				}
				buf = buf[:0]
			}
		}
		if cap(buf) <= 2*logChunk {
			e.logBuf = buf
		}
		if err := e.spend.Sync(); err != nil {
			return fmt.Errorf("key store: spend logs: %w", err)
		}
	}
	return e.write(&record{Op: "spend", Spend: &spendR{BatchID: s.BatchID, Keys: s.Keys, KeyModels: s.KeyModels, Teams: s.Teams, Users: s.Users,
		Members: s.Members, EndUsers: s.EndUsers}})
}

// writeLogs appends whole spend log lines to the spend log file. Whole
// lines per write: a kill between two writes leaves no torn line in the
// middle of the file.
func (e *Embedded) writeLogs(b []byte) error {
	e.logWrites++
	if _, err := e.spend.Write(b); err != nil {
		return fmt.Errorf("key store: spend logs: %w", err)
	}
	return nil
}

// copyLogLines writes a batch's spend logs from its LogFile (Spend.LogFile,
// D155): the lines whose request_id is not "", when there are exactly n of
// them (else nothing is written and copied is false: the caller encodes
// the batch's Logs). buf is the kept line buffer.
func (e *Embedded) copyLogLines(path string, n int, buf *[]byte) (copied bool, err error) {
	if path == "" {
		return false, nil
	}
	lines := func(f func([]byte) error) error {
		fh, err := os.Open(path)
		if err != nil {
			return err
		}
		defer fh.Close()
		sc := bufio.NewScanner(fh)
		sc.Buffer(make([]byte, 64<<10), 16<<20)
		sc.Split(wholeLines)
		for sc.Scan() {
			if l := sc.Bytes(); !bytes.HasPrefix(l, noLogLine) {
				if err := f(l); err != nil {
					return err
				}
			}
		}
		return sc.Err()
	}
	count := 0
	if lines(func([]byte) error { count++; return nil }) != nil || count != n {
		return false, nil
	}
	b := (*buf)[:0]
	written := false
	err = lines(func(l []byte) error {
		b = append(append(b, l...), '\n')
		if len(b) < logChunk {
			return nil
		}
		written = true
		err := e.writeLogs(b)
		b = b[:0]
		return err
	})
	if err == nil && len(b) > 0 {
		written = true
		err = e.writeLogs(b)
	}
	*buf = b[:0]
	if err != nil && !written {
		return false, nil // (the file could not be read again: encoded instead)
	}
	if err != nil {
		return false, fmt.Errorf("key store: spend logs: %w", err)
	}
	return true, nil
}

// wholeLines splits lines ended by "\n"; a last line without one (torn) is
// an error.
func wholeLines(data []byte, atEOF bool) (int, []byte, error) {
	if i := bytes.IndexByte(data, '\n'); i >= 0 {
		return i + 1, data[:i], nil
	}
	if atEOF && len(data) > 0 {
		return 0, nil, errTornLine
	}
	return 0, nil, nil
}

var errTornLine = errors.New("a torn line")

// noLogLine begins a spend write-ahead line that is no spend log (an
// event without a request id: the proxy budget's, D155).
var noLogLine = []byte(`{"request_id":"",`)

func (e *Embedded) ResetBudget(_ context.Context, kind, id string, due, next time.Time) (bool, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	var at *time.Time
	switch kind {
	case "key":
		if k, ok := e.keys[id]; ok {
			at = k.BudgetResetAt
		}
	case "team":
		if t, ok := e.teams[id]; ok {
			at = t.BudgetResetAt
		}
	case "user":
		if u, ok := e.users[id]; ok {
			at = u.BudgetResetAt
		}
	case "budget":
		if b, ok := e.budgets[id]; ok {
			at = b.BudgetResetAt
		}
	default:
		return false, fmt.Errorf("key store: reset budget: unknown kind %q", kind)
	}
	if at == nil || at.After(due) {
		return false, nil
	}
	n := next.UTC()
	return true, e.write(&record{Op: "reset", Kind: kind, ID: id, Next: &n})
}

func (e *Embedded) SpendLogs(ctx context.Context, token string, limit int) ([]SpendLog, error) {
	return e.SpendLogsWhere(ctx, SpendLogFilter{Token: token, Limit: limit})
}

func (e *Embedded) Close() error {
	e.mu.Lock()
	defer e.mu.Unlock()
	err := e.log.Close()
	if e2 := e.spend.Close(); err == nil {
		err = e2
	}
	return err
}
