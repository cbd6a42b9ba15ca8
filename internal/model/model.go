package model

import (
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/provider"
	"github.com/llmgate/llmgate/internal/upstream"
)

// Model is one config compiled. It is read-only once built and safe for
// concurrent use; a reload compiles a new one.
type Model struct {
	// Groups are the model groups in config order (a wildcard group's name
	// is its pattern).
	Groups []*Group
	// Deployments are the served deployments in config order.
	Deployments []*Deployment
	// ManyHosts: some deployments are on the cluster of many upstream
	// hosts (Deployment.HostAddress set, D86).
	ManyHosts bool
	// Aliases are router_settings.model_group_alias: alias → group.
	Aliases map[string]Alias
	// Routing are the router-wide settings the router applies.
	Routing Routing
	// Track is what the shared store must count for this config.
	Track Tracking

	groups   map[string]*Group
	byID     map[string]*Deployment
	patterns []pattern // longest first
	rs       *config.RouterSettings
}

// Alias is one model_group_alias entry.
type Alias struct {
	Group  string
	Hidden bool
}

// Routing are the router-wide settings, defaults applied.
type Routing struct {
	Strategy string // routing_strategy (simple-shuffle when unset)
	// LatencyBuffer, LatencyTTL and MaxLatencyListSize are
	// routing_strategy_args of latency-based-routing (lowest_latency_buffer,
	// ttl, max_latency_list_size).
	LatencyBuffer      float64
	LatencyTTL         time.Duration
	MaxLatencyListSize int
	NumRetries         int            // num_retries (>= 0)
	MaxFallbacks       int            // max_fallbacks (5 when unset)
	RetryPolicy        map[string]int // retry_policy, by LiteLLM's class key
	AllowedFails       int
	AllowedFailsPolicy map[string]int
	CooldownTime       time.Duration // cooldown_time (5 s when unset)
	DisableCooldowns   bool
	PreCallChecks      bool // enable_pre_call_checks
	// ResponsesAffinity is optional_pre_call_checks'
	// responses_api_deployment_check (router.PlanRequest.Prefer).
	ResponsesAffinity bool
	// SessionAffinity and DeploymentAffinity are optional_pre_call_checks'
	// session_affinity and deployment_affinity (router.PlanRequest's
	// Session and Caller); GroupAffinity is model_group_affinity_config, a
	// listed group's own three flags (Affinity).
	SessionAffinity, DeploymentAffinity bool
	GroupAffinity                       map[string]config.AffinityChecks
	// AnyResponses, AnySticky: some group takes responses_api_deployment_check,
	// session_affinity or deployment_affinity (a request filter then reads
	// what they key on).
	AnyResponses, AnySticky bool
	// EnforceLimits is optional_pre_call_checks' enforce_model_rate_limits
	// (router.ModelRateLimitError).
	EnforceLimits bool
	// IOLimits, DailyLimits: some deployment has itpm/otpm, rpd/tpd (read
	// with EnforceLimits only, D180): the plan reads those counters.
	IOLimits, DailyLimits bool
	// PromptCaching is optional_pre_call_checks' prompt_caching
	// (router.PlanRequest.Prompt, D179).
	PromptCaching bool
	// Repin is session_affinity_repin_on_failover; AffinityTTL is
	// deployment_affinity_ttl_seconds, how long a re-pin lasts unused (D179).
	Repin       bool
	AffinityTTL time.Duration
	// TagFiltering is enable_tag_filtering: a request goes to the
	// deployments whose litellm_params.tags match its tags (D89);
	// TagMatchAny is tag_filtering_match_any (default true).
	TagFiltering bool
	TagMatchAny  bool
	// GroupRetryPolicy is model_group_retry_policy: a group's own
	// retry_policy, used for it instead of RetryPolicy.
	GroupRetryPolicy map[string]map[string]int
	// RetryAfter is retry_after: the least backoff before a retry on the
	// same deployment (LiteLLM's min_timeout; the 8 s cap still holds).
	RetryAfter time.Duration
	// Budgets: some deployment has a budget (its own max_budget or its
	// provider's provider_budget_config): plans read the spends (D89).
	Budgets bool
	// Orders: some deployment sets litellm_params.order (Group.Orders).
	Orders        bool
	Timeout       time.Duration // the router's per-try timeout (600 s when unset)
	StreamTimeout time.Duration // the router's stream timeout (Timeout when unset)
}

