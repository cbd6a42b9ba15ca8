package callbacks

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/trace"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Callback names.
const (
	GenericAPI = "generic_api"
	Langfuse   = "langfuse"
)

// Settings are the logging callbacks' settings, from the config.
type Settings struct {
	// MessageLoggingOff is turn_off_message_logging; RedactKeyInfo is
	// redact_user_api_key_info.
	MessageLoggingOff bool
	RedactKeyInfo     bool
	BatchSize         int
	FlushInterval     time.Duration

	// Generic is the generic_api callback (nil: off).
	Generic *GenericSettings
	// Langfuse is the langfuse callback (nil: off).
	Langfuse *LangfuseSettings
	// OTel is the otel callback (nil: off): every try becomes a span.
	OTel *OTelSettings
	// Named are callback_settings' generic_api instances the callback
	// lists name, each with its own sender (named by the instance).
	Named []NamedSettings
	// Teams are default_team_settings: a team's requests go to the team's
	// Langfuse project (its Events, or the global langfuse callback's)
	// instead of the global one; by team id.
	Teams map[string]*LangfuseSettings
	// TeamGeneric are default_team_settings teams whose lists name
	// generic_api: their requests go to the generic_api logger too (with
	// these events), whether or not the global lists name it.
	TeamGeneric map[string]Events
	// S3 is the s3 callback (nil: off): one object per request.
	S3 *S3Settings
	// Datadog is the datadog callback (nil: off): a log event per request.
	Datadog *DatadogSettings
	// LangSmith is the langsmith callback (nil: off): a run per request.
	LangSmith *LangSmithSettings
	// SQS is the aws_sqs callback (nil: off): a queue message per request.
	SQS *SQSSettings
	// Arize and Phoenix are the arize and arize_phoenix callbacks (nil:
	// off): an OTLP trace per request with OpenInference attributes.
	Arize, Phoenix *ArizeSettings
	// GCS is the gcs_bucket callback (nil: off): objects in a Cloud
	// Storage bucket (gcs.go).
	GCS *GCSSettings
	// TeamS3 are default_team_settings teams whose lists name s3: their
	// requests go to the s3 logger too (s3_callback_params).
	TeamS3 map[string]Events
	// TeamOTel are default_team_settings teams whose lists name otel: their
	// requests are traced (and logged, measured) by the otel callback.
	TeamOTel map[string]bool
	// Metadata looks up a request's key and team metadata for key- and
	// team-based logging (nil: no virtual keys; dynamic.go).
	Metadata MetadataLookup
	// TeamAlias returns a team's team_alias ("" when none; nil: no virtual
	// keys): the s3 callback's s3_use_team_prefix folder.
	TeamAlias func(teamID string) string
	// LangfuseDefaultTags is langfuse_default_tags and ProxyBaseURL
	// PROXY_BASE_URL (langfusetags.go); RequestTags gives a try's
	// request_tags with its key's and team's (nil: the try's own).
	LangfuseDefaultTags []string
	ProxyBaseURL        string
	RequestTags         func(*outcome.Try) []string
	// DecryptVar opens a key's or team's encrypted callback variable
	// ("litellm_enc::…", LiteLLM's at-rest form; nil: none is opened).
	DecryptVar func(string) (string, bool)
	// DefaultLangfuseHost is the host of a key's or team's Langfuse
	// project that names none (LANGFUSE_HOST, else Langfuse's cloud).
	DefaultLangfuseHost string
}

// AddTeamGeneric makes a team's requests go to the generic_api logger
// (endpoint and headers: GENERIC_LOGGER_*) for the events given.
func (s *Settings) AddTeamGeneric(team string, ev Events, endpoint string, headers map[string]string) {
	if s.TeamGeneric == nil {
		s.TeamGeneric = map[string]Events{}
	}
	s.TeamGeneric[team] = ev
	if s.Generic == nil {
		s.Generic = &GenericSettings{Endpoint: endpoint, Headers: headers} // no global events
	}
}

