package keystore

import (
	"context"
	"strings"
	"time"
)

// Budget is one LiteLLM_BudgetTable row: limits that customers (end users),
// team memberships and keys refer to by budget_id.
type Budget struct {
	BudgetID            string         `json:"budget_id"`
	MaxBudget           *float64       `json:"max_budget,omitempty"`
	SoftBudget          *float64       `json:"soft_budget,omitempty"`
	MaxParallelRequests *int64         `json:"max_parallel_requests,omitempty"`
	TPMLimit            *int64         `json:"tpm_limit,omitempty"`
	RPMLimit            *int64         `json:"rpm_limit,omitempty"`
	ModelMaxBudget      map[string]any `json:"model_max_budget,omitempty"`
	// AllowedModels narrows a team member's models below the team's (a
	// member's budget row; empty: the team's models).
	AllowedModels []string `json:"allowed_models,omitempty"`
	// TempBudgetIncrease raises MaxBudget until TempBudgetExpiry (a team
	// member's temporary budget increase, /team/member_update).
	TempBudgetIncrease *float64   `json:"temp_budget_increase,omitempty"`
	TempBudgetExpiry   *time.Time `json:"temp_budget_expiry,omitempty"`
	BudgetDuration     string     `json:"budget_duration,omitempty"`
	BudgetResetAt      *time.Time `json:"budget_reset_at,omitempty"`
	CreatedAt          time.Time  `json:"created_at"`
	CreatedBy          string     `json:"created_by,omitempty"`
	UpdatedAt          time.Time  `json:"updated_at"`
	UpdatedBy          string     `json:"updated_by,omitempty"`
}

// Membership is one LiteLLM_TeamMembership row: a user's spend within a
// team and the budget (max_budget_in_team) that bounds it.
type Membership struct {
	UserID   string  `json:"user_id"`
	TeamID   string  `json:"team_id"`
	Spend    float64 `json:"spend"`
	BudgetID string  `json:"budget_id,omitempty"`
}

// EndUser is one LiteLLM_EndUserTable row: a customer, named by the `user`
// field of a request body.
type EndUser struct {
	UserID             string  `json:"user_id"`
	Alias              string  `json:"alias,omitempty"`
	Spend              float64 `json:"spend"`
	AllowedModelRegion string  `json:"allowed_model_region,omitempty"`
	DefaultModel       string  `json:"default_model,omitempty"`
	BudgetID           string  `json:"budget_id,omitempty"`
	Blocked            bool    `json:"blocked"`
}

// MemberKey names a team membership in Spend.Members: team and user joined
// by a unit separator (a character no id a client sends contains in practice;
// SplitMemberKey takes the first one).
func MemberKey(teamID, userID string) string { return teamID + "\x1f" + userID }

// SplitMemberKey is MemberKey's inverse.
func SplitMemberKey(k string) (teamID, userID string) {
	teamID, userID, _ = strings.Cut(k, "\x1f")
	return teamID, userID
}

// SpendLogFilter selects spend logs (/spend/logs). Empty fields match all.
type SpendLogFilter struct {
	Token     string // the key's token (hash)
	UserID    string
	TeamID    string
	EndUser   string
	RequestID string
	Start     time.Time // startTime at or after (zero: any)
	End       time.Time // startTime before (zero: any)
	Limit     int       // newest first, at most Limit (<= 0: 1000)
}

func (f *SpendLogFilter) match(l *SpendLog) bool {
	return (f.Token == "" || l.APIKey == f.Token) && (f.UserID == "" || l.User == f.UserID) &&
		(f.TeamID == "" || l.TeamID == f.TeamID) && (f.EndUser == "" || l.EndUser == f.EndUser) &&
		(f.RequestID == "" || l.RequestID == f.RequestID) &&
		(f.Start.IsZero() || !l.StartTime.Before(f.Start)) && (f.End.IsZero() || l.StartTime.Before(f.End))
}

// BudgetStore is the part of Store for budgets, team memberships and end
// users (LiteLLM_BudgetTable, LiteLLM_TeamMembership, LiteLLM_EndUserTable).
type BudgetStore interface {
	// PutBudget inserts or replaces a budget.
	PutBudget(ctx context.Context, b *Budget) error
	GetBudget(ctx context.Context, id string) (*Budget, error)
	DeleteBudget(ctx context.Context, id string) error
	ListBudgets(ctx context.Context) ([]*Budget, error)

	// PutMembership inserts a membership or changes its budget_id; an
	// existing membership's spend only changes through AddSpend.
	PutMembership(ctx context.Context, m *Membership) error
	DeleteMembership(ctx context.Context, teamID, userID string) error
	ListMemberships(ctx context.Context) ([]*Membership, error)

	// PutEndUser inserts an end user or replaces every field of an existing
	// one except spend (as PutKey).
	PutEndUser(ctx context.Context, e *EndUser) error
	GetEndUser(ctx context.Context, id string) (*EndUser, error)
	DeleteEndUser(ctx context.Context, id string) error
	ListEndUsers(ctx context.Context) ([]*EndUser, error)

	// SpendLogsWhere returns the spend logs f selects, newest first.
	SpendLogsWhere(ctx context.Context, f SpendLogFilter) ([]SpendLog, error)
	// SpendBy sums the spend of the logs f selects (f.Limit ignored) by
	// one column: "api_key", "model", "model_group", "user", "team_id"
	// ("" for the logs of no team), "end_user", "day" (the UTC date of
	// startTime, YYYY-MM-DD) or "day_team" (the day followed by the team_id);
	// "" sums all under the key "".
	SpendBy(ctx context.Context, f SpendLogFilter, by string) (map[string]float64, error)
}

// spendKey is the value of a log's column for SpendBy.
func spendKey(l *SpendLog, by string) string {
	switch by {
	case "api_key":
		return l.APIKey
	case "model":
		return l.Model
	case "model_group":
		return l.ModelGroup
	case "team_id":
		return l.TeamID
	case "user":
		return l.User
	case "day":
		return l.StartTime.UTC().Format("2006-01-02")
	case "end_user":
		return l.EndUser
	case "day_team":
		return l.StartTime.UTC().Format("2006-01-02") + l.TeamID
	}
	return ""
}
