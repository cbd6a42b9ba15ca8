package keys

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// customerRoutes and budgetRoutes are LiteLLM's /customer/* (also spelled
// /end_user/*) and /budget/* routes served here.
var customerRoutes = map[string]bool{"new": true, "info": true, "update": true, "delete": true, "list": true, "block": true, "unblock": true}
var budgetRoutes = map[string]bool{"new": true, "info": true, "update": true, "delete": true, "list": true}

func budgetView(b *keystore.Budget) map[string]any {
	return map[string]any{
		"budget_id": b.BudgetID, "max_budget": b.MaxBudget, "soft_budget": b.SoftBudget, "max_parallel_requests": b.MaxParallelRequests,
		"tpm_limit": b.TPMLimit, "rpm_limit": b.RPMLimit, "model_max_budget": mapOrNil(b.ModelMaxBudget),
		"budget_duration": nilIfEmpty(b.BudgetDuration), "budget_reset_at": timeOrNil(b.BudgetResetAt),
		"temp_budget_increase": b.TempBudgetIncrease, "temp_budget_expiry": timeOrNil(b.TempBudgetExpiry),
		"created_at": b.CreatedAt.UTC().Format(time.RFC3339Nano), "created_by": b.CreatedBy,
		"updated_at": b.UpdatedAt.UTC().Format(time.RFC3339Nano), "updated_by": b.UpdatedBy,
	}
}

func mapOrNil(m map[string]any) any {
	if len(m) == 0 {
		return nil
	}
	return m
}

func (s *Service) endUserView(e *keystore.EndUser) map[string]any {
	s.mu.RLock()
	spend := s.espnd[e.UserID]
	b := s.budgets[e.BudgetID]
	s.mu.RUnlock()
	out := map[string]any{"user_id": e.UserID, "alias": nilIfEmpty(e.Alias), "spend": spend, "allowed_model_region": nilIfEmpty(e.AllowedModelRegion),
		"default_model": nilIfEmpty(e.DefaultModel), "budget_id": nilIfEmpty(e.BudgetID), "blocked": e.Blocked, "litellm_budget_table": nil,
		"object_permission_id": nil}
	if b != nil {
		out["litellm_budget_table"] = budgetView(b)
	}
	return out
}

func (s *Service) setEndUser(id string, e *keystore.EndUser) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	if e == nil {
		delete(s.endUsrs, id)
		delete(s.espnd, id)
		return
	}
	s.endUsrs[id] = e
	if _, ok := s.espnd[id]; !ok {
		s.espnd[id] = e.Spend + s.pending.EndUsers[id]
	}
}

// learnEndUser installs a customer row read from the store unless the
// cache has one meanwhile (a /customer/new or update won).
func (s *Service) learnEndUser(id string, e *keystore.EndUser) {
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	s.learnLocked(id, e)
}

// learnEndUsers is learnEndUser for the rows the cache lacks, under one lock.
func (s *Service) learnEndUsers(rows []*keystore.EndUser) {
	s.mu.RLock()
	missing := 0
	for _, e := range rows {
		if s.endUsrs[e.UserID] == nil {
			missing++
		}
	}
	s.mu.RUnlock()
	if missing == 0 {
		return
	}
	s.pmu.Lock()
	defer s.pmu.Unlock()
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range rows {
		s.learnLocked(e.UserID, e)
	}
}

func (s *Service) learnLocked(id string, e *keystore.EndUser) {
	if s.endUsrs[id] != nil {
		return
	}
	s.endUsrs[id] = e
	if _, ok := s.espnd[id]; !ok {
		s.espnd[id] = e.Spend + s.pending.EndUsers[id]
	}
}

// budgetFieldNames are the fields of a customer request that make or change
// its budget (LiteLLM's BudgetNewRequest fields).
var budgetFieldNames = []string{"max_budget", "soft_budget", "max_parallel_requests", "tpm_limit", "rpm_limit", "model_max_budget", "budget_duration", "budget_reset_at"}