// teamSender names the sender of a team's Langfuse project.
func teamSender(team string) string { return Langfuse + "/" + team }

// NamedSettings is one callback_settings generic_api instance.
type NamedSettings struct {
	Name string
	Events
	Endpoint string
	Headers  map[string]string
	// Format is log_format: "json_array", "ndjson" or "single".
	Format string
}

// Events says which outcomes a callback receives.
type Events struct{ Success, Failure bool }

func (e Events) want(failed bool) bool {
	if failed {
		return e.Failure
	}
	return e.Success
}

// GenericSettings is GENERIC_LOGGER_ENDPOINT and GENERIC_LOGGER_HEADERS.
type GenericSettings struct {
	Events
	Endpoint string
	Headers  map[string]string
}

// LangfuseSettings are LANGFUSE_HOST, LANGFUSE_PUBLIC_KEY, LANGFUSE_SECRET_KEY.
type LangfuseSettings struct {
	Events
	Host      string
	PublicKey string
	SecretKey string
}

// Retry policy of a batch post: Attempts posts in all, waiting Backoff,
// then twice as long, between them; each post bounded by PostTimeout.
var (
	Attempts    = 3
	Backoff     = 500 * time.Millisecond
	PostTimeout = 10 * time.Second
)

// maxQueue bounds a sender's queue whatever the batch size.
const maxQueue = 10000

// Manager is the logging callbacks' sink on the outcome bus.
type Manager struct {
	log      *slog.Logger
	client   *http.Client
	settings atomic.Pointer[Settings]

	mu      sync.Mutex
	senders map[string]*sender
	closed  bool

	s3  s3Client
	sqs sqsClient
	// gcs is the gcs_bucket callback's service-account token source.
	gcs gcsAuth
	// arize are the arize and arize_phoenix OTLP clients (arize.go).
	arize arizeClients
	// dynLF are the Langfuse projects of keys' and teams' metadata, by
	// sender name (dynamic.go).
	dynLF map[string]*LangfuseSettings

	// opened caches decrypted callback variables (dynamic.go).
	opened openedVars

	// audit sends the audit log's rows to s3 (s3audit.go).
	audit *auditS3

	otelTraces  *tracesExporter
	otelMetrics *GenAIMetrics
	otelSampler sampler
	otelLogs    *logsExporter
}

// New returns a manager with no callback configured.
func New(log *slog.Logger) *Manager {
	if log == nil {
		log = slog.Default()
	}
	m := &Manager{log: log, senders: map[string]*sender{},
		client: &http.Client{Timeout: PostTimeout}}
	m.settings.Store(&Settings{})
	return m
}

