package extproc

import (
	"context"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	alsv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
	"github.com/llmgate/llmgate/xds"
)

// UsageMetadataNamespace is the dynamic metadata the fast path writes with
// the answering try's usage (number fields prompt_tokens, completion_tokens,
// total_tokens; string model).
const UsageMetadataNamespace = contract.UsageMetadataNamespace

// FastMetadataKey is the bool field of llmgate.ctx the request filter sets on
// a fast request.
const FastMetadataKey = xds.FastPathMetadataKey

// accessLogService is Envoy's gRPC access-log service (the outcome log,
// docs/architecture.md D44): it joins each request's try entries with its
// request entry and reports the tries no attempt filter reported, as the
// attempt filter would have (Router.Report, the outcome bus). Nothing here
// is on a request's path: Envoy sends the entries after the fact, in batches.
type accessLogService struct {
	alsv3.UnimplementedAccessLogServiceServer
	s *Server
	j *joiner
}

// registerAccessLog adds the access-log service to the gRPC server that
// serves ext_proc (the same process, the same replica).
func (s *Server) registerAccessLog(g *grpc.Server) {
	a := &accessLogService{s: s, j: newJoiner()}
	alsv3.RegisterAccessLogServiceServer(g, a)
	a.registerModuleOutcomes(g)
	// The fast path may now take plans whose deployments can cool down,
	// and usage-tracked requests: their tries are reported from here (D45).
	s.OffPathOutcomes = true
}

// accessLogStop ends every access-log stream once (EndAccessLogs).
type accessLogStop struct {
	once sync.Once
	ch   chan struct{}
	init sync.Once
}

func (a *accessLogStop) done() chan struct{} {
	a.init.Do(func() { a.ch = make(chan struct{}) })
	return a.ch
}

// EndAccessLogs ends Envoy's access-log streams (and refuses new ones) with
// an OK status: Envoy reopens its stream, on another replica when this one
// reports NOT_SERVING. Entries already received are reported first.
func (s *Server) EndAccessLogs() {
	s.accessLogs.once.Do(func() { close(s.accessLogs.done()) })
}

// receiveRaw reads a stream's messages on their own goroutine, so that a
// drain can end the stream while Recv waits. Each message is kept as raw
// bytes (the unknown fields of an Empty) and read field by field
// (alswire.go); the stream's error ends the reading.
func receiveRaw(ss grpc.ServerStream, raw bool) (<-chan []byte, <-chan error) {
	msgs := make(chan []byte, 16)
	errc := make(chan error, 1)
	go func() {
		for {
			b, err := recvBytes(ss, raw)
			if err != nil {
				errc <- err
				return
			}
			select {
			case msgs <- b:
			case <-ss.Context().Done():
				return
			}
		}
	}()
	return msgs, errc
}

// sweepEvery is how often a stream gives up joins whose wait is over.
const sweepEvery = 250 * time.Millisecond

// StreamAccessLogs serves one logger stream of one Envoy worker.
func (a *accessLogService) StreamAccessLogs(stream alsv3.AccessLogService_StreamAccessLogsServer) error {
	end := a.s.accessLogs.done()
	msgs, errc := receiveRaw(stream, false)
	t := time.NewTicker(sweepEvery)
	defer t.Stop()
	for {
		select {
		case <-end:
			for {
				select {
				case b := <-msgs:
					a.read(b)
				default:
					return stream.SendAndClose(&alsv3.StreamAccessLogsResponse{})
				}
			}
		case err := <-errc:
			switch {
			case errors.Is(err, io.EOF):
				return stream.SendAndClose(&alsv3.StreamAccessLogsResponse{})
			case status.Code(err) == codes.Canceled:
				return nil
			}
			return err
		case now := <-t.C:
			a.handle(a.j.sweep(now))
		case b := <-msgs:
			a.read(b)
		}
	}
}

// read takes the entries of one message.
func (a *accessLogService) read(b []byte) {
	now := time.Now()
	err := decodeLogMessage(b,
		func(t tryLog) { a.handle(a.j.addTry(t, now)) },
		func(r requestLog) { a.handle(a.j.addRequest(r, now)) })
	if err != nil {
		a.s.log.Warn("outcome log: a message from Envoy cannot be read", "error", err)
	}
}

