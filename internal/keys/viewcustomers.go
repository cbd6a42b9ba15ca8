package keys

import (
	"sort"

	"github.com/llmgate/llmgate/internal/keystore"
)

// Customers in the module's key table (D73). A request whose body names a
// `user` (a customer, LiteLLM's end user) passes the end-user checks after
// the key's: blocked (400), over its budget (its budget_id's max_budget,
// else max_end_user_budget: 400 budget_exceeded), its budget's per-model
// budgets, then its budget's rpm/tpm. The table's common part carries what
// the first three read: every customer with a row (projected to id, budget,
// blocked, region, current spend) and every customer with spend while a default
// end-user budget applies, with their budgets, windows and the default. A
// customer table can be large, so at most MaxViewEndUsers are pushed (those
// that can be refused first or handed on: blocked, with a budget or a
// region); the table then says
// it is partial and the module hands a customer it does not find to
// ext_proc. A customer whose budget has rpm/tpm limits (counted in the
// gateway's limit store) is handed on as well (EndUserServable). A
// customer's allowed_model_region is in the table too: the module's plan
// reads it (EndUserRegion, D173).

// MaxViewEndUsers bounds the customers in the module's key table.
const MaxViewEndUsers = 10000

// EndUserDefaults are litellm_settings.max_end_user_budget and
// max_end_user_budget_id in the key table.
type EndUserDefaults struct {
	MaxBudget *float64 `json:"max_budget,omitempty"`
	BudgetID  string   `json:"budget_id,omitempty"`
}

// endUsersLocked adds the customers, their windows and the end-user
// defaults to a table's common part, and their budgets to budgets (s.mu
// read-held).
func (s *Service) endUsersLocked(sn *Snapshot, budgets map[string]bool) {
	if s.maxEndUserBudget != nil || s.endUserBudgetID != "" {
		sn.EndUserDefault = &EndUserDefaults{MaxBudget: s.maxEndUserBudget, BudgetID: s.endUserBudgetID}
		if s.endUserBudgetID != "" {
			budgets[s.endUserBudgetID] = true
		}
	}
	type cand struct {
		id   string
		rank int // 0: blocked, with a budget of its own or a region; 1: spend under the default
	}
	cands := make([]cand, 0, len(s.endUsrs))
	for id, eu := range s.endUsrs {
		r := 1
		if eu.Blocked || eu.BudgetID != "" || eu.AllowedModelRegion != "" {
			r = 0
		}
		cands = append(cands, cand{id, r})
	}
	if sn.EndUserDefault != nil {
		for id, v := range s.espnd {
			if s.endUsrs[id] == nil && v > 0 {
				cands = append(cands, cand{id, 1})
			}
		}
	}
	if len(cands) == 0 {
		return
	}
	sort.Slice(cands, func(i, j int) bool {
		if cands[i].rank != cands[j].rank {
			return cands[i].rank < cands[j].rank
		}
		return cands[i].id < cands[j].id
	})
	if len(cands) > MaxViewEndUsers {
		cands, sn.EndUsersPartial = cands[:MaxViewEndUsers], true
	}
	sort.Slice(cands, func(i, j int) bool { return cands[i].id < cands[j].id })
	sn.EndUsers = make([]*keystore.EndUser, 0, len(cands))
	for _, c := range cands {
		p := &keystore.EndUser{UserID: c.id, Spend: s.espnd[c.id]}
		if eu := s.endUsrs[c.id]; eu != nil {
			p.BudgetID, p.Blocked, p.AllowedModelRegion = eu.BudgetID, eu.Blocked, eu.AllowedModelRegion
			if eu.BudgetID != "" {
				budgets[eu.BudgetID] = true
			}
		}
		sn.EndUsers = append(sn.EndUsers, p)
		if w := s.windowsLocked(winEndUser, c.id); w != nil {
			sn.Windows = append(sn.Windows, *w)
		}
	}
}

// applyEndUsersLocked puts a whole table's or common part's customers into
// a view (s.mu held).
func (s *Service) applyEndUsersLocked(sn *Snapshot) {
	s.endUsrs, s.espnd = make(map[string]*keystore.EndUser, len(sn.EndUsers)), make(map[string]float64, len(sn.EndUsers))
	for _, eu := range sn.EndUsers {
		s.endUsrs[eu.UserID], s.espnd[eu.UserID] = eu, eu.Spend
	}
	s.endUsersPartial = sn.EndUsersPartial
	s.proxyBudget.Store(sn.ProxyBudget) // proxybudget.go
	s.maxEndUserBudget, s.endUserBudgetID = nil, ""
	if d := sn.EndUserDefault; d != nil {
		s.maxEndUserBudget, s.endUserBudgetID = d.MaxBudget, d.BudgetID
	}
}

// EndUserServable reports whether a module view can run a customer's checks
// itself: false for a customer left out of a partial table, one whose budget
// is not in the table, and one whose budget has rpm/tpm/parallel limits
// (counted in the gateway's limit store) unless the module leases rpm/tpm
// (D83): those go to ext_proc.
func (s *Service) EndUserServable(id string) bool {
	if id == "" {
		return true
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	eu := s.endUsrs[id]
	if eu == nil && s.endUsersPartial {
		return false
	}
	var b *keystore.Budget
	if eu != nil && eu.BudgetID != "" {
		if b = s.budgets[eu.BudgetID]; b == nil {
			return false
		}
	} else if eu != nil || s.espnd[id] > 0 {
		if s.endUserBudgetID != "" {
			if b = s.budgets[s.endUserBudgetID]; b == nil {
				return false
			}
		}
	}
	if b == nil || val(b.RPMLimit) == 0 && val(b.TPMLimit) == 0 && val(b.MaxParallelRequests) == 0 {
		return true
	}
	// rpm/tpm on the module's leases (D83); parallel slots stay on ext_proc.
	return val(b.MaxParallelRequests) == 0 && s.view.leases.Load() != nil
}

// endUserMaxLocked is the max budget a customer's spend is checked against
// (checkEndUser's), nil for none (s.mu held).
func (s *Service) endUserMaxLocked(id string) *float64 {
	eu := s.endUsrs[id]
	if eu != nil && eu.BudgetID != "" {
		if b := s.budgets[eu.BudgetID]; b != nil {
			return b.MaxBudget
		}
	}
	if eu == nil && s.espnd[id] <= 0 {
		return nil
	}
	if s.endUserBudgetID != "" {
		if b := s.budgets[s.endUserBudgetID]; b != nil {
			return b.MaxBudget
		}
	}
	return s.maxEndUserBudget
}

// endUserCrossedLocked: a spend took a customer over its max budget (the
// check refuses spend > max): the module's table is pushed at once.
func (s *Service) endUserCrossedLocked(id string, before float64) bool {
	mb := s.endUserMaxLocked(id)
	return mb != nil && before <= *mb && s.espnd[id] > *mb
}

// EndUserRegion is a customer's allowed_model_region ("" for none or an
// unknown customer): with enable_pre_call_checks the router plans its
// requests on the deployments of that region only (LiteLLM sets it from
// the end user's row on every request naming them; D173). A module view
// answers from its table.
func (s *Service) EndUserRegion(id string) string {
	if id == "" {
		return ""
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if eu := s.endUsrs[id]; eu != nil {
		return eu.AllowedModelRegion
	}
	return ""
}