// Configure applies new settings (at start and on each reload): it starts
// the sender of each callback configured for the first time; a callback no
// longer configured stops receiving events.
func (m *Manager) Configure(s Settings) {
	if s.BatchSize <= 0 {
		s.BatchSize = 512
	}
	if s.FlushInterval <= 0 {
		s.FlushInterval = 5 * time.Second
	}
	m.settings.Store(&s)
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return
	}
	if s.Generic != nil && s.Generic.Endpoint != "" {
		m.start(GenericAPI, s, m.postGeneric)
	}
	if s.Langfuse != nil && s.Langfuse.PublicKey != "" && s.Langfuse.SecretKey != "" {
		m.start(Langfuse, s, m.postLangfuse)
	}
	for _, nc := range s.Named {
		m.start(nc.Name, s, m.postNamed(nc.Name))
	}
	if s.S3 != nil && s.S3.Bucket != "" {
		m.startBatched(S3, s, m.postS3, s.S3.BatchSize, s.S3.FlushInterval)
	}
	if s.Datadog != nil && s.Datadog.URL != "" {
		m.startBatched(Datadog, s, m.postDatadog, s.Datadog.BatchSize, 0)
	}
	if s.LangSmith != nil && !s.LangSmith.Off {
		m.startBatched(LangSmith, s, m.postLangSmith, s.LangSmith.BatchSize, 0)
	}
	if s.SQS != nil && s.SQS.QueueURL != "" {
		m.startBatched(SQS, s, m.postSQS, s.SQS.BatchSize, s.SQS.FlushInterval)
	}
	if s.Arize != nil {
		m.start(Arize, s, m.postArize(Arize))
	}
	if s.GCS != nil && s.GCS.Bucket != "" {
		m.startBatched(GCSBucket, s, m.postGCS, s.GCS.BatchSize, s.GCS.FlushInterval)
	}
	if s.Phoenix != nil {
		m.start(ArizePhoenix, s, m.postArize(ArizePhoenix))
	}
	for team, lf := range s.Teams {
		if lf.PublicKey != "" && lf.SecretKey != "" {
			m.start(teamSender(team), s, m.postTeamLangfuse(team))
		}
	}
	if s.OTel != nil {
		m.otelSampler = newSampler(s.OTel.Sampler, s.OTel.SamplerRatio)
	}
	if s.OTel != nil && s.OTel.LogsEndpoint != "" && m.otelLogs == nil {
		// The OTLP access log: a record per client request (otellogs.go).
		lx, err := newLogsExporter(s.OTel, m.client)
		if err != nil {
			m.log.Error("otel callback: OTLP logs exporter not started", "error", err.Error())
		} else {
			m.otelLogs = lx
			m.start(OTelLogs, s, m.postOTelLogs)
		}
	}
	if s.OTel != nil && m.otelTraces == nil {
		exp, err := newTracesExporter(s.OTel, m.client)
		if err != nil {
			m.log.Error("otel callback: exporter not started", "error", err.Error())
			return
		}
		m.otelTraces = exp
		m.start(OTel, s, m.postOTel)
		if s.OTel.MetricsEndpoint != "" {
			// The GenAI metrics: recorded per try, exported by the SDK's
			// periodic reader (OTEL_METRIC_EXPORT_INTERVAL, default 60 s).
			mexp, err := newMetricExporter(s.OTel)
			if err == nil {
				m.otelMetrics, err = NewGenAIMetrics(func(o sdkmetric.ReaderOption) sdkmetric.Reader { return sdkmetric.NewPeriodicReader(mexp, o) }, otelResource(s.OTel.ServiceName))
			}
			if err != nil {
				m.log.Error("otel callback: GenAI metrics not started", "error", err.Error())
			}
		}
	}
}

// Enabled reports whether any logging callback is configured.
func (s *Settings) Enabled() bool {
	return s.OTel != nil || len(s.Named) > 0 || len(s.Teams) > 0 || (s.Generic != nil && s.Generic.Endpoint != "") || s.Metadata != nil ||
		(s.S3 != nil && s.S3.Bucket != "") || (s.Datadog != nil && s.Datadog.URL != "") || (s.LangSmith != nil && !s.LangSmith.Off) ||
		(s.SQS != nil && s.SQS.QueueURL != "") || s.Arize != nil || s.Phoenix != nil || (s.GCS != nil && s.GCS.Bucket != "") ||
		(s.Langfuse != nil && s.Langfuse.PublicKey != "" && s.Langfuse.SecretKey != "")
}

func (m *Manager) start(name string, s Settings, post func(context.Context, []outcome.Try) error) {
	m.startBatched(name, s, post, 0, 0)
}

// startBatched starts a sender with its own batch size and flush interval
// (0: the settings' BatchSize and FlushInterval).
func (m *Manager) startBatched(name string, s Settings, post func(context.Context, []outcome.Try) error, batch int, flush time.Duration) {
	if m.senders[name] != nil {
		return
	}
	q := min(max(4*max(s.BatchSize, batch), 1024), maxQueue)
	sd := newSender(name, post, m.log, &m.settings, batch, flush, q)
	m.senders[name] = sd
	go sd.run()
}

