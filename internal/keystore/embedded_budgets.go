package keystore

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"time"
)

// applyBudgets applies the records of budgets, team memberships and end
// users; mu held (or not yet shared).
func (e *Embedded) applyBudgets(r *record) {
	switch r.Op {
	case "put_budget":
		e.budgets[r.Budget.BudgetID] = r.Budget
	case "del_budget":
		delete(e.budgets, r.ID)
	case "put_member":
		k := MemberKey(r.Member.TeamID, r.Member.UserID)
		if old, ok := e.members[k]; ok {
			r.Member.Spend = old.Spend
		}
		e.members[k] = r.Member
	case "put_member_full":
		e.members[MemberKey(r.Member.TeamID, r.Member.UserID)] = r.Member
	case "del_member":
		delete(e.members, r.ID)
	case "put_end_user":
		if old, ok := e.endUsrs[r.EndUser.UserID]; ok {
			r.EndUser.Spend = old.Spend
		}
		e.endUsrs[r.EndUser.UserID] = r.EndUser
	case "put_end_user_full":
		e.endUsrs[r.EndUser.UserID] = r.EndUser
	case "del_end_user":
		delete(e.endUsrs, r.ID)
	}
}

// addSpendLocked adds a batch's membership and end-user amounts; an end
// user without a row gets one (as LiteLLM creates it on spend).
func (e *Embedded) addSpendLocked(s *spendR) {
	for k, v := range s.Members {
		if m, ok := e.members[k]; ok {
			m.Spend += v
		}
	}
	for id, v := range s.EndUsers {
		u, ok := e.endUsrs[id]
		if !ok {
			u = &EndUser{UserID: id}
			e.endUsrs[id] = u
		}
		u.Spend += v
	}
}

// resetBudgetLocked starts a new period of a budget for the end users and
// memberships that use it.
func (e *Embedded) resetBudgetLocked(id string, next *time.Time) {
	if b, ok := e.budgets[id]; ok {
		b.BudgetResetAt = next
	}
	for _, u := range e.endUsrs {
		if u.BudgetID == id {
			u.Spend = 0
		}
	}
	for _, m := range e.members {
		if m.BudgetID == id {
			m.Spend = 0
		}
	}
}

// snapshotBudgets writes the budgets, memberships and end users of a
// compaction snapshot; it returns the number of lines written.
func (e *Embedded) snapshotBudgets(enc *json.Encoder) int {
	n := 0
	for _, b := range e.budgets {
		_ = enc.Encode(&record{Op: "put_budget", Budget: b})
		n++
	}
	for _, m := range e.members {
		_ = enc.Encode(&record{Op: "put_member_full", Member: m})
		n++
	}
	for _, u := range e.endUsrs {
		_ = enc.Encode(&record{Op: "put_end_user_full", EndUser: u})
		n++
	}
	return n
}

func (e *Embedded) PutBudget(_ context.Context, b *Budget) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.write(&record{Op: "put_budget", Budget: b})
}

func (e *Embedded) GetBudget(_ context.Context, id string) (*Budget, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	b, ok := e.budgets[id]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(b), nil
}

func (e *Embedded) DeleteBudget(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.budgets[id]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "del_budget", ID: id})
}

func (e *Embedded) ListBudgets(_ context.Context) ([]*Budget, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Budget, 0, len(e.budgets))
	for _, b := range e.budgets {
		out = append(out, clone(b))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].BudgetID < out[j].BudgetID })
	return out, nil
}

func (e *Embedded) PutMembership(_ context.Context, m *Membership) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.write(&record{Op: "put_member", Member: m})
}

func (e *Embedded) DeleteMembership(_ context.Context, teamID, userID string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	k := MemberKey(teamID, userID)
	if _, ok := e.members[k]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "del_member", ID: k})
}

func (e *Embedded) ListMemberships(_ context.Context) ([]*Membership, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*Membership, 0, len(e.members))
	for _, m := range e.members {
		out = append(out, clone(m))
	}
	sort.Slice(out, func(i, j int) bool {
		return MemberKey(out[i].TeamID, out[i].UserID) < MemberKey(out[j].TeamID, out[j].UserID)
	})
	return out, nil
}

func (e *Embedded) PutEndUser(_ context.Context, u *EndUser) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.write(&record{Op: "put_end_user", EndUser: u})
}

func (e *Embedded) GetEndUser(_ context.Context, id string) (*EndUser, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	u, ok := e.endUsrs[id]
	if !ok {
		return nil, ErrNotFound
	}
	return clone(u), nil
}

func (e *Embedded) DeleteEndUser(_ context.Context, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, ok := e.endUsrs[id]; !ok {
		return ErrNotFound
	}
	return e.write(&record{Op: "del_end_user", ID: id})
}

func (e *Embedded) ListEndUsers(_ context.Context) ([]*EndUser, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]*EndUser, 0, len(e.endUsrs))
	for _, u := range e.endUsrs {
		out = append(out, clone(u))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].UserID < out[j].UserID })
	return out, nil
}

// SpendLogsWhere scans spend_logs.jsonl (the embedded store is for one
// instance and modest volumes; PostgreSQL answers from an index).
func (e *Embedded) SpendLogsWhere(_ context.Context, f SpendLogFilter) ([]SpendLog, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if _, err := e.spend.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("key store: spend logs: %w", err)
	}
	var out []SpendLog
	sc := bufio.NewScanner(e.spend)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for sc.Scan() {
		var l SpendLog
		if json.Unmarshal(sc.Bytes(), &l) != nil {
			continue // a torn line
		}
		if f.match(&l) {
			out = append(out, l)
		}
	}
	sort.SliceStable(out, func(i, j int) bool { return out[i].StartTime.After(out[j].StartTime) })
	limit := f.Limit
	if limit <= 0 {
		limit = 1000
	}
	if len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

func (e *Embedded) SpendBy(ctx context.Context, f SpendLogFilter, by string) (map[string]float64, error) {
	if _, ok := spendByColumn[by]; !ok {
		return nil, fmt.Errorf("key store: spend by %q", by)
	}
	f.Limit = int(^uint(0) >> 1)
	logs, err := e.SpendLogsWhere(ctx, f)
	if err != nil {
		return nil, err
	}
	out := map[string]float64{}
	for i := range logs {
		out[spendKey(&logs[i], by)] += logs[i].Spend
	}
	return out, nil
}

var (
	_ Store = (*Embedded)(nil)
	_ Store = (*Postgres)(nil)
)
