package store

import (
	"context"
	"time"
)

// MapReader is a Store that can Read into the caller's map (the router's
// plan reads one on every request: no map made per read, D93). ReadInto
// sets every id asked for in out and leaves its other entries as they are.
type MapReader interface {
	ReadInto(ctx context.Context, ids []string, opt ReadOptions, out map[string]DeploymentState) error
}

// Store is all state shared between requests and gateway instances. Every
// method is one round trip to the backing store at most. Methods are safe for
// concurrent use. Times come from the store's clock (see Clock).
type Store interface {
	// Read returns the state of the deployments (usage this UTC minute,
	// in-flight count, active cooldown, and latencies when asked) in one batch.
	// Every id asked for is present in the result.
	Read(ctx context.Context, ids []string, opt ReadOptions) (map[string]DeploymentState, error)
	// Begin counts one request (rpm, this minute) and one in-flight call for a
	// deployment, atomically refusing (and counting nothing) when that would
	// take it over lim.
	Begin(ctx context.Context, id string, lim Limits) (BeginResult, error)
	// End ends an in-flight call started by Begin. It never goes below zero.
	End(ctx context.Context, id string) error
	// Record stores the outcome of one call: tokens (tpm), a latency sample, a
	// failure and the cooldown it may trigger, atomically.
	Record(ctx context.Context, r Record) (RecordResult, error)
	// Cooldown puts a deployment in cooldown until the given time. A cooldown
	// already running is extended, never shortened. It returns the deadline in
	// force.
	Cooldown(ctx context.Context, id string, until time.Time) (time.Time, error)

	// Get returns the value of a key.
	Get(ctx context.Context, key string) ([]byte, bool, error)
	// Set stores a value; ttl <= 0 means no expiry.
	Set(ctx context.Context, key string, val []byte, ttl time.Duration) error
	// Delete removes a key.
	Delete(ctx context.Context, key string) error
	// Incr adds by to an integer key and returns the new value; the ttl is set
	// when the key is created (ttl <= 0: no expiry).
	Incr(ctx context.Context, key string, by int64, ttl time.Duration) (int64, error)

	// Close releases connections.
	Close() error
}

// Clock returns the current time. Stores take one so tests are deterministic.
type Clock func() time.Time

// ReadOptions selects what Read returns beyond the counters.
type ReadOptions struct {
	Latencies bool // include the latency lists
	// IO includes this minute's input and output tokens (itpm, otpm).
	IO bool
	// DayStart, when set, includes the requests and tokens of the day
	// (rpd, tpd) of every id it reports ok for; the day starts at the
	// offset after midnight UTC.
	DayStart func(id string) (time.Duration, bool)
}

// DeploymentState is what Read returns for one deployment.
type DeploymentState struct {
	RPM           int64     // requests started this UTC minute
	TPM           int64     // tokens used this UTC minute
	InFlight      int64     // calls started and not ended
	ITPM, OTPM    int64     // input and output tokens this UTC minute (ReadOptions.IO)
	RPD, TPD      int64     // tries and tokens this day (ReadOptions.DayStart)
	CooldownUntil time.Time // zero when not cooling down
	Latencies     []float64 // newest first; only with ReadOptions.Latencies
}

// CoolingDown reports whether the deployment is in cooldown at now.
func (s DeploymentState) CoolingDown(now time.Time) bool {
	return !s.CooldownUntil.IsZero() && now.Before(s.CooldownUntil)
}

// Limits bound Begin. Zero means no limit.
type Limits struct {
	RPM         int64 // requests per minute
	MaxParallel int64 // calls in flight
}

// BeginResult is what Begin did.
type BeginResult struct {
	Allowed  bool
	Reason   string // "rpm" or "max_parallel_requests" when refused
	RPM      int64  // requests this minute (after counting, when allowed)
	InFlight int64  // in flight (after counting, when allowed)
}

// Record is the outcome of one call.
type Record struct {
	DeploymentID string
	Tokens       int64 // added to this minute's tpm (0: none)
	// InputTokens and OutputTokens are added to this minute's itpm and
	// otpm counters.
	InputTokens, OutputTokens int64
	// Daily counts one try and Tokens in the day (rpd, tpd) that starts
	// DayStart after midnight UTC.
	Daily    bool
	DayStart time.Duration

	HasLatency bool
	Latency    float64       // sample pushed at the head of the latency list
	LatencyMax int           // list length kept (default 10)
	LatencyTTL time.Duration // list TTL (default 1h)

	// FailureClass counts one failure of this class this minute ("" for none).
	FailureClass string
	// CooldownAfter cools the deployment down when the failure count of the
	// class this minute exceeds it; < 0 disables the count rule.
	CooldownAfter int64
	// CooldownNow cools the deployment down regardless of counts.
	CooldownNow bool
	// CooldownUntil is the cooldown deadline when a rule fires.
	CooldownUntil time.Time
}