func hasBudgetFields(req map[string]any) bool {
	for _, f := range budgetFieldNames {
		if v, ok := req[f]; ok && v != nil {
			return true
		}
	}
	return false
}

// budgetFields reads a budget's fields from req into b (only those present).
func (s *Service) budgetFields(req map[string]any, b *keystore.Budget) *Error {
	now := s.now().UTC()
	for name, v := range req {
		var e *Error
		switch name {
		case "max_budget":
			b.MaxBudget, e = optNumber(name, v, maxMoney)
		case "soft_budget":
			b.SoftBudget, e = optNumber(name, v, maxMoney)
		case "max_parallel_requests":
			b.MaxParallelRequests, e = optInt(name, v)
		case "tpm_limit":
			b.TPMLimit, e = optInt(name, v)
		case "rpm_limit":
			b.RPMLimit, e = optInt(name, v)
		case "model_max_budget":
			b.ModelMaxBudget, e = object(name, v)
		case "budget_duration":
			b.BudgetDuration, b.BudgetResetAt, e = optPeriod(name, v, now)
		}
		if e != nil {
			return e
		}
	}
	if v, ok := req["budget_reset_at"].(string); ok && v != "" {
		t, err := time.Parse(time.RFC3339Nano, v)
		if err != nil {
			return badRequest("budget_reset_at must be an RFC 3339 time")
		}
		t = t.UTC()
		b.BudgetResetAt = &t
	}
	return nil
}

// handleBudget serves /budget/*.
func (s *Service) handleBudget(ctx context.Context, name string, req map[string]any) (any, *Error) {
	now := s.now().UTC()
	switch name {
	case "new":
		b := &keystore.Budget{BudgetID: uuid4(), CreatedAt: now, UpdatedAt: now, CreatedBy: "default_user_id", UpdatedBy: "default_user_id"}
		if v, ok := req["budget_id"]; ok && v != nil {
			id, e := optString("budget_id", v)
			if e != nil || id == "" {
				return nil, badRequest("budget_id must be a non-empty string")
			}
			if s.budget(id) != nil {
				return nil, badRequest(fmt.Sprintf("Budget with id '%s' already exists.", id))
			}
			b.BudgetID = id
		}
		if e := s.budgetFields(req, b); e != nil {
			return nil, e
		}
		if err := s.o.Store.PutBudget(ctx, b); err != nil {
			return nil, storeError(err)
		}
		s.setBudget(b.BudgetID, b)
		return budgetView(b), nil
	case "update":
		id, _ := req["budget_id"].(string)
		if id == "" {
			return nil, badRequest("budget_id is required")
		}
		b, err := s.o.Store.GetBudget(ctx, id)
		if err != nil {
			if errors.Is(err, keystore.ErrNotFound) {
				return nil, notFound("Budget", id)
			}
			return nil, storeError(err)
		}
		if e := s.budgetFields(req, b); e != nil {
			return nil, e
		}
		b.UpdatedAt = now
		if err := s.o.Store.PutBudget(ctx, b); err != nil {
			return nil, storeError(err)
		}
		s.setBudget(id, b)
		return budgetView(b), nil
	case "info":
		ids, e := stringList("budgets", req["budgets"])
		if e != nil {
			return nil, e
		}
		if len(ids) == 0 {
			return nil, badRequest("Specify list of budget id's to query. Passed in=[]")
		}
		out := []any{}
		for _, id := range ids {
			if b := s.budget(id); b != nil {
				out = append(out, budgetView(b))
			}
		}
		return out, nil
	case "list":
		s.mu.RLock()
		ids := make([]string, 0, len(s.budgets))
		for id := range s.budgets {
			ids = append(ids, id)
		}
		s.mu.RUnlock()
		sort.Strings(ids)
		out := []any{}
		for _, id := range ids {
			if b := s.budget(id); b != nil {
				out = append(out, budgetView(b))
			}
		}
		return out, nil
	case "delete":
		id, _ := req["id"].(string)
		if id == "" {
			return nil, badRequest("id is required: the budget_id to delete")
		}
		b := s.budget(id)
		if err := s.o.Store.DeleteBudget(ctx, id); err != nil {
			if errors.Is(err, keystore.ErrNotFound) {
				return nil, notFound("Budget", id)
			}
			return nil, storeError(err)
		}
		s.setBudget(id, nil)
		if b == nil {
			return map[string]any{"budget_id": id}, nil
		}
		return budgetView(b), nil
	}
	return nil, badRequest("unknown budget route")
}

