package keystore

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"time"
)

// ErrNotFound is returned when a key, team or user does not exist.
var ErrNotFound = errors.New("not found")

// HashKey is the token a virtual key is stored under: the hex sha256 of the
// key's UTF-8 bytes, as LiteLLM's hash_token computes it.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// Key is one virtual key (a LiteLLM_VerificationToken row).
type Key struct {
	Token               string             `json:"token"` // HashKey of the key
	KeyName             string             `json:"key_name,omitempty"`
	KeyAlias            string             `json:"key_alias,omitempty"`
	Spend               float64            `json:"spend"`
	Expires             *time.Time         `json:"expires,omitempty"`
	Models              []string           `json:"models"`
	Aliases             map[string]any     `json:"aliases,omitempty"`
	UserID              string             `json:"user_id,omitempty"`
	TeamID              string             `json:"team_id,omitempty"`
	MaxParallelRequests *int64             `json:"max_parallel_requests,omitempty"`
	Metadata            map[string]any     `json:"metadata,omitempty"`
	Blocked             bool               `json:"blocked,omitempty"`
	TPMLimit            *int64             `json:"tpm_limit,omitempty"`
	RPMLimit            *int64             `json:"rpm_limit,omitempty"`
	MaxBudget           *float64           `json:"max_budget,omitempty"`
	BudgetDuration      string             `json:"budget_duration,omitempty"`
	BudgetResetAt       *time.Time         `json:"budget_reset_at,omitempty"`
	ModelMaxBudget      map[string]any     `json:"model_max_budget,omitempty"`
	ModelSpend          map[string]float64 `json:"model_spend,omitempty"`
	CreatedAt           time.Time          `json:"created_at"`
	UpdatedAt           time.Time          `json:"updated_at"`
	CreatedBy           string             `json:"created_by,omitempty"`
	UpdatedBy           string             `json:"updated_by,omitempty"`
	// BudgetID names a LiteLLM_BudgetTable row whose limits apply where the
	// key sets none of its own (and that holds the key's soft_budget).
	BudgetID string `json:"budget_id,omitempty"`
	// SoftBudgetCooldown is set once the key's spend crossed its soft budget
	// (the crossing was recorded); cleared when a budget period restarts.
	SoftBudgetCooldown bool `json:"soft_budget_cooldown,omitempty"`
}

// Team is one team (a LiteLLM_TeamTable row).
type Team struct {
	TeamID              string             `json:"team_id"`
	TeamAlias           string             `json:"team_alias,omitempty"`
	OrganizationID      string             `json:"organization_id,omitempty"`
	Admins              []string           `json:"admins"`
	Members             []string           `json:"members"`
	MembersWithRoles    []any              `json:"members_with_roles"`
	Metadata            map[string]any     `json:"metadata,omitempty"`
	MaxBudget           *float64           `json:"max_budget,omitempty"`
	Spend               float64            `json:"spend"`
	Models              []string           `json:"models"`
	MaxParallelRequests *int64             `json:"max_parallel_requests,omitempty"`
	TPMLimit            *int64             `json:"tpm_limit,omitempty"`
	RPMLimit            *int64             `json:"rpm_limit,omitempty"`
	BudgetDuration      string             `json:"budget_duration,omitempty"`
	BudgetResetAt       *time.Time         `json:"budget_reset_at,omitempty"`
	Blocked             bool               `json:"blocked"`
	ModelMaxBudget      map[string]any     `json:"model_max_budget,omitempty"`
	ModelSpend          map[string]float64 `json:"model_spend,omitempty"`
	CreatedAt           time.Time          `json:"created_at"`
	UpdatedAt           time.Time          `json:"updated_at"`
	SoftBudget          *float64           `json:"soft_budget,omitempty"`
}

// User is one internal user (a LiteLLM_UserTable row).
type User struct {
	UserID              string             `json:"user_id"`
	UserAlias           string             `json:"user_alias,omitempty"`
	TeamID              string             `json:"team_id,omitempty"`
	Teams               []string           `json:"teams"`
	UserRole            string             `json:"user_role,omitempty"`
	MaxBudget           *float64           `json:"max_budget,omitempty"`
	Spend               float64            `json:"spend"`
	UserEmail           string             `json:"user_email,omitempty"`
	Models              []string           `json:"models"`
	Metadata            map[string]any     `json:"metadata,omitempty"`
	MaxParallelRequests *int64             `json:"max_parallel_requests,omitempty"`
	TPMLimit            *int64             `json:"tpm_limit,omitempty"`
	RPMLimit            *int64             `json:"rpm_limit,omitempty"`
	BudgetDuration      string             `json:"budget_duration,omitempty"`
	BudgetResetAt       *time.Time         `json:"budget_reset_at,omitempty"`
	ModelMaxBudget      map[string]any     `json:"model_max_budget,omitempty"`
	ModelSpend          map[string]float64 `json:"model_spend,omitempty"`
	CreatedAt           time.Time          `json:"created_at"`
	UpdatedAt           time.Time          `json:"updated_at"`
}