// The routing strategies (router_settings.routing_strategy).
const (
	SimpleShuffle = "simple-shuffle"
	LeastBusy     = "least-busy"
	UsageBased    = "usage-based-routing"
	UsageBasedV2  = "usage-based-routing-v2"
	LatencyBased  = "latency-based-routing"
	CostBased     = "cost-based-routing"
)

// Tracking is what the store must count for the config to be applied.
type Tracking struct {
	// Tokens: count a request's input tokens before planning (pre-call
	// checks, tpm limits, usage-based routing).
	Tokens bool
	// Usage: read the usage of every response (tpm, usage- and
	// latency-based routing).
	Usage bool
	// End: see the end of every response (in-flight counts).
	End bool
	// Calls: count rpm and in-flight per try (limits, usage headers,
	// usage-based and least-busy routing).
	Calls bool
	// Latencies: keep latency samples (latency-based routing).
	Latencies bool
	// MockTimeouts: some deployment sets mock_timeout, or mock_delay with
	// mock_response (the request filter holds its message while it waits).
	MockTimeouts bool
}

func (t Tracking) or(o Tracking) Tracking {
	return Tracking{
		Tokens: t.Tokens || o.Tokens, Usage: t.Usage || o.Usage, End: t.End || o.End, Calls: t.Calls || o.Calls,
		Latencies: t.Latencies || o.Latencies, MockTimeouts: t.MockTimeouts || o.MockTimeouts,
	}
}

// Group is one model group.
type Group struct {
	Name     string
	Wildcard bool // the name is a pattern ("anthropic/*")
	// Deployments in config order, mock ones included.
	Deployments []*Deployment
	// Weights are simple-shuffle's weights of Deployments (ShuffleWeights);
	// nil when all are equal.
	Weights []float64
	// MayCoolDown: a failure can cool a deployment of this group down (not
	// with disable_cooldowns, never a wildcard group, never a group of one).
	MayCoolDown bool
	// Budgeted: a deployment of the group has a budget (Deployment.Budgets).
	Budgeted bool
	// Orders are the distinct litellm_params.order values of the group's
	// deployments, ascending (nil when none sets one): a request goes to the
	// lowest order among the deployments that can take it, and with more
	// than one value the higher orders follow as fallbacks (D89).
	Orders []int

	fallbacks [numKinds][]string
}

// Fallbacks is the group's fallback list of a kind (cleaned, cut at
// max_fallbacks).
func (g *Group) Fallbacks(kind FallbackKind) []string { return g.fallbacks[kind] }

