package extproc

import (
	"context"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/alerting"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/filesapi"
	"github.com/llmgate/llmgate/internal/guardrails"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/mcp"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/outcome"
	"github.com/llmgate/llmgate/internal/respcache"
	"github.com/llmgate/llmgate/internal/search"
	"github.com/llmgate/llmgate/internal/store"
	"github.com/llmgate/llmgate/internal/vectorstores"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/xds"
)

// State is everything the filters need for one config version. It is
// immutable once built; a reload swaps in a new one.
type State struct {
	// guards are the config's guardrails (nil: none; guardrails.go, D139).
	guards  *guardrails.Set
	Cfg     *config.Config
	Router  *router.Router
	Version string
	Started time.Time

	// mcp is the MCP gateway of mcp_servers, made at its first use (mcp.go).
	mcpOnce sync.Once
	mcp     *mcp.Gateway
	// vs searches vector_store_registry, made at its first use (vectorstores.go).
	vsOnce sync.Once
	vs     *vectorstores.Searcher
	// search calls search_tools, made at its first use (search.go).
	searchOnce sync.Once
	search     *search.Searcher
	// files serves the Files and Batches routes (files.go, D147).
	filesOnce sync.Once
	files     *filesapi.Service

	// retired are the deployments of the previous config that this one
	// dropped: attempts planned just before a reload still find them.
	retired map[string]*config.Deployment
	// upcoming is the state a reload is about to switch to (Upcoming).
	upcoming atomic.Pointer[State]

	// needTokens: count input tokens for the plan (pre-call checks, tpm limits).
	needTokens bool
	// trackUsage: read usage from every response (tpm, usage/latency routing).
	trackUsage bool
	// successesUnread: nothing in the config reads a success's outcome
	// (moduleresp_cache.go quietPlan, D124).
	successesUnread bool
	// trackEnd: see the end of every response (in-flight counts).
	trackEnd bool
	// countCalls: count rpm and in-flight per try (limits, usage headers,
	// usage-based and least-busy routing); otherwise a try costs no store
	// round trip before the call.
	countCalls bool
	// mockTimeouts: some deployment sets litellm_params.mock_timeout.
	mockTimeouts bool
	// userAgentTags: the spend logs carry "User-Agent: …" request tags (not
	// litellm_settings.disable_add_user_agent_to_request_tags; tags.go).
	userAgentTags bool
	// metricTags: custom_prometheus_tags labels the metrics, or the
	// langfuse callback tags its traces, so every request's own tags ride
	// its outcome (not only logged spend's);
	// metricMetadata are custom_prometheus_metadata_labels (labels.go, D91).
	metricTags     bool
	metricMetadata []config.PrometheusLabel
	// fastLua: the fast-path clusters set each try's path and host
	// (xds.FastPathClusterLua); otherwise only single-attempt plans are fast.
	fastLua bool

	// ticketKey signs and verifies tickets (SetTicketKey).
	ticketKey []byte

	masterKey [32]byte // sha256 of the master key
	hasMaster bool
	// callerSpend: a keyless caller's request (the master key's, a JWT's)
	// has its spend logged under its api_key, as LiteLLM logs every
	// request's (general_settings.database_url set; D136). Without a
	// database the master key's successes stay unrecorded (D124).
	callerSpend bool
	keyHeaders  []string

	// maxBody bounds a request body (general_settings.max_request_size_mb):
	// the pipelined filter holds it, not Envoy (pipeline.go).
	maxBody int

	// keys are the virtual keys (nil without master_key); the service
	// outlives config reloads.
	keys *keys.Service
	// rules and ips are general_settings' request checks (keys.go, D90):
	// nil when the config sets none.
	rules *keys.RequestRules
	ips   *ipRule
	// public is general_settings.public_routes (nil: not set), keys.go.
	public *routeSet
	// access is JWT auth and the route settings (auth.go, D97).
	access routeAccess

	// localStore: the store is the in-process one (no round trip to bound).
	localStore bool

	// planGroups are the plan metadata's priority groups (planmeta.go).
	planGroups planGroupCache
	// fastDeps: the fast path's static work per deployment (routed.go).
	fastDeps fastDepCache
	// respPlans: the module's answer plans by plan order (moduleresp_cache.go, D124).
	respPlans respPlanCache
	// tryBases: each deployment's api_base parsed once for its tries
	// (attempt.go, D116).
	tryBases sync.Map // *config.Deployment → *tryBase

	// respCache is the response cache (respcache.go, D111), opened on
	// first use; log logs its failures.
	respCacheOnce sync.Once
	respCache     *respcache.Cache
	// respCacheEmbed gives a semantic cache its embedder once (D138).
	respCacheEmbed sync.Once
	log            *slog.Logger
}

// WithPins keeps the router's stored pins in p (the gateway's table, which
// outlives a config and is shared with the other instances, D179).
func (st *State) WithPins(p *router.Pins) *State {
	if p != nil {
		st.Router = router.NewFromModel(st.Router.Model(), st.Router.Store(), router.WithLogger(st.log), router.WithPins(p))
	}
	return st
}