// RecordResult is what Record did.
type RecordResult struct {
	TPM           int64     // tokens this minute after adding
	Failures      int64     // failures of the class this minute after counting
	CooldownUntil time.Time // the cooldown in force after Record (zero: none)
	CooledDown    bool      // this Record started or extended a cooldown
}

// Key names, shared by both implementations so Memory is a faithful model of Redis.
const (
	defaultPrefix      = "llmgate:"
	minuteKeyTTL       = 2 * time.Minute
	dayKeyTTL          = 25 * time.Hour
	defaultInFlightTTL = 15 * time.Minute
	defaultHolderTTL   = 10 * time.Second
	defaultLatencyMax  = 10
	defaultLatencyTTL  = time.Hour
)

func minuteOf(t time.Time) string { return string(appendMinute(make([]byte, 0, 12), t)) }

// appendMinute appends t's UTC minute as "200601021504" (time.Format's
// layout, written without it: the store reads these keys on every request).
func appendMinute(b []byte, t time.Time) []byte {
	t = t.UTC()
	y, mo, d := t.Date()
	h, mi, _ := t.Clock()
	if y < 0 || y > 9999 {
		return append(b, t.Format("200601021504")...)
	}
	b = append(b, byte('0'+y/1000), byte('0'+y/100%10), byte('0'+y/10%10), byte('0'+y%10))
	for _, n := range [...]int{int(mo), d, h, mi} {
		b = append(b, byte('0'+n/10), byte('0'+n%10))
	}
	return b
}

type keys struct{ prefix string }

func (k keys) rpm(id string, now time.Time) string {
	return k.prefix + "rpm:" + id + ":" + minuteOf(now)
}
func (k keys) tpm(id string, now time.Time) string {
	return k.prefix + "tpm:" + id + ":" + minuteOf(now)
}
func (k keys) itpm(id string, now time.Time) string {
	return k.prefix + "itpm:" + id + ":" + minuteOf(now)
}
func (k keys) otpm(id string, now time.Time) string {
	return k.prefix + "otpm:" + id + ":" + minuteOf(now)
}

// dayOf is the day (YYYYMMDD) of now for a day starting off after midnight UTC.
func dayOf(now time.Time, off time.Duration) string { return now.UTC().Add(-off).Format("20060102") }

func (k keys) rpd(id string, now time.Time, off time.Duration) string {
	return k.prefix + "rpd:" + id + ":" + dayOf(now, off)
}
func (k keys) tpd(id string, now time.Time, off time.Duration) string {
	return k.prefix + "tpd:" + id + ":" + dayOf(now, off)
}

// counts are a Record's additions to the counters of D180 (itpm, otpm,
// rpd, tpd): key, amount and the TTL a new key gets.
func (k keys) counts(r Record, now time.Time, f func(key string, by int64, ttl time.Duration)) {
	id := r.DeploymentID
	if r.InputTokens > 0 {
		f(k.itpm(id, now), r.InputTokens, minuteKeyTTL)
	}
	if r.OutputTokens > 0 {
		f(k.otpm(id, now), r.OutputTokens, minuteKeyTTL)
	}
	if r.Daily {
		f(k.rpd(id, now, r.DayStart), 1, dayKeyTTL)
		if r.Tokens > 0 {
			f(k.tpd(id, now, r.DayStart), r.Tokens, dayKeyTTL)
		}
	}
}

func (k keys) inflight(id string) string   { return k.prefix + "inflight:" + id }
func (k keys) inflightBy(id string) string { return k.prefix + "inflight-by:" + id }
func (k keys) live(holder string) string   { return k.prefix + "live:" + holder }
func (k keys) cooldown(id string) string   { return k.prefix + "cooldown:" + id }
func (k keys) latency(id string) string    { return k.prefix + "latency:" + id }
func (k keys) failure(id, class string, now time.Time) string {
	return k.prefix + "fail:" + id + ":" + class + ":" + minuteOf(now)
}
func (k keys) kv(key string) string { return k.prefix + "kv:" + key }