// Sink consumes the bus's events: the try whose answer reached the client
// goes to every callback that wants it (success or failure).
func (m *Manager) Sink() outcome.Sink {
	return func(t outcome.Try) {
		s := m.settings.Load()
		m.mu.Lock()
		gen, lf, ot, ol, s3s, dd := m.senders[GenericAPI], m.senders[Langfuse], m.senders[OTel], m.senders[OTelLogs], m.senders[S3], m.senders[Datadog]
		ls, sq, az, px, gc := m.senders[LangSmith], m.senders[SQS], m.senders[Arize], m.senders[ArizePhoenix], m.senders[GCSBucket]
		gm, smp := m.otelMetrics, m.otelSampler
		var named []*sender
		for _, nc := range s.Named {
			named = append(named, m.senders[nc.Name])
		}
		var team *sender
		tl := s.Teams[t.TeamID]
		if tl != nil && t.TeamID != "" {
			team = m.senders[teamSender(t.TeamID)]
		}
		m.mu.Unlock()
		// The request's own callbacks: its key's or its team's metadata
		// (dynamic.go), else default_team_settings.
		var dyn *dynamicLogging
		if s.Metadata != nil && (t.KeyHash != "" || t.TeamID != "") {
			km, tm := s.Metadata(t.KeyHash, t.TeamID)
			dyn = dynamicOf(&t, km, tm)
			if dyn != nil {
				dyn.decrypt(s.DecryptVar, &m.opened)
			}
		}
		otelOn := s.OTel != nil && (!s.OTel.TeamsOnly || dyn != nil && (dyn.success[OTel] || dyn.failure[OTel]) ||
			dyn == nil && t.TeamID != "" && s.TeamOTel[t.TeamID])
		if otelOn {
			var tid trace.TraceID
			if smp.byID(t.Traceparent) {
				tid, _ = traceIDs(&t)
			}
			if smp.sampled(tid, t.Traceparent) {
				ot.enqueue(&t) // every try of a sampled request: a span per attempt
			}
			if gm != nil && !t.Refused {
				gm.Record(&t)
			}
		}
		if t.Answer != outcome.AnswerSent {
			return
		}
		if otelOn && s.OTel.LogsEndpoint != "" {
			ol.enqueue(&t) // the OTLP access log: every request, sampled or not
		}
		failed := t.Failed()
		ownWants := func(byTeam map[string]Events, name string) bool {
			if dyn != nil {
				return dyn.wants(name, failed)
			}
			return t.TeamID != "" && byTeam[t.TeamID].want(failed)
		}
		if s.Generic != nil && (s.Generic.want(failed) || ownWants(s.TeamGeneric, GenericAPI)) {
			gen.enqueue(&t) // once, whether the global lists or the request's own name it
		}
		if s.S3 != nil && (s.S3.want(failed) || ownWants(s.TeamS3, S3)) {
			s3s.enqueue(&t)
		}
		if s.Datadog != nil && s.Datadog.want(failed) {
			dd.enqueue(&t)
		}
		if s.LangSmith != nil && s.LangSmith.want(failed) {
			ls.enqueue(&t)
		}
		if s.SQS != nil && s.SQS.want(failed) {
			sq.enqueue(&t)
		}
		if s.Arize != nil && s.Arize.want(failed) {
			az.enqueue(&t)
		}
		if s.Phoenix != nil && s.Phoenix.want(failed) {
			px.enqueue(&t)
		}
		if s.GCS != nil && s.GCS.want(failed) {
			gc.enqueue(&t)
		}
		globalLF := s.Langfuse != nil && s.Langfuse.want(failed)
		switch {
		case dyn != nil:
			own := dyn.langfuse(s)
			switch {
			case !dyn.wants(Langfuse, failed) && !globalLF:
			case own != nil:
				// The key's or team's project replaces the global one.
				m.mu.Lock()
				sd := m.dynamicSender(dyn.owner, own)
				m.mu.Unlock()
				sd.enqueue(&t)
			default:
				lf.enqueue(&t) // no credentials of its own: the global project
			}
		case tl != nil && t.TeamID != "":
			// Team-based logging: the team's project replaces the global
			// one (LiteLLM's per-request Langfuse credentials).
			if tl.want(failed) || globalLF {
				team.enqueue(&t)
			}
		case globalLF:
			lf.enqueue(&t)
		}
		for i, nc := range s.Named {
			if nc.want(failed) {
				named[i].enqueue(&t)
			}
		}
	}
}