// Deployment is one served deployment.
type Deployment struct {
	ID    string
	Group string // model_name
	// Wildcard: the model group is a pattern.
	Wildcard bool
	// AnyProvider: litellm_params.model starts with '*': the provider is
	// decided per request from the substituted name (Provider is empty).
	AnyProvider bool
	// Provider is the registry entry's name; Model the provider's model id
	// (may hold '*' for a wildcard deployment).
	Provider string
	Model    string
	// ModelPattern is litellm_params.model as written (wildcards substitute into it).
	ModelPattern string
	Info         provider.Info // zero for AnyProvider
	Wire         provider.Wire
	Auth         provider.Auth
	// APIBase is the effective api_base: the configured one, else the
	// provider's rule (empty for AnyProvider without api_base).
	APIBase string
	// Cluster is the deployment's Envoy cluster; for AnyProvider its openai
	// one (the default plan's), ClusterFor names the others.
	Cluster string
	// HostAddress is the deployment's "ip:port" on the cluster of many
	// upstream hosts (xds.HostClusters, D86): the try's override host.
	// Empty on every other cluster.
	HostAddress string
	// MockResponse is litellm_params.mock_response (nil: none): the
	// request filter answers without a provider call.
	MockResponse *string
	// MockTimeout is litellm_params.mock_timeout: a try waits its timeout.
	MockTimeout bool
	Limits      Limits
	// Track is what the store must count for this deployment's own limits
	// (Tokens, Usage and Calls for tpm; Calls for rpm; End and Calls for
	// max_parallel_requests); Model.Track adds what the strategy needs.
	Track Tracking
	// Budgets are the deployment's spend limits: its own (max_budget,
	// budget_duration) and its provider's (provider_budget_config); a
	// plan leaves it out while a spend key has reached its limit (D89).
	Budgets []SpendBudget
	// Tags are litellm_params.tags (tag routing, enable_tag_filtering);
	// TagRegex its tag_regex, matched against "User-Agent: <value>".
	Tags     []string
	TagRegex []*regexp.Regexp
	// Region is litellm_params.region_name: under enable_pre_call_checks a
	// request whose end user has an allowed_model_region takes only the
	// deployments of that region (D173).
	Region string
	// Order is litellm_params.order; Ordered is false when it is unset.
	Order   int
	Ordered bool
	// Weight is litellm_params.weight as written (0: unset); simple-shuffle
	// weighs by ShuffleWeights.
	Weight float64
	// Timeout and StreamTimeout are the per-try timeouts: the deployment's
	// timeout (stream_timeout, then timeout, for streams), else the router's.
	Timeout       time.Duration
	StreamTimeout time.Duration
	// Retries is the deployment's num_retries, else max_retries (nil: the router's).
	Retries *int
	// CooldownTime is the deployment's cooldown_time, else the router's.
	CooldownTime time.Duration
	// shuffle is what simple-shuffle may weigh: weight, rpm and tpm as
	// written (ShuffleWeights picks which one a set uses).
	shuffle struct {
		weight   float64
		rpm, tpm int64
	}
	// Config is the deployment as written: credentials, provider
	// parameters, request defaults and model_info, passed through.
	Config *config.Deployment
}

// Mock reports whether the deployment never calls its provider.
func (d *Deployment) Mock() bool { return d.MockResponse != nil || d.MockTimeout }

// Limits are a deployment's hard limits (0: none).
type Limits struct {
	RPM         int64 // rpm
	TPM         int64 // tpm
	MaxParallel int   // max_parallel_requests, else default_max_parallel_requests
	// ITPM, OTPM, RPD and TPD are itpm, otpm, rpd and tpd: set only with
	// enforce_model_rate_limits, their one reader in LiteLLM (D180).
	ITPM, OTPM, RPD, TPD int64
	// DayReset is daily_reset_time: when the rpd/tpd day starts, after
	// midnight UTC.
	DayReset time.Duration
}

// IO reports whether the deployment has an input or output token limit.
func (l Limits) IO() bool { return l.ITPM > 0 || l.OTPM > 0 }

// Daily reports whether the deployment has a daily limit.
func (l Limits) Daily() bool { return l.RPD > 0 || l.TPD > 0 }

// DayStart is store.ReadOptions.DayStart for the model's deployments: one
// with rpd or tpd counts its day from its daily_reset_time (D180).
func (m *Model) DayStart(id string) (time.Duration, bool) {
	d, ok := m.Deployment(id)
	if !ok || !d.Limits.Daily() {
		return 0, false
	}
	return d.Limits.DayReset, true
}

// Counted reports whether the deployment's plan reads the store's
// counters (rpm, tpm, and the limits of D180).
func (l Limits) Counted() bool { return l.RPM > 0 || l.TPM > 0 || l.IO() || l.Daily() }

