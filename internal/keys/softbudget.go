package keys

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/llmgate/llmgate/internal/keystore"
)

// keySoftBudget applies a key request's soft_budget: as LiteLLM does, the
// key gets a budget row of its own holding it (a copy of the budget it used,
// so a shared budget is not changed for others).
func (s *Service) keySoftBudget(ctx context.Context, req map[string]any, k *keystore.Key) *Error {
	v, ok := req["soft_budget"]
	if !ok {
		return nil
	}
	soft, e := optNumber("soft_budget", v, maxMoney)
	if e != nil {
		return e
	}
	now := s.now().UTC()
	b := &keystore.Budget{}
	if cur := s.budget(k.BudgetID); cur != nil {
		*b = *cur
	}
	b.BudgetID, b.SoftBudget, b.CreatedAt, b.UpdatedAt, b.CreatedBy, b.UpdatedBy = uuid4(), soft, now, now, "default_user_id", "default_user_id"
	if err := s.o.Store.PutBudget(ctx, b); err != nil {
		return storeError(err)
	}
	s.setBudget(b.BudgetID, b)
	k.BudgetID, k.SoftBudgetCooldown = b.BudgetID, false
	return nil
}

// Crossing is a key's or team's spend crossing its soft_budget (alert only:
// requests go on).
type Crossing struct {
	Kind       string // "key" or "team"
	ID         string // the key's token, or the team id
	Name       string // key alias or name, or team alias or id
	Spend      float64
	SoftBudget float64
	MaxBudget  *float64
}

// Message is the crossing as LiteLLM's budget alert words it.
func (c Crossing) Message() string {
	msg := fmt.Sprintf("Soft Budget Crossed: Total Soft Budget: `%s`\n\n*Budget Crossed for %s*\n%s: `%s`\nSpend: `$%s`",
		money(c.SoftBudget), c.Kind, map[string]string{"key": "Key Alias", "team": "Team"}[c.Kind], c.Name, money(c.Spend))
	if c.MaxBudget != nil {
		msg += "\nMax Budget: `$" + money(*c.MaxBudget) + "`"
	}
	return msg
}

func money(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// crossingsQueue bounds the crossings waiting to be recorded.
const crossingsQueue = 256

// softBudgetCrossed checks, as spend is recorded (mu held), whether it took
// the key or its team over a soft budget: before < soft <= after, once per
// budget period (the key's soft_budget_cooldown, set when recorded).
func (s *Service) softBudgetCrossed(e *SpendEvent, r *spendRecs, keyBefore, teamBefore float64) {
	if k := r.key; k != nil && !k.SoftBudgetCooldown {
		if b := s.budgets[k.BudgetID]; b != nil && b.SoftBudget != nil {
			after := s.spend[e.KeyToken]
			if keyBefore < *b.SoftBudget && after >= *b.SoftBudget {
				s.queueCrossing(Crossing{Kind: "key", ID: e.KeyToken, Name: keyLabel(k), Spend: after, SoftBudget: *b.SoftBudget,
					MaxBudget: firstSet(k.MaxBudget, b.MaxBudget)})
			}
		}
	}
	if t := r.team; t != nil && t.SoftBudget != nil {
		after := s.tspnd[e.TeamID]
		if teamBefore < *t.SoftBudget && after >= *t.SoftBudget {
			s.queueCrossing(Crossing{Kind: "team", ID: t.TeamID, Name: firstNonEmpty(t.TeamAlias, t.TeamID), Spend: after,
				SoftBudget: *t.SoftBudget, MaxBudget: t.MaxBudget})
		}
	}
}

func firstSet(a, b *float64) *float64 {
	if a != nil {
		return a
	}
	return b
}

func (s *Service) queueCrossing(c Crossing) {
	select {
	case s.crossings <- c:
	default:
		s.log.Warn("soft budget crossing not recorded: queue full", "kind", c.Kind, "name", c.Name)
	}
}

// recordCrossings records each crossing off the spend path: a log line,
// the alert hook (general_settings.alerting's budget_alerts), and for a
// key soft_budget_cooldown = true in the store (LiteLLM's column), so the
// crossing is reported once per budget period, also after a restart.
func (s *Service) recordCrossings() {
	for {
		select {
		case <-s.stop:
			return
		case c := <-s.crossings:
			s.log.Warn("soft budget crossed", "kind", c.Kind, "name", c.Name, "spend", c.Spend, "soft_budget", c.SoftBudget)
			s.crossed.Add(1)
			s.mu.RLock()
			hook := s.onCrossing
			s.mu.RUnlock()
			if hook != nil {
				hook(c)
			}
			if c.Kind != "key" {
				continue
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			s.installMu.RLock() // (see installMu)
			k, err := s.o.Store.GetKey(ctx, c.ID)
			if err == nil && !k.SoftBudgetCooldown {
				k.SoftBudgetCooldown = true
				if err = s.o.Store.PutKey(ctx, k); err == nil {
					s.setKey(c.ID, k)
					s.changed(c.ID)
				}
			}
			s.installMu.RUnlock()
			cancel()
			if err != nil {
				s.log.Warn("soft budget crossing not stored; it may be reported again", "error", err.Error())
			}
		}
	}
}

// OnSoftBudgetCrossed sets the hook told of each crossing (the alerter).
func (s *Service) OnSoftBudgetCrossed(fn func(Crossing)) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.onCrossing = fn
}

// SoftBudgetCrossings is the number of crossings recorded by this process.
func (s *Service) SoftBudgetCrossings() int64 { return s.crossed.Load() }