// WantsSuccess reports whether Sink has anything to do with a success
// answered to the client of a request of this key and team: false only
// when no callback is configured but those a key's or team's metadata may
// name (the sink registered keyed, D64) and neither this key's nor this
// team's metadata names any. The bus's OnlyFor asks it, so that such a
// request's spend goes to the spend sink without crossing the bus (D155).
// It errs towards true: a try it calls wanted is only handed to Sink.
func (m *Manager) WantsSuccess(keyHash, teamID string) bool {
	s := m.settings.Load()
	if s.OTel != nil && (!s.OTel.TeamsOnly || len(s.TeamOTel) > 0) || len(s.Named) > 0 || len(s.Teams) > 0 ||
		s.Generic != nil && (s.Generic.Success || len(s.TeamGeneric) > 0) || s.S3 != nil || len(s.TeamS3) > 0 ||
		s.Datadog != nil || s.LangSmith != nil || s.Langfuse != nil || s.SQS != nil || s.Arize != nil || s.Phoenix != nil || s.GCS != nil {
		return true
	}
	if s.Metadata == nil || keyHash == "" && teamID == "" {
		return false
	}
	km, tm := s.Metadata(keyHash, teamID)
	return km != nil || tm != nil
}

// Close delivers what is queued (one post per batch, no retry) and stops
// the senders.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	ss := make([]*sender, 0, len(m.senders))
	for _, s := range m.senders {
		ss = append(ss, s)
	}
	m.mu.Unlock()
	for _, s := range ss {
		s.stop()
	}
	m.mu.Lock()
	a := m.audit
	m.mu.Unlock()
	if a != nil {
		a.stop()
	}
	if m.otelTraces != nil {
		m.otelTraces.close()
	}
	m.arize.close()
	if m.otelLogs != nil {
		m.otelLogs.close()
	}
	if m.otelMetrics != nil {
		ctx, cancel := context.WithTimeout(context.Background(), PostTimeout)
		defer cancel()
		_ = m.otelMetrics.Shutdown(ctx)
	}
}

// Stat is one callback's counts.
type Stat struct {
	Name     string
	Sent     uint64 // events delivered
	Dropped  uint64 // events lost: queue full, or given up after the retries
	Failures uint64 // failed posts (each retry counted)
}

// Stats returns each started callback's counts.
func (m *Manager) Stats() []Stat {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Stat
	names := []string{GenericAPI, Langfuse, OTel, OTelLogs, S3}
	for name := range m.senders {
		if !slices.Contains(names[:5], name) {
			names = append(names, name)
		}
	}
	sort.Strings(names[5:])
	for _, name := range names {
		if s := m.senders[name]; s != nil {
			out = append(out, Stat{Name: name, Sent: s.sent.Load(), Dropped: s.dropped.Load(), Failures: s.failures.Load()})
		}
	}
	if a := m.audit; a != nil {
		out = append(out, Stat{Name: S3Audit, Sent: a.sent.Load(), Dropped: a.dropped.Load(), Failures: a.failures.Load()})
	}
	return out
}