// WithKeys serves virtual keys from k (the management API, the request
// checks and spend); nil serves the master key only.
func (st *State) WithKeys(k *keys.Service) *State {
	st.keys = k
	return st
}

// NewState compiles a config for the filters.
func NewState(cfg *config.Config, st store.Store, version string, log *slog.Logger) *State {
	return NewStateFromModel(cfg, nil, st, version, log)
}

// NewStateFromModel is NewState with the config already compiled (m, from
// model.Compile(cfg); nil compiles it).
func NewStateFromModel(cfg *config.Config, m *model.Model, st store.Store, version string, log *slog.Logger) *State {
	s := &State{Cfg: cfg, Version: version, Started: time.Now(), log: log}
	if s.log == nil {
		s.log = slog.Default()
	}
	if m == nil {
		m = model.Compile(cfg)
	}
	s.Router = router.NewFromModel(m, st, router.WithLogger(log))
	switch st.(type) {
	case *store.Memory, *leaseStore:
		// In process (the module's lease view reads its own memory too):
		// no round trip to bound with a timer (D87).
		s.localStore = true
	}
	if cfg.General.MasterKey != "" {
		s.masterKey = sha256.Sum256([]byte(cfg.General.MasterKey))
		s.hasMaster = true
		s.callerSpend = cfg.General.DatabaseURL != ""
	}
	s.keyHeaders = keyHeaderOrder(cfg.General.LiteLLMKeyHeaderName)
	s.fastLua = xds.FastPathClusterLua(m)
	s.maxBody = int(xds.MaxRequestBytes(cfg))
	s.needTokens, s.trackUsage, s.trackEnd = m.Track.Tokens, m.Track.Usage, m.Track.End
	// What reads a success's outcome in the gateway (Router.Report, the
	// bus) beside the bus's sinks and the request's own tracking (D124):
	// the store's token, call and in-flight counts, latencies, budgets.
	// The stored pins are written by successes too (router/pins.go, D179).
	s.successesUnread = !m.Track.Tokens && !m.Track.Usage && !m.Track.Calls && !m.Track.End && !m.Track.Latencies && !m.Routing.Budgets &&
		!m.Routing.PromptCaching && !m.Routing.Repin
	s.countCalls, s.mockTimeouts = m.Track.Calls, m.Track.MockTimeouts
	s.userAgentTags = !cfg.LiteLLM.DisableUserAgentTags
	// The Langfuse traces carry every request's tags too (D91).
	lfOK, lfFail := cfg.LiteLLM.CallbackEvents("langfuse")
	s.metricTags = len(cfg.LiteLLM.PrometheusTuning.TagLabels) > 0 || lfOK || lfFail
	s.metricMetadata = cfg.LiteLLM.PrometheusTuning.MetadataLabels
	s.rules = keys.NewRequestRules(cfg.General.EnforceUserParam, cfg.General.EnforcedParams, cfg.General.ServiceAccountEnforcedParams)
	s.ips = newIPRule(cfg.General)
	s.public = newRouteSet(cfg.General.PublicRoutes)
	s.access = newRouteAccess(cfg.General)
	s.guards = guardrails.New(cfg) // nil without guardrails (guardrails.go, D139)
	return s
}

// Retire remembers the deployments of prev that this state no longer has, so
// that in-flight attempts planned under prev still find their deployment.
func (st *State) Retire(prev *State) {
	if prev == nil {
		return
	}
	for i := range prev.Cfg.Models {
		d := &prev.Cfg.Models[i]
		if _, ok := st.Router.Deployment(d.ID); ok {
			continue
		}
		if st.retired == nil {
			st.retired = map[string]*config.Deployment{}
		}
		st.retired[d.ID] = d
	}
}

// deployment finds a deployment of this config or of the one before it.
func (st *State) deployment(id string) (*config.Deployment, bool) {
	if d, ok := st.Router.Deployment(id); ok {
		return d, true
	}
	if d, ok := st.retired[id]; ok {
		return d, true
	}
	return st.upcomingDeployment(id) // (moduleup.go, D62)
}