// boundTokens keeps a provider's token count within sane bounds.
func boundTokens(v float64) int {
	if v != v || v < 0 {
		return 0
	}
	if v > 1<<31 {
		return 1 << 31
	}
	return int(v)
}

// handle reports the tries of finished joins.
func (a *accessLogService) handle(js []joined) {
	if len(js) == 0 {
		return
	}
	st := a.s.state.Load()
	for _, j := range js {
		a.s.reportLogged(st, j)
		if j.req != nil && j.req.ack != nil {
			j.req.ack.release()
		}
	}
}

// clusterDeployment is the deployment an Envoy cluster serves: dep_<id>, or
// dep_<id>_<provider> for a `model: "*"` deployment (its provider set).
func (st *State) clusterDeployment(cluster string) (*config.Deployment, bool) {
	id, ok := strings.CutPrefix(cluster, contract.DeploymentClusterPrefix)
	if !ok {
		return nil, false
	}
	if d, ok := st.deployment(id); ok && d.Provider != "" {
		return d, true
	}
	if i := strings.LastIndexByte(id, '_'); i > 0 {
		if d, ok := st.deployment(id[:i]); ok && d.Provider == "" {
			dp := *d
			dp.Provider = id[i+1:]
			return &dp, true
		}
	}
	return nil, false
}

// logsOutcome reports whether the outcome log, not the attempt filter,
// reports a try of a request: in a fast request (llmgate.ctx "fast", set by
// the request filter when every attempt is a fast-path deployment) the
// attempt filter runs only on error responses (status >= 400), so every
// other try (a success, or no response at all) is the log's. A request
// that is not fast has the attempt filter on every try. The module's own
// record of a try is always the log's: the attempt filter never saw that try
// (its answer began below 400), even when the module reports it failed — a
// translated stream that ended with the provider's error inside it (D66).
func logsOutcome(fast bool, t *tryLog) bool {
	return fast && (t.status < 400 || t.module)
}

// reportLogged turns the logged tries of one request into what the attempt
// filter reports for the tries it serves: Router.Report (cooldowns, latency,
// tokens) and one outcome.Try on the bus.
func (s *Server) reportLogged(st *State, j joined) { s.reportJoined(st, j, nil) }

// reportJoined is reportLogged; with direct, when nothing in the config
// reads a success (State.successesUnread), the router is not told and the
// events are appended to *direct instead of published: the caller hands
// them to the spend sink, the bus's only sink (alsspend.go, D145).
func (s *Server) reportJoined(st *State, j joined, direct *[]outcome.Try) {
	if j.req == nil || !j.req.fast {
		// Not a fast request, or its entry never came (then nobody can
		// tell whether an attempt filter reported its tries): not ours.
		return
	}
	rc, _ := decodeReportContext(j.req.ctx) // without the response headers (D84)
	if rc == nil {
		s.log.Warn("outcome log: a request's context cannot be read; its tries are not reported", "request_id", strings.Clone(j.req.requestID)) // (a view of a compact record's bytes, D176)
		return
	}
	// The answering try is the last one Envoy made.
	last := len(j.tries) - 1
	if last >= 0 && j.tries[last].module {
		// The module's record: the try's times from the request's (D54).
		moduleTryTimes(&j.tries[last], time.Unix(0, rc.StartUnixNano+rc.OverheadNanos), j.tries[:last])
	}
	bg := context.Background()
	for i := range j.tries {
		t := &j.tries[i]
		d, ok := st.tryDeployment(t.cluster, rc, i) // (on a host's cluster: the plan's entry, D62)
		if !ok || !logsOutcome(j.req.fast, t) {
			continue
		}
		if t.failure == failClient && !(i == last && (j.req.usage.done || j.req.usage.streamErr != "") && t.status > 0 && t.status < 400) {
			// The client went away: no provider failure, nothing answered
			// — unless the stream's [DONE] had passed: then the client
			// closed a whole answer (the official SDKs do, D76); or the
			// provider's error event: the SDKs raise and close at it (D82).
			continue
		}
		lt := loggedTry{st: st, rc: rc, d: d, t: t, index: i, attempt: attemptFor(rc, i, d)}
		switch {
		case i == last:
			lt.answer = outcome.AnswerSent
			if (j.req.usage.known || j.req.usage.finish != "" || j.req.usage.streamErr != "") && t.status > 0 && t.status < 400 {
				lt.usage = j.req.usage
			}
		default:
			lt.answer = outcome.AnswerRetried
		}
		o := lt.outcome()
		var until time.Time
		if direct == nil || !st.successesUnread {
			var err error
			if until, err = st.Router.Report(bg, o); err != nil {
				s.log.Warn("router report", "deployment", d.ID, "error", err)
			}
		}
		ev := lt.event(o)
		ev.CooldownUntil = until
		if rc.KeyParallel && ev.Answer == outcome.AnswerSent && st.keys != nil {
			// The answer went to the client: the key's parallel slot is free.
			st.keys.EndFor(bg, rc.KeyHash, rc.TeamId, rc.UserId)
		}
		if direct != nil {
			*direct = append(*direct, ev)
			continue
		}
		s.Outcomes.Publish(ev)
	}
}