// ClusterFor is the cluster an attempt on the deployment goes to: its own,
// or for an AnyProvider deployment its cluster for the attempt's provider
// (a bare model name means openai).
func (d *Deployment) ClusterFor(prov string) string {
	if !d.AnyProvider {
		if d.Cluster != "" {
			return d.Cluster // its own, or its upstream host's in module mode (D62)
		}
		return contract.ClusterName(d.ID)
	}
	if prov == "" {
		prov = d.Provider
	}
	if prov == "" {
		prov = "openai"
	}
	return contract.ProviderClusterName(d.ID, prov)
}

// Compile compiles a loaded, validated config.
func Compile(cfg *config.Config) *Model {
	rs := &cfg.Router
	m := &Model{
		Aliases: make(map[string]Alias, len(rs.ModelGroupAlias)),
		groups:  map[string]*Group{},
		byID:    make(map[string]*Deployment, len(cfg.Models)),
		rs:      rs,
	}
	for a, al := range rs.ModelGroupAlias {
		if al.Group != "" {
			m.Aliases[a] = Alias{Group: al.Group, Hidden: al.Hidden}
		}
	}
	m.Routing = routing(rs)
	for i := range cfg.Models {
		d := compileDeployment(&cfg.Models[i], &m.Routing, rs.DefaultMaxParallelRequests)
		g, ok := m.groups[d.Group]
		if !ok {
			g = &Group{Name: d.Group, Wildcard: d.Wildcard || strings.Contains(d.Group, "*")}
			m.groups[d.Group] = g
			m.Groups = append(m.Groups, g)
			if g.Wildcard {
				m.patterns = append(m.patterns, compilePattern(d.Group))
			}
		}
		if d.Budgets = deploymentBudgets(d, &cfg.Models[i], rs); len(d.Budgets) > 0 {
			g.Budgeted, m.Routing.Budgets = true, true
			d.Track.Usage = true // the spend is counted from each answer's usage
		}
		g.Deployments = append(g.Deployments, d)
		m.Deployments = append(m.Deployments, d)
		m.byID[d.ID] = d
		m.Track = m.Track.or(d.Track)
		m.Routing.IOLimits = m.Routing.IOLimits || d.Limits.IO()
		m.Routing.DailyLimits = m.Routing.DailyLimits || d.Limits.Daily()
	}
	sort.SliceStable(m.patterns, func(i, j int) bool { return len(m.patterns[i].name) > len(m.patterns[j].name) })
	for _, g := range m.Groups {
		g.Weights = ShuffleWeights(g.Deployments)
		g.MayCoolDown = !rs.DisableCooldowns && !g.Wildcard && len(g.Deployments) > 1
		g.Orders = groupOrders(g.Deployments)
		m.Routing.Orders = m.Routing.Orders || len(g.Orders) > 0
		for k := range FallbackKind(numKinds) {
			g.fallbacks[k] = m.fallbackGroups(g.Name, k)
		}
	}
	usage := m.Routing.Strategy == UsageBased || m.Routing.Strategy == UsageBasedV2
	m.Track.Tokens = m.Track.Tokens || m.Routing.PreCallChecks || usage
	m.Track.Usage = m.Track.Usage || usage || m.Routing.Strategy == LatencyBased
	m.Track.End = m.Track.End || m.Routing.Strategy == LeastBusy || rs.DefaultMaxParallelRequests > 0 || cfg.General.MaxParallelRequests > 0
	m.Track.Calls = m.Track.Calls || m.Track.End || usage
	m.Track.Latencies = m.Routing.Strategy == LatencyBased
	return m
}

