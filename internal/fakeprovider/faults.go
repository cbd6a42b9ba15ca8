package fakeprovider

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Reset modes for Fault.Reset.
const (
	// ResetBefore drops the connection before any response byte.
	ResetBefore = "before"
	// ResetAfterHeaders sends the 200 status line and headers, then drops
	// the connection.
	ResetAfterHeaders = "after-headers"
)

// Fault is what goes wrong with one response. The zero value is no fault.
type Fault struct {
	// Status, when >= 400, answers with that status and an error body in
	// the provider's own error shape.
	Status int
	// ErrorMessage is the message of that error (a status of 400 is implied
	// when Status is 0), e.g. "This model's maximum context length is …" to
	// produce a context-window error.
	ErrorMessage string
	// Delay is waited before the response headers (after Options.Latency).
	Delay time.Duration
	// Reset is ResetBefore or ResetAfterHeaders.
	Reset string
	// CutAfter > 0 sends that many stream chunks/events and then drops the
	// connection without the stream's terminator. A non-streamed response
	// is cut after that many body bytes.
	CutAfter int
	// RetryAfter is sent as the Retry-After header.
	RetryAfter string
	// FinishReason overrides the finish reason, in OpenAI's words
	// ("stop", "length", "tool_calls", "content_filter"); each provider's
	// answer uses its own word for it. Other values are passed through.
	FinishReason string
}

// faultJSON is Fault on the wire of the control API.
type faultJSON struct {
	Status       int    `json:"status,omitempty"`
	ErrorMessage string `json:"error_message,omitempty"`
	DelayMS      int64  `json:"delay_ms,omitempty"`
	Reset        string `json:"reset,omitempty"`
	CutAfter     int    `json:"cut_after,omitempty"`
	RetryAfter   string `json:"retry_after,omitempty"`
	FinishReason string `json:"finish_reason,omitempty"`
}

// MarshalJSON writes the control API form (delay in milliseconds).
func (f Fault) MarshalJSON() ([]byte, error) {
	return json.Marshal(faultJSON{f.Status, f.ErrorMessage, f.Delay.Milliseconds(), f.Reset, f.CutAfter, f.RetryAfter, f.FinishReason})
}

// UnmarshalJSON reads the control API form.
func (f *Fault) UnmarshalJSON(b []byte) error {
	var j faultJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*f = Fault{j.Status, j.ErrorMessage, time.Duration(j.DelayMS) * time.Millisecond, j.Reset, j.CutAfter, j.RetryAfter, j.FinishReason}
	return f.validate()
}

func (f Fault) validate() error {
	switch f.Reset {
	case "", ResetBefore, ResetAfterHeaders:
	default:
		return fmt.Errorf("fault reset %q: want %q or %q", f.Reset, ResetBefore, ResetAfterHeaders)
	}
	if f.Status != 0 && (f.Status < 400 || f.Status > 599) {
		return fmt.Errorf("fault status %d: want 400-599", f.Status)
	}
	return nil
}

// Match selects the requests a Rule applies to. Empty fields match all.
type Match struct {
	// PathPrefix matches the start of the URL path, e.g. "/dep-b".
	PathPrefix string `json:"path_prefix,omitempty"`
	// Model matches the requested model: the body's "model", or the Azure
	// deployment, Bedrock model id or Gemini model named in the path.
	Model string `json:"model,omitempty"`
	// APIKey matches the key the request carries, in whichever header.
	APIKey string `json:"api_key,omitempty"`
}

// Rule injects Fault into requests that Match, for the next Times requests
// (0: until the rules are cleared).
type Rule struct {
	Match Match `json:"match"`
	Fault Fault `json:"fault"`
	Times int   `json:"times,omitempty"`
}

// RuleState is a Rule with the number of requests it has yet to fault.
type RuleState struct {
	Rule
	// Remaining is -1 for a rule without a limit.
	Remaining int `json:"remaining"`
}

type rules struct {
	n    atomic.Int32 // len(list), read without the lock on the hot path
	mu   sync.Mutex
	list []*RuleState
}