// Server is the ext_proc gRPC service for both filters.
type Server struct {
	extprocv3.UnimplementedExternalProcessorServer
	state atomic.Pointer[State]
	log   *slog.Logger
	now   func() time.Time
	// SelfURL is the gateway's own listener (http://127.0.0.1:4000): /health
	// checks every deployment through Envoy, as a client would.
	SelfURL string
	// Outcomes receives one event per upstream try (nil: none). When a sink
	// listens, every response's usage is read.
	Outcomes *outcome.Bus
	draining atomic.Bool // drain.go
	// StartupReady, when set, reports whether the data plane can serve the
	// first config (the module applied it): until then /health/readiness
	// answers 503 "starting" (drain.go).
	StartupReady func() bool
	// metrics serves /metrics on the gateway port when the config names the
	// prometheus callback (unset: 404); see SetMetrics.
	metrics atomic.Pointer[http.Handler]
	// hangingWatch is the llm_requests_hanging watch (hanging.go; nil: off).
	hangingWatch atomic.Pointer[func(alerting.Begun)]
	// services answers /health/services?service=NAME (LiteLLM's test of an
	// alerting or logging integration); see SetServiceCheck.
	services atomic.Pointer[ServiceCheck]
	// OffPathOutcomes: Envoy's access-log service reports the fast path's
	// successful tries and tries without a response (cooldowns), so any plan
	// of fast-path deployments may take the fast path (fastpath.go, D45).
	OffPathOutcomes bool
	// ModuleResponses: the module's response hooks, not the listener's Lua,
	// answer fast requests (D54): llmgate.fp is written for the module.
	ModuleResponses bool
	// ModuleUpstream: the module is every try's upstream filter and sets
	// each fast try's path, host and key (module mode, D55), whatever the
	// number of fast-path deployments.
	ModuleUpstream bool
	// spendRecords (the module's): the gateway takes compact spend records
	// (ModuleConfig.SpendRecords; spendPlan, alsspend.go, D145).
	spendRecords bool
	// compactRecords (the module's): the gateway takes compact records of
	// observed first-try successes (ModuleConfig.CompactRecords;
	// observedPlan, alsspend.go, D177).
	compactRecords bool
	// tryCtx keeps the contexts of the translated requests the module
	// served for their tries (module mode only; moduletranslate_ctx.go).
	tryCtx *tryContexts
	// lastHealth is the latest background health run (background_health.go).
	lastHealth atomic.Pointer[map[string]any]
	// accessLogs ends the access-log streams on drain (als.go).
	accessLogs accessLogStop
	// moduleOut is what the module's outcome streams reported (alsmodule.go).
	moduleOut moduleOutcomes
	// KeysApplied, when set, waits until the module applied the key table
	// after a management change (D57), before the route answers.
	KeysApplied func(context.Context)
	// pt are the checked pass-through requests whose answers the observer
	// reads (passthrough_spend.go, D128).
	pt ptPending
}

// ServiceCheck tests one integration for /health/services: the status and
// the JSON body to answer.
type ServiceCheck func(cfg *config.Config, service string) (status int, body any)

// SetServiceCheck installs the /health/services check (safe while serving).
func (s *Server) SetServiceCheck(c ServiceCheck) { s.services.Store(&c) }

// SetMetrics installs the /metrics handler (safe while serving).
func (s *Server) SetMetrics(h http.Handler) { s.metrics.Store(&h) }

// NewServer returns a server that serves st.
func NewServer(st *State, log *slog.Logger) *Server {
	s := &Server{log: log, now: time.Now}
	s.state.Store(st)
	return s
}

// Swap installs a new state; streams already running keep the one they
// started with, and attempts planned under the old state still find its
// deployments.
func (s *Server) Swap(st *State) {
	st.Retire(s.state.Load())
	s.state.Store(st)
}

// State is the state in force.
func (s *Server) State() *State { return s.state.Load() }

// Register adds the service to a gRPC server.
func (s *Server) Register(g *grpc.Server) {
	extprocv3.RegisterExternalProcessorServer(g, s)
	s.registerAccessLog(g)
}

// Process serves one ext_proc stream: one HTTP request (request filter) or
// one upstream try (attempt filter), told apart by the gRPC metadata the
// filter configs set.
func (s *Server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	st := s.state.Load()
	var err error
	switch first(md, contract.PhaseMetadataKey) {
	case contract.PhaseAttempt:
		err = s.attempt(stream, st, first(md, contract.DeploymentMetadataKey), first(md, contract.ProviderMetadataKey))
	case contract.PhaseObserve:
		err = s.observe(stream) // a pass-through answer (D128)
	default:
		err = s.request(stream, st)
	}
	if err == nil || errors.Is(err, io.EOF) || status.Code(err) == codes.Canceled {
		return nil
	}
	return err
}

func first(md metadata.MD, k string) string {
	if v := md.Get(k); len(v) > 0 {
		return v[0]
	}
	return ""
}

// recv reads the next message; io.EOF when Envoy closed the stream.
func recv(stream extprocv3.ExternalProcessor_ProcessServer) (*extprocv3.ProcessingRequest, error) {
	req, err := stream.Recv()
	if err != nil {
		if status.Code(err) == codes.Canceled || strings.Contains(err.Error(), "context canceled") {
			return nil, io.EOF
		}
		return nil, err
	}
	return req, nil
}

// awaitBody lets the request headers through unchanged and reads the
// buffered body that follows (the attempt filter). ok is false when Envoy sent
// something else (it has then been answered).
func awaitBody(stream extprocv3.ExternalProcessor_ProcessServer) (body []byte, ok bool, err error) {
	if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}); err != nil {
		return nil, false, err
	}
	msg, err := recv(stream)
	if err != nil {
		return nil, false, err
	}
	rb := msg.GetRequestBody()
	if rb == nil {
		return nil, false, stream.Send(&extprocv3.ProcessingResponse{})
	}
	return rb.GetBody(), true, nil
}