// SpendLog is one request's spend (a LiteLLM_SpendLogs row).
type SpendLog struct {
	RequestID        string         `json:"request_id"`
	CallType         string         `json:"call_type"`
	APIKey           string         `json:"api_key"` // the key's token (hash), never the key
	Spend            float64        `json:"spend"`
	TotalTokens      int64          `json:"total_tokens"`
	PromptTokens     int64          `json:"prompt_tokens"`
	CompletionTokens int64          `json:"completion_tokens"`
	StartTime        time.Time      `json:"startTime"`
	EndTime          time.Time      `json:"endTime"`
	Model            string         `json:"model"`
	ModelID          string         `json:"model_id"`
	ModelGroup       string         `json:"model_group"`
	Provider         string         `json:"custom_llm_provider"`
	User             string         `json:"user"`
	TeamID           string         `json:"team_id,omitempty"`
	EndUser          string         `json:"end_user,omitempty"`
	Metadata         map[string]any `json:"metadata,omitempty"`
	RequestTags      []string       `json:"request_tags"`
	Status           string         `json:"status"`
	// CacheHit is "True" for an answer from the response cache (LiteLLM's
	// str(cache_hit); "" otherwise), CacheKey its key (D111).
	CacheHit string `json:"cache_hit,omitempty"`
	CacheKey string `json:"cache_key,omitempty"`
	// Request and Response are proxy_server_request and response
	// (store_prompts_in_spend_logs; nil: {}).
	Request  json.RawMessage `json:"proxy_server_request,omitempty"`
	Response json.RawMessage `json:"response,omitempty"`
}

// Spend is a batch of spend to add: amounts per key token, team, user and,
// per key, per model; plus the spend logs of the batch (may be empty).
type Spend struct {
	// BatchID, when set, makes AddSpend idempotent: a batch whose id the
	// store has already recorded is not added again (a batch retried after a
	// crash or a lost reply).
	BatchID string
	// LogFile, when set, is a file whose lines are the batch's spend logs
	// as AppendSpendLog writes them, in Logs' order, among lines whose
	// request_id is "" (which are no spend log): the sealed spend
	// write-ahead file of the batch (internal/keys, D155). A store keeping
	// its logs as such lines copies them from it instead of encoding Logs
	// again, when it holds exactly len(Logs) of them.
	LogFile   string
	Keys      map[string]float64
	KeyModels map[string]map[string]float64 // token → model → spend
	Teams     map[string]float64
	Users     map[string]float64
	// Members are team memberships' spend, by MemberKey (existing
	// memberships only); EndUsers are customers' (a missing row is created,
	// as LiteLLM does).
	Members  map[string]float64
	EndUsers map[string]float64
	Logs     []SpendLog
}

// Empty reports whether the batch carries nothing.
func (s *Spend) Empty() bool {
	return len(s.Keys) == 0 && len(s.Teams) == 0 && len(s.Users) == 0 && len(s.Members) == 0 && len(s.EndUsers) == 0 && len(s.Logs) == 0
}

// Store keeps keys, teams, users and spend. Every method is safe for
// concurrent use, and a method that returns nil has made its change durable.
type Store interface {
	BudgetStore
	ModelStore
	DeprecatedKeyStore
	MasterKeyStore
	TagSpendStore
	SpendCountStore

	// PutKey inserts a key or replaces every field of an existing one except
	// spend: an existing key's spend only changes through AddSpend, so an
	// update never loses spend written meanwhile. A new key starts with k.Spend.
	PutKey(ctx context.Context, k *Key) error
	// GetKey returns the key stored under token, or ErrNotFound.
	GetKey(ctx context.Context, token string) (*Key, error)
	// DeleteKey removes a key; ErrNotFound when there was none.
	DeleteKey(ctx context.Context, token string) error
	// RekeyKey moves a key (with its spend) to a new token (/key/regenerate).
	RekeyKey(ctx context.Context, oldToken, newToken string) error
	// ListKeys returns every key.
	ListKeys(ctx context.Context) ([]*Key, error)

	PutTeam(ctx context.Context, t *Team) error // as PutKey: spend kept on update
	GetTeam(ctx context.Context, id string) (*Team, error)
	DeleteTeam(ctx context.Context, id string) error
	ListTeams(ctx context.Context) ([]*Team, error)

	PutUser(ctx context.Context, u *User) error // as PutKey: spend kept on update
	GetUser(ctx context.Context, id string) (*User, error)
	DeleteUser(ctx context.Context, id string) error
	ListUsers(ctx context.Context) ([]*User, error)

	// AddSpend adds a batch of spend atomically (all or nothing); amounts for
	// keys, teams or users that no longer exist are dropped.
	AddSpend(ctx context.Context, s *Spend) error
	// ResetBudget starts a new budget period for a key ("key", by token),
	// team ("team") or user ("user"): spend back to 0 and budget_reset_at
	// moved to next, only if budget_reset_at is still at or before due (so
	// of several instances due at once, one resets). It reports whether it
	// reset.
	ResetBudget(ctx context.Context, kind, id string, due, next time.Time) (bool, error)
	// SpendLogs returns the spend logs of a key token ("" for all), newest
	// first, at most limit.
	SpendLogs(ctx context.Context, token string, limit int) ([]SpendLog, error)

	// Close releases files or connections.
	Close() error
}