// attemptFor is the plan entry of try i on deployment d (as the attempt
// filter finds it).
func attemptFor(rc *llmgatev1.RequestContext, i int, d *config.Deployment) *llmgatev1.Attempt {
	if i < len(rc.Attempts) && rc.Attempts[i].DeploymentId == d.ID {
		return rc.Attempts[i]
	}
	for _, a := range rc.Attempts {
		if a.DeploymentId == d.ID {
			return a
		}
	}
	return &llmgatev1.Attempt{DeploymentId: d.ID, ModelGroup: d.ModelName, Model: d.Model}
}

// loggedTry is one logged try being reported.
type loggedTry struct {
	st      *State
	rc      *llmgatev1.RequestContext
	d       *config.Deployment
	t       *tryLog
	index   int
	attempt *llmgatev1.Attempt
	answer  outcome.Answer
	usage   usageLog
}

// outcome is the try as Router.Report reads it, classified as the attempt
// filter classifies the same try.
func (lt *loggedTry) outcome() router.Outcome {
	t := lt.t
	o := router.Outcome{DeploymentID: lt.d.ID, Group: lt.attempt.ModelGroup, Status: t.status, Stream: lt.rc.Stream, Latency: t.latency, CallID: lt.rc.CallId}
	switch t.failure {
	case failTimeout:
		o.Status, o.Timeout, o.Class = 0, true, translator.ErrTimeout
	case failConnect, failReset:
		if t.status > 0 && lt.rc.Stream {
			// A stream cut mid-way counts as the attempt filter counts it:
			// not at all (clients end streams early on purpose).
			break
		}
		// No whole answer: LiteLLM's APIConnectionError, which counts
		// toward the cooldown (D6).
		o.Status, o.Class = 0, translator.ErrInternal
	default:
		if t.status == 0 {
			o.Class = translator.ErrInternal
		}
	}
	if o.Status > 0 {
		o.Class = translator.ClassForStatus(o.Status)
		if t.class != translator.ErrNone {
			// The module's try failed inside its stream: the status and
			// class are translator.StreamFailureOf's (D71, D82).
			o.Class, o.InStream = t.class, true
		}
		o.RetryAfter = translator.ParseRetryAfter(t.headers["retry-after"])
	}
	if o.Status > 0 && o.Status < 400 && lt.usage.streamErr != "" {
		// The ext_proc fast path's stream carried the provider's error
		// event (xds.FastPathLua): counted as the attempt filter counts it.
		if e := translator.ParseStreamError([]byte(lt.usage.streamErr)); e != nil {
			f := translator.StreamFailureOf(lt.d.Provider, e)
			o.Status, o.Class, o.InStream = f.Status, f.Class, true
		}
	}
	if lt.rc.Stream && o.Class == translator.ErrNone {
		o.TimeToFirstToken = t.firstByte
	}
	if lt.usage.finish == "content_filter" && o.Class == translator.ErrNone {
		// A success the provider filtered: the attempt filter's class.
		o.Class = translator.ErrContentPolicy
	}
	if lt.usage.known {
		o.Usage = translator.Usage{PromptTokens: lt.usage.promptTokens, CompletionTokens: lt.usage.completionTokens, TotalTokens: lt.usage.total,
			CachedTokens: lt.usage.cached}
	}
	return o
}

