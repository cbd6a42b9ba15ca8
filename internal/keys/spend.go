package keys

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// SpendEvent is the cost of one answered request, as the outcome of its
// successful try reports it.
type SpendEvent struct {
	RequestID        string    `json:"request_id"`
	CallType         string    `json:"call_type"`
	KeyToken         string    `json:"api_key"`
	TeamID           string    `json:"team_id,omitempty"`
	UserID           string    `json:"user_id,omitempty"`
	EndUser          string    `json:"end_user,omitempty"`
	Model            string    `json:"model"`
	ModelGroup       string    `json:"model_group"`
	ModelID          string    `json:"model_id"`
	Provider         string    `json:"provider"`
	Cost             float64   `json:"cost"`
	PromptTokens     int64     `json:"prompt_tokens"`
	CompletionTokens int64     `json:"completion_tokens"`
	Start            time.Time `json:"start"`
	End              time.Time `json:"end"`
	Tags             []string  `json:"tags,omitempty"`
	// CacheHit and CacheKey: answered from the response cache (D111).
	CacheHit bool   `json:"cache_hit,omitempty"`
	CacheKey string `json:"cache_key,omitempty"`
	// Request and Response are the spend log's proxy_server_request and
	// response (store_prompts_in_spend_logs, D117; nil: "{}").
	Request  json.RawMessage `json:"proxy_server_request,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

func newSpend() *keystore.Spend {
	return &keystore.Spend{Keys: map[string]float64{}, KeyModels: map[string]map[string]float64{},
		Teams: map[string]float64{}, Users: map[string]float64{}, Members: map[string]float64{}, EndUsers: map[string]float64{}}
}

// nextSpend is the batch after prev: its spend logs sized as prev's (up to
// maxLogsHint), so that a steady load appends without growing the slice
// (D96: the growth's copies and fresh pages were the gateway's largest
// cost of a keyed request). The spare slice, when large enough, is that of
// a batch the store took already, reused (D108: no fresh pages per batch;
// the two batches' slices alternate).
func (s *Service) nextSpend(prev *keystore.Spend) *keystore.Spend {
	b := newSpend()
	if n := min(len(prev.Logs), maxLogsHint); n > 0 {
		if cap(s.spareLogs) >= n {
			b.Logs, s.spareLogs = s.spareLogs[:0], nil
		} else {
			b.Logs = make([]keystore.SpendLog, 0, n+n/8)
		}
	}
	return b
}

// keepSpare keeps a written batch's spend-log slice for a later batch
// (pmu held): emptied, so that it holds no strings of the old logs. A slice
// above maxSpareLogs, or mostly unused (the load fell), is left to the GC.
func (s *Service) keepSpare(l []keystore.SpendLog) {
	if cap(l) == 0 || cap(l) > maxSpareLogs || len(l) < cap(l)/4 || cap(l) <= cap(s.spareLogs) {
		return
	}
	clear(l[:cap(l)])
	s.spareLogs = l[:0]
}

const maxLogsHint = 1 << 15

// maxSpareLogs bounds the spare slice kept (≈ 300 B a log: 40 MB, a 10 s
// batch at 13,000 answers a second).
const maxSpareLogs = 1 << 17

func newBatchID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// Record adds a request's spend: at once to the in-memory totals the budget
// checks read, to the write-ahead file, and to the next batch for the store.
func (s *Service) Record(e SpendEvent) { s.record(e, false) }

// record is Record; remembered: e's request id was remembered already by
// its caller (OnTry, before counting the try's tokens).
func (s *Service) record(e SpendEvent, remembered bool) {
	if e.Cost < 0 || e.Cost != e.Cost {
		e.Cost = 0
	}
	if e.KeyToken == "" && e.TeamID == "" && e.UserID == "" && !trackEndUser(e.EndUser) {
		return
	}
	s.pmu.Lock()
	if !remembered && e.RequestID != "" && !s.recent.add(e.RequestID) {
		s.recent.dup++
		s.pmu.Unlock()
		s.log.Debug("spend of a request added already (an outcome sent again)", "request_id", e.RequestID)
		return
	}
	l := spendLogOf(&e)
	if s.wal != nil {
		// The event's one encoding (D155): its spend log line, which the
		// embedded store copies from the sealed file (Spend.LogFile).
		if err := s.wal.append(&l); err != nil {
			s.log.Warn("spend write-ahead file", "error", err.Error())
		}
	}
	addLog(s.pending, &l, s.o.DisableSpendLogs)
	s.mu.Lock()
	// Each record is looked up once, and only by a set id (D127: a keyed
	// answer looked its key up four times and the empty team and user ids
	// in six maps).
	var r spendRecs
	var keyBefore, teamBefore, userBefore, memberBefore float64
	if e.KeyToken != "" {
		keyBefore = s.spend[e.KeyToken]
		if r.key = s.keys[e.KeyToken]; r.key != nil {
			s.spend[e.KeyToken] = keyBefore + e.Cost
			s.markKeyLocked(e.KeyToken) // its spend and model windows (D78)
		}
	}
	if e.TeamID != "" {
		teamBefore = s.tspnd[e.TeamID]
		if r.team = s.teams[e.TeamID]; r.team != nil {
			s.tspnd[e.TeamID] = teamBefore + e.Cost
		}
	}
	s.softBudgetCrossed(&e, &r, keyBefore, teamBefore)
	if e.UserID != "" {
		userBefore = s.uspnd[e.UserID]
		if r.user = s.users[e.UserID]; r.user != nil {
			s.uspnd[e.UserID] = userBefore + e.Cost
		}
	}
	if e.TeamID != "" && e.UserID != "" {
		mk := keystore.MemberKey(e.TeamID, e.UserID)
		memberBefore = s.mspnd[mk]
		if r.member = s.members[mk]; r.member != nil {
			s.mspnd[mk] = memberBefore + e.Cost
		}
	}
	endBefore := 0.0
	if trackEndUser(e.EndUser) {
		endBefore = s.espnd[e.EndUser]
		s.espnd[e.EndUser] += e.Cost
	}
	crossed := s.budgetCrossedLocked(&e, &r, keyBefore, teamBefore, userBefore, memberBefore)
	crossed = trackEndUser(e.EndUser) && s.endUserCrossedLocked(e.EndUser, endBefore) || crossed
	crossed = s.recordModelWindowsLocked(&e, &r, s.now()) || crossed
	s.mu.Unlock()
	s.pmu.Unlock()
	s.viewChanged(crossed)
	if e.Cost > 0 && e.UserID != ProxyBudgetUser && s.proxyBudget.Load() {
		// The proxy-wide budget's row counts every request (proxybudget.go),
		// as an event of its own: in the write-ahead file, no spend log.
		s.Record(SpendEvent{UserID: ProxyBudgetUser, Cost: e.Cost})
	}
}

// spendRecs are the records a spend event names, looked up once by Record
// (nil: not in the cache, or the event names none).
type spendRecs struct {
	key    *keystore.Key
	team   *keystore.Team
	user   *keystore.User
	member *keystore.Membership
}

// maxEndUserID bounds the end-user ids (the request's `user` field) whose
// spend is tracked: a longer id is a client's mistake or abuse, not a customer.
const maxEndUserID = 256

func trackEndUser(id string) bool { return id != "" && len(id) <= maxEndUserID }

// spendLogOf is e as its spend log: also its write-ahead line (D155), from
// which the event is read back (eventOfLog).
func spendLogOf(e *SpendEvent) keystore.SpendLog {
	l := keystore.SpendLog{RequestID: e.RequestID, CallType: e.CallType, APIKey: e.KeyToken, Spend: e.Cost,
		TotalTokens: e.PromptTokens + e.CompletionTokens, PromptTokens: e.PromptTokens, CompletionTokens: e.CompletionTokens,
		StartTime: e.Start, EndTime: e.End, Model: e.Model, ModelID: e.ModelID, ModelGroup: e.ModelGroup, Provider: e.Provider,
		User: e.UserID, TeamID: e.TeamID, EndUser: e.EndUser, RequestTags: e.Tags, Status: "success", Request: e.Request, Response: e.Response}
	if e.CacheHit {
		// LiteLLM's spend log of a hit: cache_hit "True", its cache key.
		l.CacheHit, l.CacheKey = "True", e.CacheKey
	}
	return l
}

// eventOfLog is the event whose spend log l is.
func eventOfLog(l *keystore.SpendLog) SpendEvent {
	return SpendEvent{RequestID: l.RequestID, CallType: l.CallType, KeyToken: l.APIKey, TeamID: l.TeamID, UserID: l.User,
		EndUser: l.EndUser, Model: l.Model, ModelGroup: l.ModelGroup, ModelID: l.ModelID, Provider: l.Provider, Cost: l.Spend,
		PromptTokens: l.PromptTokens, CompletionTokens: l.CompletionTokens, Start: l.StartTime, End: l.EndTime, Tags: l.RequestTags,
		CacheHit: l.CacheHit == "True", CacheKey: l.CacheKey, Request: l.Request, Response: l.Response}
}

// addEvent folds one event into a batch.
func addEvent(b *keystore.Spend, e SpendEvent, noLogs bool) {
	l := spendLogOf(&e)
	addLog(b, &l, noLogs)
}

// addLog folds one event, as its spend log, into a batch.
func addLog(b *keystore.Spend, l *keystore.SpendLog, noLogs bool) {
	if l.APIKey != "" {
		b.Keys[l.APIKey] += l.Spend
		if l.ModelGroup != "" {
			m := b.KeyModels[l.APIKey]
			if m == nil {
				m = map[string]float64{}
				b.KeyModels[l.APIKey] = m
			}
			m[l.ModelGroup] += l.Spend
		}
	}
	if l.TeamID != "" {
		b.Teams[l.TeamID] += l.Spend
	}
	if l.User != "" {
		b.Users[l.User] += l.Spend
	}
	if l.TeamID != "" && l.User != "" {
		b.Members[keystore.MemberKey(l.TeamID, l.User)] += l.Spend
	}
	if trackEndUser(l.EndUser) {
		b.EndUsers[l.EndUser] += l.Spend
	}
	if !noLogs && l.RequestID != "" {
		b.Logs = append(b.Logs, *l)
	}
}

// flush writes the pending spend as one batch. The batch's events sit in a
// sealed write-ahead file named after the batch id until the store has the
// batch; the store records the id in the same transaction, so a batch
// replayed after a crash is never counted twice.
func (s *Service) flush(ctx context.Context) error {
	s.installMu.Lock() // no cache install from the store meanwhile
	defer s.installMu.Unlock()
	s.pmu.Lock()
	var sealed []sealedBatch
	if s.wal != nil {
		if !s.pending.Empty() {
			id, path, whole, err := s.wal.seal()
			if err != nil {
				s.pmu.Unlock()
				return err
			}
			if path != "" {
				// The events just sealed are the ones folded into pending
				// (both under pmu): the file is read again only if this
				// process dies before the store has the batch.
				s.inMemory[path] = sealedBatch{id: id, path: path, spend: s.pending, lines: whole && !s.o.DisableSpendLogs}
			}
		}
		var err error
		if sealed, err = s.wal.sealedBatches(s.o.DisableSpendLogs, s.inMemory, &s.recent); err != nil {
			s.pmu.Unlock()
			return err
		}
		s.pending = s.nextSpend(s.pending)
	} else if !s.pending.Empty() {
		sealed = []sealedBatch{{id: newBatchID(), spend: s.pending}}
		s.pending = s.nextSpend(s.pending)
	}
	s.pmu.Unlock()
	var firstErr error
	for _, b := range sealed {
		b.spend.BatchID = b.id
		if b.lines {
			b.spend.LogFile = b.path
		}
		if err := s.o.Store.AddSpend(ctx, b.spend); err != nil {
			if firstErr == nil {
				firstErr = err
			}
			if s.wal == nil {
				// No file to retry from: keep the amounts for the next batch.
				s.pmu.Lock()
				merge(s.pending, b.spend)
				s.pmu.Unlock()
			}
			continue
		}
		s.pmu.Lock()
		if b.path != "" {
			_ = os.Remove(b.path)
			delete(s.inMemory, b.path)
		}
		s.keepSpare(b.spend.Logs)
		s.pmu.Unlock()
	}
	return firstErr
}

func merge(into, from *keystore.Spend) {
	for k, v := range from.Keys {
		into.Keys[k] += v
	}
	for k, ms := range from.KeyModels {
		m := into.KeyModels[k]
		if m == nil {
			m = map[string]float64{}
			into.KeyModels[k] = m
		}
		for x, v := range ms {
			m[x] += v
		}
	}
	for k, v := range from.Teams {
		into.Teams[k] += v
	}
	for k, v := range from.Users {
		into.Users[k] += v
	}
	for k, v := range from.Members {
		into.Members[k] += v
	}
	for k, v := range from.EndUsers {
		into.EndUsers[k] += v
	}
	into.Logs = append(into.Logs, from.Logs...)
}

// wal is the spend write-ahead file: spend.wal takes every event as it is
// recorded (one write(2), so it survives the process being killed; an OS
// crash loses what the OS had not written back); seal renames it to
// spend-<batch id>.sealed (fsynced) before the batch goes to the store.
// Once grouped (walbuf.go), an event's line is held in memory and the lines
// of a group of events are written with one write(2) by writeHeld.
type wal struct {
	dir     string
	mu      sync.Mutex
	f       *os.File
	n       int
	grouped bool   // lines are held until writeHeld (walbuf.go)
	held    []byte // lines not written yet; ungrouped: one event's line, reused
	writes  int    // write(2) calls of lines, for the tests
	// failed: a write of lines to the current file failed (its lines are
	// not all the events folded into the batch).
	failed bool
}

const walName = "spend.wal"

// openWAL opens the write-ahead file; events left by a previous process in
// spend.wal are sealed as a batch of their own (written by the first flush).
func openWAL(dir string) (*wal, error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("spend write-ahead file: %w", err)
	}
	w := &wal{dir: dir}
	if st, err := os.Stat(filepath.Join(dir, walName)); err == nil && st.Size() > 0 {
		if err := os.Rename(filepath.Join(dir, walName), filepath.Join(dir, "spend-"+newBatchID()+".sealed")); err != nil {
			return nil, fmt.Errorf("spend write-ahead file: %w", err)
		}
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *wal) open() error {
	f, err := os.OpenFile(filepath.Join(w.dir, walName), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("spend write-ahead file: %w", err)
	}
	w.f, w.n, w.failed = f, 0, false
	return nil
}

func (w *wal) append(l *keystore.SpendLog) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.held = keystore.AppendSpendLog(w.held, l)
	w.n++
	if w.grouped && len(w.held) < walHoldMax {
		return nil
	}
	return w.writeHeldLocked()
}

// seal closes the current file under a batch name and starts a new one; it
// returns the batch id and the sealed file ("" when the file was empty);
// whole: every line folded into the batch was written to it. Lines held in
// memory are written first.
func (w *wal) seal() (id, path string, whole bool, err error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n == 0 {
		return "", "", false, nil
	}
	if err := w.writeHeldLocked(); err != nil {
		return "", "", false, fmt.Errorf("spend write-ahead file: %w", err)
	}
	if err := w.f.Sync(); err != nil {
		return "", "", false, fmt.Errorf("spend write-ahead file: %w", err)
	}
	w.f.Close()
	id = newBatchID()
	path = filepath.Join(w.dir, "spend-"+id+".sealed")
	if err := os.Rename(filepath.Join(w.dir, walName), path); err != nil {
		return "", "", false, fmt.Errorf("spend write-ahead file: %w", err)
	}
	whole = !w.failed
	return id, path, whole, w.open()
}

type sealedBatch struct {
	id    string
	path  string
	spend *keystore.Spend
	// lines: the sealed file's lines are the batch's spend logs among
	// others (sealed by this process, every line written): the store may
	// copy them (keystore.Spend.LogFile, D155).
	lines bool
}

// sealedBatches lists every sealed file: from known when this process
// sealed it, else read from the file (a torn last line is skipped: its write
// never completed).
func (w *wal) sealedBatches(noLogs bool, known map[string]sealedBatch, seen *recentIDs) ([]sealedBatch, error) {
	m, err := filepath.Glob(filepath.Join(w.dir, "spend-*.sealed"))
	if err != nil {
		return nil, err
	}
	sort.Strings(m)
	var out []sealedBatch
	for _, p := range m {
		if b, ok := known[p]; ok {
			out = append(out, b)
			continue
		}
		f, err := os.Open(p)
		if err != nil {
			return nil, fmt.Errorf("spend write-ahead file: %w", err)
		}
		b := newSpend()
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 64<<10), 4<<20)
		for sc.Scan() {
			if e, ok := readWALLine(sc.Bytes()); ok {
				if e.RequestID != "" {
					// An event sent again after this restart is not added twice.
					seen.add(e.RequestID)
				}
				addEvent(b, e, noLogs)
			}
		}
		f.Close()
		id := strings.TrimSuffix(strings.TrimPrefix(filepath.Base(p), "spend-"), ".sealed")
		out = append(out, sealedBatch{id: id, path: p, spend: b})
	}
	return out, nil
}

// readWALLine reads a write-ahead line: an event's spend log line (D155),
// or an event as json.Marshal wrote it before (a file left by an older
// version: its lines have no status, and a cache hit's cache_hit is a bool).
func readWALLine(b []byte) (SpendEvent, bool) {
	var l keystore.SpendLog
	if json.Unmarshal(b, &l) == nil && l.Status != "" {
		return eventOfLog(&l), true
	}
	var e SpendEvent
	return e, json.Unmarshal(b, &e) == nil
}

func (w *wal) close() {
	w.mu.Lock()
	defer w.mu.Unlock()
	_ = w.writeHeldLocked()
	_ = w.f.Sync()
	w.f.Close()
}