func (rs *rules) add(r Rule) {
	st := &RuleState{Rule: r, Remaining: r.Times}
	if r.Times <= 0 {
		st.Remaining = -1
	}
	rs.mu.Lock()
	rs.list = append(rs.list, st)
	rs.n.Store(int32(len(rs.list)))
	rs.mu.Unlock()
}

func (rs *rules) clear() {
	rs.mu.Lock()
	rs.list = nil
	rs.n.Store(0)
	rs.mu.Unlock()
}

func (rs *rules) snapshot() []RuleState {
	rs.mu.Lock()
	defer rs.mu.Unlock()
	out := make([]RuleState, len(rs.list))
	for i, st := range rs.list {
		out[i] = *st
	}
	return out
}

// take returns the fault of the first rule matching c, using up one of its
// times; exhausted rules are dropped.
func (rs *rules) take(c *call) (Fault, bool) {
	if rs.n.Load() == 0 {
		return Fault{}, false
	}
	rs.mu.Lock()
	defer rs.mu.Unlock()
	for i, st := range rs.list {
		if !st.Match.matches(c) {
			continue
		}
		if st.Remaining > 0 {
			st.Remaining--
			if st.Remaining == 0 {
				rs.list = append(rs.list[:i:i], rs.list[i+1:]...)
				rs.n.Store(int32(len(rs.list)))
			}
		}
		return st.Fault, true
	}
	return Fault{}, false
}

func (m Match) matches(c *call) bool {
	if m.PathPrefix != "" && !strings.HasPrefix(c.r.URL.Path, m.PathPrefix) {
		return false
	}
	if m.Model != "" && m.Model != c.model {
		return false
	}
	if m.APIKey != "" && m.APIKey != requestKey(c.r) {
		return false
	}
	return true
}

// AddRule adds a fault rule; rules are tried in the order added.
func (s *Server) AddRule(r Rule) error {
	if err := r.Fault.validate(); err != nil {
		return fmt.Errorf("add rule: %w", err)
	}
	s.rules.add(r)
	return nil
}

// ClearRules removes every fault rule.
func (s *Server) ClearRules() { s.rules.clear() }

// Rules lists the fault rules with their remaining counts.
func (s *Server) Rules() []RuleState { return s.rules.snapshot() }

// Fault request headers.
const (
	HeaderStatus       = "X-Fake-Status"
	HeaderDelayMS      = "X-Fake-Delay-Ms"
	HeaderReset        = "X-Fake-Reset"
	HeaderCutAfter     = "X-Fake-Cut-After"
	HeaderRetryAfter   = "X-Fake-Retry-After"
	HeaderErrorMessage = "X-Fake-Error-Message"
	HeaderFinishReason = "X-Fake-Finish-Reason"
)

// headerFault reads x-fake-* headers over base. Malformed numbers are
// ignored.
func headerFault(h http.Header, base Fault) Fault {
	f := base
	for k, v := range h {
		if len(v) == 0 || len(k) < 7 || !strings.EqualFold(k[:7], "X-Fake-") {
			continue
		}
		val := v[0]
		switch http.CanonicalHeaderKey(k) {
		case HeaderStatus:
			if n, err := strconv.Atoi(val); err == nil {
				f.Status = n
			}
		case HeaderDelayMS:
			if n, err := strconv.Atoi(val); err == nil {
				f.Delay = time.Duration(n) * time.Millisecond
			}
		case HeaderReset:
			f.Reset = val
		case HeaderCutAfter:
			if n, err := strconv.Atoi(val); err == nil {
				f.CutAfter = n
			}
		case HeaderRetryAfter:
			f.RetryAfter = val
		case HeaderErrorMessage:
			f.ErrorMessage = val
		case HeaderFinishReason:
			f.FinishReason = val
		}
	}
	return f
}

// requestKey is the credential a request carries, whatever the provider.
func requestKey(r *http.Request) string {
	if v := r.Header.Get("Authorization"); v != "" {
		if k, ok := strings.CutPrefix(v, "Bearer "); ok {
			return k
		}
		if a, err := parseSigV4Auth(v); err == nil {
			return a.accessKeyID
		}
		return v
	}
	for _, h := range [...]string{"Api-Key", "X-Api-Key", "X-Goog-Api-Key"} {
		if v := r.Header.Get(h); v != "" {
			return v
		}
	}
	return r.URL.Query().Get("key")
}