// sender batches one callback's events and posts them. Its queue is
// batches under a mutex (D110), not a channel: a channel of events copied
// each event in and out (twice 576 bytes of pointers, under the garbage
// collector's write barrier while it marks) before the batch's own copy,
// and held its whole ring (4 × batch_size events) for the collector to scan
// at every cycle even when empty. Now an event is copied once, into the
// batch it is posted from; the goroutine wakes when a batch is full, at the
// flush tick, or at stop; and the batches' slices are reused.
type sender struct {
	name     string
	post     func(context.Context, []outcome.Try) error
	log      *slog.Logger
	settings *atomic.Pointer[Settings]
	// batch and flush override the settings' BatchSize and FlushInterval
	// when set (the s3 callback's DEFAULT_S3_* knobs).
	batch int
	flush time.Duration
	limit int // events queued at most; past it an event is dropped

	mu      sync.Mutex
	buf     []outcome.Try   // the batch being filled
	ready   [][]outcome.Try // full batches, oldest first
	queued  int             // events in buf and ready
	free    [][]outcome.Try // delivered batches' slices, for the next bufs
	stopped bool
	wake    chan struct{} // capacity 1: a batch is full, or stop
	done    chan struct{}

	sent, dropped, failures atomic.Uint64
}

func newSender(name string, post func(context.Context, []outcome.Try) error, log *slog.Logger, settings *atomic.Pointer[Settings], batch int, flush time.Duration, limit int) *sender {
	return &sender{name: name, post: post, log: log, settings: settings, batch: batch, flush: flush, limit: limit,
		wake: make(chan struct{}, 1), done: make(chan struct{})}
}

// enqueue never blocks: a full queue drops the event.
func (s *sender) enqueue(t *outcome.Try) {
	if s == nil {
		return
	}
	s.mu.Lock()
	if s.stopped || s.queued >= s.limit {
		s.mu.Unlock()
		s.dropped.Add(1)
		return
	}
	bs := s.batchSize()
	if s.buf == nil {
		if n := len(s.free); n > 0 {
			s.buf, s.free[n-1] = s.free[n-1], nil
			s.free = s.free[:n-1]
		} else {
			s.buf = make([]outcome.Try, 0, min(bs, s.limit))
		}
	}
	s.buf = append(s.buf, *t)
	s.queued++
	full := len(s.buf) >= bs
	if full {
		s.ready = append(s.ready, s.buf)
		s.buf = nil
	}
	s.mu.Unlock()
	if full {
		s.signal()
	}
}

func (s *sender) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

func (s *sender) stop() {
	s.mu.Lock()
	s.stopped = true
	s.mu.Unlock()
	s.signal()
	<-s.done
}

func (s *sender) batchSize() int {
	if s.batch > 0 {
		return s.batch
	}
	return max(s.settings.Load().BatchSize, 1)
}

// take returns the full batches, and with all (the flush tick) or at stop
// the one being filled too, oldest first.
func (s *sender) take(into [][]outcome.Try, all bool) (batches [][]outcome.Try, stopped bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	batches, stopped = append(into, s.ready...), s.stopped
	clear(s.ready)
	s.ready = s.ready[:0]
	if (all || stopped) && len(s.buf) > 0 {
		batches = append(batches, s.buf)
		s.buf = nil
	}
	for _, b := range batches {
		s.queued -= len(b)
	}
	return batches, stopped
}

// recycle keeps a delivered batch's slice for a next one.
func (s *sender) recycle(b []outcome.Try) {
	if cap(b) > maxSpare {
		return // a backlog's: given back to the garbage collector
	}
	clear(b) // release the events' strings
	s.mu.Lock()
	if len(s.free) < keepFree {
		s.free = append(s.free, b[:0])
	}
	s.mu.Unlock()
}

// maxSpare bounds a batch slice a sender keeps for reuse, keepFree how many.
const (
	maxSpare = 4096
	keepFree = 2
)