// handleCustomer serves /customer/* (end users: the `user` of a request).
func (s *Service) handleCustomer(ctx context.Context, name string, req map[string]any, q url.Values) (any, *Error) {
	switch name {
	case "new", "update":
		id, _ := req["user_id"].(string)
		if id == "" || len(id) > maxEndUserID {
			return nil, &Error{Status: 400, Type: "bad_request", Code: "400", Param: "user_id",
				Message: fmt.Sprintf("user_id is required: a string of 1 to %d characters", maxEndUserID)}
		}
		var eu *keystore.EndUser
		if name == "new" {
			if cur, err := s.o.Store.GetEndUser(ctx, id); err == nil && cur != nil {
				return nil, &Error{Status: 400, Type: "bad_request", Code: "400", Param: "user_id",
					Message: fmt.Sprintf("Customer already exists, passed user_id=%s. Please pass a new user_id.", id)}
			}
			eu = &keystore.EndUser{UserID: id}
			if v, ok := req["spend"]; ok {
				sp, e := optNumber("spend", v, maxMoney)
				if e != nil {
					return nil, e
				}
				if sp != nil {
					eu.Spend = *sp
				}
			}
		} else {
			var err error
			if eu, err = s.o.Store.GetEndUser(ctx, id); err != nil {
				if errors.Is(err, keystore.ErrNotFound) {
					return nil, &Error{Status: 404, Type: "not_found", Code: "404", Param: "user_id",
						Message: fmt.Sprintf("End User Id=%s does not exist in db", id)}
				}
				return nil, storeError(err)
			}
		}
		var e *Error
		for f, v := range req {
			switch f {
			case "alias":
				eu.Alias, e = optString(f, v)
			case "allowed_model_region":
				eu.AllowedModelRegion, e = optString(f, v)
				if e == nil && eu.AllowedModelRegion != "" && eu.AllowedModelRegion != "eu" && eu.AllowedModelRegion != "us" {
					e = badRequest("allowed_model_region must be 'eu' or 'us'")
				}
			case "default_model":
				eu.DefaultModel, e = optString(f, v)
			case "blocked":
				if v != nil {
					b, ok := v.(bool)
					if !ok {
						e = badRequest("blocked must be true or false")
					}
					eu.Blocked = b
				}
			}
			if e != nil {
				return nil, e
			}
		}
		if v, ok := req["budget_id"]; ok && v != nil {
			bid, e := optString("budget_id", v)
			if e != nil {
				return nil, e
			}
			if bid != "" && s.budget(bid) == nil {
				return nil, badRequest(fmt.Sprintf("budget_id=%s does not exist: create it with /budget/new", bid))
			}
			eu.BudgetID = bid
		}
		if hasBudgetFields(req) {
			// The customer's own budget: made for it, or the one it has
			// changed (as LiteLLM does; a budget shared through budget_id
			// is changed for everyone who uses it).
			now := s.now().UTC()
			b := &keystore.Budget{BudgetID: uuid4(), CreatedAt: now, CreatedBy: "default_user_id"}
			if cur := s.budget(eu.BudgetID); cur != nil && name == "update" {
				cp := *cur
				b = &cp
			}
			if e := s.budgetFields(req, b); e != nil {
				return nil, e
			}
			b.UpdatedAt, b.UpdatedBy = now, "default_user_id"
			if err := s.o.Store.PutBudget(ctx, b); err != nil {
				return nil, storeError(err)
			}
			s.setBudget(b.BudgetID, b)
			eu.BudgetID = b.BudgetID
		}
		if err := s.o.Store.PutEndUser(ctx, eu); err != nil {
			return nil, storeError(err)
		}
		s.setEndUser(id, eu)
		return s.endUserView(eu), nil
	case "info":
		id := q.Get("end_user_id")
		s.mu.RLock()
		eu := s.endUsrs[id]
		s.mu.RUnlock()
		if eu == nil && id != "" {
			// A customer first seen in a request's `user` gets its row from
			// the spend batch (as LiteLLM's), which the cache learns only at
			// its next refresh: the store answers (D96).
			var err error
			if eu, err = s.o.Store.GetEndUser(ctx, id); err != nil && !errors.Is(err, keystore.ErrNotFound) {
				return nil, storeError(err)
			}
			if eu != nil {
				s.learnEndUser(id, eu)
			}
		}
		if eu == nil {
			return nil, &Error{Status: 404, Type: "not_found", Code: "404", Param: "end_user_id",
				Message: fmt.Sprintf("End User Id=%s does not exist in db", id)}
		}
		return s.endUserView(eu), nil
	case "list":
		// The store's rows: customers a spend batch created (a request's
		// `user`) are not in the cache before its next refresh (D96).
		stored, err := s.o.Store.ListEndUsers(ctx)
		if err != nil {
			return nil, storeError(err)
		}
		s.learnEndUsers(stored)
		s.mu.RLock()
		all := make([]*keystore.EndUser, 0, len(s.endUsrs))
		for _, eu := range s.endUsrs {
			all = append(all, eu)
		}
		s.mu.RUnlock()
		sort.Slice(all, func(i, j int) bool { return all[i].UserID < all[j].UserID })
		out := make([]any, 0, len(all))
		for _, eu := range all {
			out = append(out, s.endUserView(eu))
		}
		return out, nil
	case "delete":
		ids, e := stringList("user_ids", req["user_ids"])
		if e != nil {
			return nil, e
		}
		if len(ids) == 0 {
			return nil, badRequest("user_id is required, passed user_id = None")
		}
		var missing []string
		s.mu.RLock()
		for _, id := range ids {
			if s.endUsrs[id] == nil {
				missing = append(missing, id)
			}
		}
		s.mu.RUnlock()
		if len(missing) > 0 {
			return nil, &Error{Status: 404, Type: "not_found", Code: "404", Param: "user_ids",
				Message: fmt.Sprintf("End User Id(s)=%s do not exist in db", strings.Join(missing, ", "))}
		}
		for _, id := range ids {
			if err := s.o.Store.DeleteEndUser(ctx, id); err != nil && !errors.Is(err, keystore.ErrNotFound) {
				return nil, storeError(err)
			}
			s.setEndUser(id, nil)
		}
		return map[string]any{"deleted_customers": len(ids), "message": "Successfully deleted customers with ids: " + pyList(ids)}, nil
	case "block", "unblock":
		ids, e := stringList("user_ids", req["user_ids"])
		if e != nil {
			return nil, e
		}
		if len(ids) == 0 {
			return nil, badRequest("user_ids is required")
		}
		rows := []any{}
		for _, id := range ids {
			if len(id) == 0 || len(id) > maxEndUserID {
				return nil, badRequest(fmt.Sprintf("user_ids entries must be 1 to %d characters", maxEndUserID))
			}
			eu, err := s.o.Store.GetEndUser(ctx, id)
			if errors.Is(err, keystore.ErrNotFound) {
				eu, err = &keystore.EndUser{UserID: id}, nil
			}
			if err != nil {
				return nil, storeError(err)
			}
			eu.Blocked = name == "block"
			if err := s.o.Store.PutEndUser(ctx, eu); err != nil {
				return nil, storeError(err)
			}
			s.setEndUser(id, eu)
			rows = append(rows, s.endUserView(eu))
		}
		if name == "block" {
			return map[string]any{"blocked_users": rows}, nil
		}
		return map[string]any{"unblocked_users": rows}, nil
	}
	return nil, badRequest("unknown customer route")
}