// event is the try's outcome event, field for field as the attempt filter's
// (outcomeTry).
func (lt *loggedTry) event(o router.Outcome) outcome.Try {
	rc, d := lt.rc, lt.d
	ev := outcome.Try{
		CallID:           rc.CallId,
		ModelGroup:       lt.attempt.ModelGroup,
		RequestedModel:   rc.RequestedModel,
		DeploymentID:     d.ID,
		Model:            lt.attempt.Model,
		Provider:         d.Provider,
		Endpoint:         endpointFromProto(rc.Endpoint).String(),
		Route:            routeOf(rc.OriginalPath),
		KeyHash:          rc.KeyHash,
		KeyAlias:         rc.KeyAlias,
		TeamID:           rc.TeamId,
		UserID:           rc.UserId,
		EndUser:          rc.EndUser,
		Status:           o.Status,
		ErrorClass:       exceptionName(o),
		Timeout:          o.Timeout,
		Stream:           rc.Stream,
		PromptTokens:     o.Usage.PromptTokens,
		CompletionTokens: o.Usage.CompletionTokens,
		TotalTokens:      o.Usage.TotalTokens,
		Latency:          o.Latency,
		TimeToFirstToken: o.TimeToFirstToken,
		Overhead:         time.Duration(rc.OverheadNanos),
		Attempt:          lt.index,
		Retry:            int(lt.attempt.Retry),
		Fallback:         int(lt.attempt.FallbackIndex),
		Answer:           lt.answer,
		Traceparent:      rc.Traceparent,
		Tags:             rc.Tags,
		LateTags:         lateTags(rc.LateTags, d),
		UserAgent:        rc.UserAgent,
		MetadataLabels:   rc.MetadataLabels,
	}
	if o.Status == 0 && !o.Timeout {
		ev.ErrorClass = "APIConnectionError"
	}
	ev.APIBase = apiBaseAuthority(d)
	if ev.TotalTokens == 0 {
		ev.TotalTokens = ev.PromptTokens + ev.CompletionTokens
	}
	if rc.StartUnixNano > 0 {
		ev.Start = time.Unix(0, rc.StartUnixNano)
	}
	if !lt.t.start.IsZero() {
		ev.End = lt.t.start.Add(lt.t.latency)
	} else {
		ev.End = time.Now()
	}
	if v, err := strconv.ParseInt(lt.t.headers["x-ratelimit-remaining-requests"], 10, 64); err == nil {
		ev.RemainingRequests, ev.HasRemainingRequests = v, true
	}
	if v, err := strconv.ParseInt(lt.t.headers["x-ratelimit-remaining-tokens"], 10, 64); err == nil {
		ev.RemainingTokens, ev.HasRemainingTokens = v, true
	}
	if ev.PromptTokens > 0 || ev.CompletionTokens > 0 {
		ev.Cost, ev.CostKnown = lt.st.Router.Cost(d, d.Provider, lt.attempt.Model, o.Usage, o.Latency)
	}
	return ev
}

// authorities caches an api_base's authority (host:port) by the api_base:
// each logged try's event names it, and parsing the URL was two
// allocations and ≈ 5 % of the outcome intake's CPU per try (D115). Bounded:
// past authoritiesMax api_bases the rest are parsed each time.
var (
	authorities  sync.Map // api_base → authority ("" when it does not parse)
	nAuthorities atomic.Int64
)

const authoritiesMax = 4096

// apiBaseAuthority is the authority of d's api_base ("" when it has none
// or it does not parse).
func apiBaseAuthority(d *config.Deployment) string {
	raw := upstream.APIBase(d)
	if a, ok := authorities.Load(raw); ok {
		return a.(string)
	}
	var a string
	if base, err := upstream.For(d); err == nil {
		a = base.Authority()
	}
	if nAuthorities.Load() < authoritiesMax {
		if _, loaded := authorities.LoadOrStore(raw, a); !loaded {
			nAuthorities.Add(1)
		}
	}
	return a
}