func (s *sender) run() {
	defer close(s.done)
	flush := s.flush
	if flush <= 0 {
		flush = s.settings.Load().FlushInterval
	}
	tick := time.NewTicker(flush)
	defer tick.Stop()
	var batches [][]outcome.Try
	for {
		all := false
		select {
		case <-s.wake:
		case <-tick.C:
			all = true
		}
		var stopped bool
		batches, stopped = s.take(batches[:0], all)
		for i, b := range batches {
			attempts := Attempts
			if stopped && len(b) < s.batchSize() {
				attempts = 1 // shutting down: the last, partial batch is posted once
			}
			s.deliver(b, attempts)
			s.recycle(b)
			batches[i] = nil
		}
		if stopped {
			return
		}
	}
}

// deliver posts a batch, retrying with back-off; events of a batch given up
// on are counted as dropped.
func (s *sender) deliver(batch []outcome.Try, attempts int) {
	wait := Backoff
	for i := 0; i < attempts; i++ {
		if i > 0 {
			time.Sleep(wait)
			wait *= 2
		}
		ctx, cancel := context.WithTimeout(context.Background(), PostTimeout)
		err := s.post(ctx, batch)
		cancel()
		if err == nil {
			s.sent.Add(uint64(len(batch)))
			return
		}
		s.failures.Add(1)
		if i == attempts-1 || !retryable(err) {
			s.dropped.Add(uint64(len(batch)))
			s.log.Warn("logging callback: batch not delivered", "callback", s.name, "events", len(batch), "error", err.Error())
			return
		}
	}
}

// statusError is a receiver's non-2xx answer.
type statusError struct {
	status int
	body   string
}

func (e *statusError) Error() string { return fmt.Sprintf("status %d: %s", e.status, e.body) }

// retryable: network errors, 408, 429 and 5xx are tried again; other
// answers would be the same next time.
func retryable(err error) bool {
	if j, ok := err.(interface{ Unwrap() []error }); ok { // a batch's errors (s3): any worth a retry
		for _, e := range j.Unwrap() {
			if retryable(e) {
				return true
			}
		}
		return false
	}
	if _, ok := err.(permanentError); ok {
		return false
	}
	if se, ok := err.(*statusError); ok {
		return se.status == 408 || se.status == 429 || se.status >= 500
	}
	return true
}

// postJSON posts body with the headers and reads the answer.
func (m *Manager) postJSON(ctx context.Context, url string, body []byte, hdr map[string]string) error {
	return post(ctx, m.client, url, "application/json", body, hdr)
}

// post sends one POST of body (its content type and headers) and reads the
// answer: a non-2xx status is a *statusError (retryable tells whether to
// try again). Every HTTP receiver's post goes through here; the sender
// retries.
func post(ctx context.Context, client *http.Client, url, contentType string, body []byte, hdr map[string]string) error {
	_, err := postReleased(ctx, client, url, contentType, body, hdr)
	return err
}

// postReleased is post that also tells whether the transport is done with
// body (every reader of it it opened was closed), so that the caller may
// write the next batch into it (sizeHint.release).
func postReleased(ctx context.Context, client *http.Client, url, contentType string, body []byte, hdr map[string]string) (bool, error) {
	var open atomic.Int32
	reader := func() io.ReadCloser {
		open.Add(1)
		return &trackedBody{Reader: bytes.NewReader(body), open: &open}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, http.NoBody)
	if err != nil {
		return true, err
	}
	req.Body, req.ContentLength = reader(), int64(len(body))
	req.GetBody = func() (io.ReadCloser, error) { return reader(), nil }
	req.Header.Set("Content-Type", contentType)
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := client.Do(req)
	if err != nil {
		return false, err
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	if resp.StatusCode/100 != 2 {
		return false, &statusError{status: resp.StatusCode, body: string(bytes.TrimSpace(b))}
	}
	return open.Load() == 0, nil
}

// trackedBody is a request body that counts itself closed.
type trackedBody struct {
	*bytes.Reader
	open *atomic.Int32
	once sync.Once
}

func (t *trackedBody) Close() error {
	t.once.Do(func() { t.open.Add(-1) })
	return nil
}