func routing(rs *config.RouterSettings) Routing {
	r := Routing{
		Strategy:           rs.RoutingStrategy,
		LatencyTTL:         time.Hour,
		MaxLatencyListSize: 10,
		NumRetries:         max(rs.NumRetries, 0),
		MaxFallbacks:       rs.MaxFallbacks,
		RetryPolicy:        rs.RetryPolicy,
		AllowedFails:       rs.AllowedFails,
		AllowedFailsPolicy: rs.AllowedFailsPolicy,
		CooldownTime:       rs.CooldownTime,
		DisableCooldowns:   rs.DisableCooldowns,
		PreCallChecks:      rs.EnablePreCallChecks,
		ResponsesAffinity:  rs.ResponsesAffinity,
		SessionAffinity:    rs.SessionAffinity,
		DeploymentAffinity: rs.DeploymentAffinity,
		GroupAffinity:      rs.ModelGroupAffinity,
		AnyResponses:       rs.ResponsesAffinity,
		AnySticky:          rs.SessionAffinity || rs.DeploymentAffinity,
		EnforceLimits:      rs.EnforceModelRateLimits,
		PromptCaching:      rs.PromptCaching,
		Repin:              rs.SessionAffinityRepin,
		AffinityTTL:        rs.DeploymentAffinityTTL,
		TagFiltering:       rs.EnableTagFiltering,
		TagMatchAny:        rs.TagFilteringMatchAny,
		GroupRetryPolicy:   rs.ModelGroupRetryPolicy,
		RetryAfter:         rs.RetryAfter,
		Timeout:            rs.Timeout,
		StreamTimeout:      rs.StreamTimeout,
	}
	for _, a := range r.GroupAffinity {
		r.AnyResponses = r.AnyResponses || a.Responses
		r.AnySticky = r.AnySticky || a.Session || a.Deployment
	}
	if r.Strategy == "" {
		r.Strategy = SimpleShuffle
	}
	if r.CooldownTime <= 0 {
		r.CooldownTime = config.DefaultCooldownTime
	}
	if r.MaxFallbacks <= 0 {
		r.MaxFallbacks = config.DefaultMaxFallbacks
	}
	if r.Timeout <= 0 {
		r.Timeout = config.DefaultTimeout
	}
	if r.StreamTimeout <= 0 {
		r.StreamTimeout = r.Timeout
	}
	args := rs.RoutingStrategyArgs
	if v, ok := num(args["lowest_latency_buffer"]); ok && v >= 0 {
		r.LatencyBuffer = v
	}
	if v, ok := num(args["ttl"]); ok && v > 0 {
		r.LatencyTTL = time.Duration(v * float64(time.Second))
	}
	if v, ok := num(args["max_latency_list_size"]); ok && v >= 1 {
		r.MaxLatencyListSize = int(v)
	}
	return r
}

func num(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case float64:
		return x, true
	case float32:
		return float64(x), true
	}
	return 0, false
}

func compileDeployment(cd *config.Deployment, r *Routing, defaultMaxParallel int) *Deployment {
	p := &cd.Params
	d := &Deployment{
		ID: cd.ID, Group: cd.ModelName, Wildcard: cd.Wildcard,
		AnyProvider:  strings.HasPrefix(p.Model, "*"),
		Provider:     cd.Provider,
		Model:        cd.Model,
		ModelPattern: p.Model,
		Cluster:      contract.ClusterName(cd.ID),
		MockResponse: p.MockResponse,
		MockTimeout:  p.MockTimeout,
		Limits:       Limits{RPM: p.RPM, TPM: p.TPM, MaxParallel: p.MaxParallelRequests},
		Config:       cd,
	}
	if d.AnyProvider {
		d.Cluster = d.ClusterFor("")
	}
	if d.Limits.MaxParallel <= 0 {
		d.Limits.MaxParallel = max(defaultMaxParallel, 0)
	}
	if info, ok := provider.Lookup(cd.Provider); ok {
		d.Info, d.Wire, d.Auth = info, info.Wire, info.Auth
	}
	if cd.Provider != "" || p.APIBase != "" {
		d.APIBase = upstream.APIBase(cd)
	}
	d.Timeout = r.Timeout
	if p.Timeout > 0 {
		d.Timeout = p.Timeout
	}
	d.StreamTimeout = r.StreamTimeout
	switch {
	case p.StreamTimeout > 0:
		d.StreamTimeout = p.StreamTimeout
	case p.Timeout > 0:
		d.StreamTimeout = p.Timeout
	}
	d.Retries = p.MaxRetries
	if p.NumRetries != nil {
		d.Retries = p.NumRetries
	}
	d.CooldownTime = r.CooldownTime
	if p.CooldownTime != nil {
		d.CooldownTime = *p.CooldownTime
	}
	d.Track.MockTimeouts = d.MockTimeout || (d.MockResponse != nil && p.MockDelay > 0)
	if d.Limits.TPM > 0 {
		d.Track.Tokens, d.Track.Usage, d.Track.Calls = true, true, true
	}
	if d.Limits.RPM > 0 {
		d.Track.Calls = true
	}
	if r.EnforceLimits {
		d.Limits.ITPM, d.Limits.OTPM, d.Limits.RPD, d.Limits.TPD = p.ITPM, p.OTPM, p.RPD, p.TPD
		d.Limits.DayReset = p.DailyReset
		if d.Limits.IO() || d.Limits.Daily() {
			// Counted from every try's outcome (its usage); itpm and otpm
			// also read the request's prompt size.
			d.Track.Usage, d.Track.Calls = true, true
			d.Track.Tokens = d.Track.Tokens || d.Limits.IO()
		}
	}
	if d.Limits.MaxParallel > 0 {
		d.Track.End, d.Track.Calls = true, true
	}
	if p.Order != nil {
		d.Order, d.Ordered = *p.Order, true
	}
	d.Tags = p.Tags
	d.Region = p.RegionName
	for _, re := range p.TagRegex {
		if c, err := regexp.Compile(re); err == nil { // (config warned of the others)
			d.TagRegex = append(d.TagRegex, c)
		}
	}
	d.Weight = p.Weight
	d.shuffle.weight, d.shuffle.rpm, d.shuffle.tpm = p.Weight, p.RPM, p.TPM
	return d
}

// SpendBudget is one spend limit of a deployment: Key names its spend in
// the store (per provider or per deployment, and per window length).
type SpendBudget struct {
	Key    string
	Max    float64
	Window time.Duration
	What   string // "provider openai", "deployment <id>" (for messages)
}

func deploymentBudgets(d *Deployment, cd *config.Deployment, rs *config.RouterSettings) []SpendBudget {
	var out []SpendBudget
	if b, ok := rs.ProviderBudgets[d.Provider]; ok && d.Provider != "" {
		out = append(out, SpendBudget{Key: "llmgate:spend:provider:" + d.Provider + ":" + b.Window.String(), Max: b.Max, Window: b.Window, What: "provider " + d.Provider})
	}
	if p := &cd.Params; p.MaxBudget > 0 && p.BudgetDuration > 0 {
		out = append(out, SpendBudget{Key: "llmgate:spend:deployment:" + d.ID + ":" + p.BudgetDuration.String(), Max: p.MaxBudget, Window: p.BudgetDuration, What: "deployment " + d.ID})
	}
	return out
}

// groupOrders are the distinct orders of ds, ascending; nil when none is set.
func groupOrders(ds []*Deployment) []int {
	var out []int
	for _, d := range ds {
		if d.Ordered && !slices.Contains(out, d.Order) {
			out = append(out, d.Order)
		}
	}
	slices.Sort(out)
	return out
}

// Deployment returns a deployment by id.
func (m *Model) Deployment(id string) (*Deployment, bool) {
	d, ok := m.byID[id]
	return d, ok
}

// Group returns a model group by name (a pattern for a wildcard group).
func (m *Model) Group(name string) (*Group, bool) {
	g, ok := m.groups[name]
	return g, ok
}

// GroupDeployments are the deployments of a group (config order); nil for
// an unknown group.
func (m *Model) GroupDeployments(name string) []*Deployment {
	if g, ok := m.groups[name]; ok {
		return g.Deployments
	}
	return nil
}

// Affinity is the affinities a model group takes: its
// model_group_affinity_config entry, else optional_pre_call_checks'.
func (r *Routing) Affinity(group string) config.AffinityChecks {
	if a, ok := r.GroupAffinity[group]; ok {
		return a
	}
	return config.AffinityChecks{Responses: r.ResponsesAffinity, Session: r.SessionAffinity, Deployment: r.DeploymentAffinity}
}
