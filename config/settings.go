package config

import (
	"fmt"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// RoutingStrategies are the values router_settings.routing_strategy may take.
var RoutingStrategies = []string{
	"simple-shuffle", "least-busy", "usage-based-routing", "usage-based-routing-v2",
	"latency-based-routing", "cost-based-routing",
}

// LiteLLM's router defaults (see LITELLM_SEMANTICS).
const (
	DefaultRoutingStrategy = "simple-shuffle"
	DefaultNumRetries      = 2
	DefaultTimeout         = 600 * time.Second
	DefaultAllowedFails    = 3
	DefaultCooldownTime    = 5 * time.Second
	DefaultMaxFallbacks    = 5
	// DefaultHealthCheckInterval is general_settings.health_check_interval when unset.
	DefaultHealthCheckInterval = 300 * time.Second
	// DefaultHealthCheckTimeout is LiteLLM's HEALTH_CHECK_TIMEOUT_SECONDS default.
	DefaultHealthCheckTimeout = 60 * time.Second
	// EnvHealthCheckTimeout is the environment variable LiteLLM reads for
	// the health-check timeout (seconds).
	EnvHealthCheckTimeout = "HEALTH_CHECK_TIMEOUT_SECONDS"
)

var retryPolicyKeys = []string{
	"BadRequestErrorRetries", "AuthenticationErrorRetries", "TimeoutErrorRetries", "RateLimitErrorRetries",
	"ContentPolicyViolationErrorRetries", "InternalServerErrorRetries", "NotFoundErrorRetries",
}

var allowedFailsPolicyKeys = []string{
	"BadRequestErrorAllowedFails", "AuthenticationErrorAllowedFails", "TimeoutErrorAllowedFails",
	"RateLimitErrorAllowedFails", "ContentPolicyViolationErrorAllowedFails", "InternalServerErrorAllowedFails",
	"NotFoundErrorAllowedFails",
}

// CacheTypes are the values cache_params.type may take in LiteLLM.
var CacheTypes = []string{"local", "redis", "redis-semantic", "qdrant-semantic", "s3", "disk", "azure-blob", "gcs"}

// DefaultCacheCallTypes is cache_params.supported_call_types when unset.
var DefaultCacheCallTypes = []string{
	"completion", "acompletion", "embedding", "aembedding", "atranscription", "transcription",
	"atext_completion", "text_completion", "arerank", "rerank",
}

// routerPart holds the router keys written in one section; nil/absent means
// not written there.
type routerPart struct {
	strategy           *string
	strategyArgs       map[string]any
	numRetries         *int
	timeout            *time.Duration
	streamTimeout      *time.Duration
	allowedFails       *int
	cooldownTime       *time.Duration
	disableCooldowns   *bool
	retryPolicy        map[string]int
	allowedFailsPolicy map[string]int
	fallbacks          *[]Fallback
	cwFallbacks        *[]Fallback
	cpFallbacks        *[]Fallback
	defaultFallbacks   *[]string
	defaultFallbackPos Pos
	maxFallbacks       *int
	aliases            map[string]Alias
	preCallChecks      *bool
	checks             *preCallChecks
	groupAffinity      map[string]AffinityChecks
	affinityTTL        *int64
	repin              *bool
	cachingGroups      [][]string
	cacheResponses     *bool
	redisHost          *string
	redisPort          *string
	redisPassword      *string
	redisURL           *string
	defaultMaxParallel *int
	tagFiltering       *bool
	tagMatchAny        *bool
	groupRetryPolicy   map[string]map[string]int
	retryAfter         *time.Duration
	providerBudgets    map[string]Budget
	verbose            *bool
	debugLevel         *string
}

func ptr[T any](v T) *T { return &v }

// routerKey parses one key that feeds the router. It reports whether the key
// is a router key at all.
func (p *parser) routerKey(rp *routerPart, e entry, path string) bool {
	key, v := joinKey(path, e.Key), e.Value
	switch e.Key {
	case "routing_strategy":
		if s, ok := p.str(v, key); ok {
			if !slices.Contains(RoutingStrategies, s) {
				msg := fmt.Sprintf("unknown routing strategy %q; must be one of %s", s, strings.Join(RoutingStrategies, ", "))
				if sg, ok := suggest(s, RoutingStrategies); ok {
					msg = fmt.Sprintf("unknown routing strategy %q; did you mean %q?", s, sg)
				}
				p.errAt(v, key, "%s", msg)
			} else {
				rp.strategy = &s
			}
		}
	case "routing_strategy_args":
		if m, ok := p.anyValue(v, key).(map[string]any); ok {
			rp.strategyArgs = m
		} else if !isNull(v) {
			p.errAt(v, key, "must be a mapping, got %s", p.describe(v))
		}
	case "num_retries":
		if x, ok := p.nonNegInt(v, key); ok {
			rp.numRetries = ptr(int(x))
		}
	case "timeout", "request_timeout":
		if t, ok := p.seconds(v, key); ok {
			rp.timeout = &t
		}
	case "stream_timeout":
		if t, ok := p.seconds(v, key); ok {
			rp.streamTimeout = &t
		}
	case "allowed_fails":
		if x, ok := p.nonNegInt(v, key); ok {
			rp.allowedFails = ptr(int(x))
		}
	case "cooldown_time":
		if t, ok := p.seconds(v, key); ok {
			rp.cooldownTime = &t
		}
	case "disable_cooldowns":
		if b, ok := p.bool(v, key); ok {
			rp.disableCooldowns = &b
		}
	case "retry_policy":
		rp.retryPolicy = p.policy(v, key, retryPolicyKeys)
	case "allowed_fails_policy":
		rp.allowedFailsPolicy = p.policy(v, key, allowedFailsPolicyKeys)
	case "fallbacks":
		if fb, ok := p.fallbacks(v, key); ok {
			rp.fallbacks = &fb
		}
	case "context_window_fallbacks":
		if fb, ok := p.fallbacks(v, key); ok {
			rp.cwFallbacks = &fb
		}
	case "content_policy_fallbacks":
		if fb, ok := p.fallbacks(v, key); ok {
			rp.cpFallbacks = &fb
		}
	case "default_fallbacks":
		if l, ok := p.strList(v, key); ok {
			rp.defaultFallbacks = &l
			rp.defaultFallbackPos = posOf(p.file, deref(v))
		}
	case "max_fallbacks":
		if x, ok := p.nonNegInt(v, key); ok {
			rp.maxFallbacks = ptr(int(x))
		}
	case "model_group_alias":
		rp.aliases = p.aliases(v, key)
	case "enable_pre_call_checks", "enable_pre_call_check":
		if b, ok := p.bool(v, key); ok {
			rp.preCallChecks = &b
		}
	case "optional_pre_call_checks":
		rp.checks = p.optionalPreCallChecks(v, key)
	case "model_group_affinity_config":
		rp.groupAffinity = p.groupAffinity(v, key)
	case "deployment_affinity_ttl_seconds":
		if x, ok := p.nonNegInt(v, key); ok {
			rp.affinityTTL = &x
		}
	case "session_affinity_repin_on_failover":
		if b, ok := p.bool(v, key); ok {
			rp.repin = &b
		}
	case "caching_groups":
		rp.cachingGroups = p.cachingGroups(v, key)
	case "cache_responses":
		if b, ok := p.bool(v, key); ok {
			rp.cacheResponses = &b
		}
	case "set_verbose":
		if b, ok := p.bool(v, key); ok {
			rp.verbose = &b
		}
	case "debug_level":
		if s, ok := p.str(v, key); ok {
			if s != "DEBUG" && s != "INFO" {
				p.errAt(v, key, "must be \"DEBUG\" or \"INFO\", got %q", s)
			} else {
				rp.debugLevel = &s
			}
		}
	case "redis_host":
		if s, ok := p.str(v, key); ok {
			rp.redisHost = &s
		}
	case "redis_port":
		if s, ok := p.port(v, key); ok {
			rp.redisPort = &s
		}
	case "redis_password":
		if s, ok := p.str(v, key); ok {
			rp.redisPassword = &s
		}
	case "redis_url":
		if s, ok := p.str(v, key); ok {
			rp.redisURL = &s
		}
	case "default_max_parallel_requests":
		if x, ok := p.nonNegInt(v, key); ok {
			rp.defaultMaxParallel = ptr(int(x))
		}
	case "enable_tag_filtering":
		if b, ok := p.bool(v, key); ok {
			rp.tagFiltering = &b
		}
	case "tag_filtering_match_any":
		if b, ok := p.bool(v, key); ok {
			rp.tagMatchAny = &b
		}
	case "model_group_retry_policy":
		if es, ok := p.mapping(v, key); ok {
			rp.groupRetryPolicy = map[string]map[string]int{}
			for _, e := range es {
				if pol := p.policy(e.Value, joinKey(key, e.Key), retryPolicyKeys); pol != nil {
					rp.groupRetryPolicy[e.Key] = pol
				}
			}
		}
	case "provider_budget_config":
		rp.providerBudgets = p.providerBudgets(v, key)
	case "retry_after":
		if t, ok := p.seconds(v, key); ok {
			rp.retryAfter = &t
		}
	default:
		return false
	}
	return true
}

// providerBudgets reads provider_budget_config: {provider: {budget_limit,
// time_period}} (also spelled max_budget, budget_duration).
func (p *parser) providerBudgets(n *yaml.Node, path string) map[string]Budget {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	out := map[string]Budget{}
	for _, e := range es {
		key := joinKey(path, e.Key)
		fs, ok := p.mapping(e.Value, key)
		if !ok {
			continue
		}
		var b Budget
		for _, f := range fs {
			fk := joinKey(key, f.Key)
			switch f.Key {
			case "budget_limit", "max_budget":
				if x, ok := p.float(f.Value, fk); ok {
					b.Max = p.money(f.Value, fk, x)
				}
			case "time_period", "budget_duration":
				if d, ok := p.duration(f.Value, fk); ok {
					b.Window = durationOf(d)
				}
			default:
				p.errAt(f.KeyNode, fk, "unknown key %q; a provider budget has budget_limit and time_period", f.Key)
			}
		}
		if b.Max <= 0 || b.Window <= 0 {
			p.errAt(e.KeyNode, key, "needs budget_limit (> 0) and time_period (such as \"1d\")")
			continue
		}
		out[e.Key] = b
	}
	return out
}

// durationOf is a duration p.duration accepted ("30d"; "mo" is 30 days, a
// bare number seconds).
func durationOf(s string) time.Duration {
	m := litellmDuration.FindStringSubmatch(s)
	n, _ := strconv.ParseInt(strings.TrimSuffix(s, m[1]), 10, 64)
	unit := map[string]time.Duration{"": time.Second, "s": time.Second, "m": time.Minute, "h": time.Hour,
		"d": 24 * time.Hour, "w": 7 * 24 * time.Hour, "mo": 30 * 24 * time.Hour}[m[1]]
	return time.Duration(n) * unit
}

// port reads a port written as an integer or a string.
func (p *parser) port(n *yaml.Node, key string) (string, bool) {
	s, ok := p.str(n, key)
	if !ok {
		return "", false
	}
	if x, err := strconv.Atoi(strings.TrimSpace(s)); err != nil || x < 1 || x > 65535 {
		p.errAt(n, key, "must be a port number (1-65535), got %s", p.describe(n))
		return "", false
	}
	return strings.TrimSpace(s), true
}

func (p *parser) policy(n *yaml.Node, path string, known []string) map[string]int {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	out := map[string]int{}
	for _, e := range es {
		key := joinKey(path, e.Key)
		if !slices.Contains(known, e.Key) {
			msg := fmt.Sprintf("unknown error class %q", e.Key)
			if s, ok := suggest(e.Key, known); ok {
				msg += fmt.Sprintf("; did you mean %q?", s)
			} else {
				msg += "; must be one of " + strings.Join(known, ", ")
			}
			p.errAt(e.KeyNode, key, "%s", msg)
			continue
		}
		if x, ok := p.nonNegInt(e.Value, key); ok {
			out[e.Key] = int(x)
		}
	}
	return out
}

// fallbacks reads [{group: [g1, g2]}, ...].
func (p *parser) fallbacks(n *yaml.Node, path string) ([]Fallback, bool) {
	items, ok := p.sequence(n, path)
	if !ok {
		return nil, false
	}
	out := []Fallback{}
	good := true
	for i, it := range items {
		ipath := fmt.Sprintf("%s[%d]", path, i)
		if d := deref(it); d == nil || d.Kind != yaml.MappingNode {
			p.errAt(it, ipath, "must be a mapping {model_group: [fallback groups]}, got %s", p.describe(it))
			good = false
			continue
		}
		es, _ := p.mapping(it, ipath)
		for _, e := range es {
			key := joinKey(ipath, e.Key)
			if d := deref(e.Value); d != nil && d.Kind == yaml.ScalarNode && !isNull(d) {
				p.errAt(e.Value, key, "must be a list of model groups, e.g. [%s]", d.Value)
				good = false
				continue
			}
			to, ok := p.strList(e.Value, key)
			if !ok {
				good = false
				continue
			}
			p.setRefKey(posOf(p.file, e.KeyNode), key)
			out = append(out, Fallback{Group: e.Key, To: to, Pos: posOf(p.file, e.KeyNode)})
		}
	}
	return out, good
}

// aliases reads {alias: group} or {alias: {model: group, hidden: bool}}.
func (p *parser) aliases(n *yaml.Node, path string) map[string]Alias {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	out := map[string]Alias{}
	for _, e := range es {
		key := joinKey(path, e.Key)
		a := Alias{Pos: posOf(p.file, e.KeyNode)}
		p.setRefKey(a.Pos, key)
		v := deref(e.Value)
		switch {
		case v != nil && v.Kind == yaml.MappingNode:
			sub, _ := p.mapping(v, key)
			for _, s := range sub {
				skey := joinKey(key, s.Key)
				switch s.Key {
				case "model":
					a.Group, _ = p.str(s.Value, skey)
				case "hidden":
					a.Hidden, _ = p.bool(s.Value, skey)
				default:
					msg := fmt.Sprintf("unknown key %q in a model_group_alias entry (keys: model, hidden)", s.Key)
					if sg, ok := suggest(s.Key, []string{"model", "hidden"}); ok {
						msg += fmt.Sprintf("; did you mean %q?", sg)
					}
					p.errAt(s.KeyNode, skey, "%s", msg)
				}
			}
			if a.Group == "" {
				p.errAt(v, joinKey(key, "model"), "is required")
				continue
			}
		default:
			s, ok := p.str(e.Value, key)
			if !ok || s == "" {
				if ok || isNull(e.Value) {
					p.errAt(e.Value, key, "must name a model group")
				}
				continue
			}
			a.Group = s
		}
		out[e.Key] = a
	}
	return out
}

func (p *parser) litellmSettings(cfg *Config, n *yaml.Node) {
	const path = "litellm_settings"
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	ls := &cfg.LiteLLM
	ls.Raw = map[string]any{}
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		if _, ok := p.checkKey(SectionLiteLLM, path, e); !ok {
			continue
		}
		ls.Raw[e.Key] = p.anyValue(v, key)
		switch e.Key {
		case "drop_params":
			ls.DropParams, _ = p.bool(v, key)
		case "additional_drop_params":
			ls.AdditionalDropParams, _ = p.strList(v, key)
		case "json_logs":
			ls.JSONLogs, _ = p.bool(v, key)
		case "force_ipv4":
			ls.ForceIPv4, _ = p.bool(v, key)
		case "user_url_validation":
			if b, ok := p.bool(v, key); ok {
				ls.NoUserURLValidation = !b
			}
		case "user_url_allowed_hosts":
			ls.UserURLAllowedHosts, _ = p.strList(v, key)
		case "ssl_verify", "ssl_certificate", "ssl_ecdh_curve", "ssl_security_level":
			p.sslKey(e.Key, v) // ssl.go, resolved with the environment
		case "disable_add_user_agent_to_request_tags":
			ls.DisableUserAgentTags, _ = p.bool(v, key)
		case "set_verbose":
			ls.SetVerbose, _ = p.bool(v, key)
		case "enable_preview_features":
			ls.EnablePreviewFeatures, _ = p.bool(v, key)
		case "enable_json_schema_validation":
			ls.EnableJSONSchemaValidation, _ = p.bool(v, key)
		case "modify_params":
			ls.ModifyParams, _ = p.bool(v, key)
			ls.modifyParamsSet = true
		case "cache":
			ls.Cache, _ = p.bool(v, key)
		case "guardrails":
			p.legacyGuardrails(cfg, v, key) // guardrails_legacy.go
		case "callbacks":
			ls.Callbacks = p.callbackList(v, key)
		case "success_callback":
			ls.SuccessCallback = p.callbackList(v, key)
		case "failure_callback":
			ls.FailureCallback = p.callbackList(v, key)
		case "service_callback", "service_callbacks":
			p.serviceCallbacks(ls, v, key)
		case "require_auth_for_metrics_endpoint":
			if b, ok := p.bool(v, key); ok {
				ls.MetricsAuthOff = !b
			}
		case "prometheus_latency_buckets":
			ls.PrometheusLatencyBuckets = p.latencyBuckets(v, key)
		case "custom_prometheus_metadata_labels":
			ls.PrometheusTuning.MetadataLabels = p.prometheusLabels(v, key, false, labelNames(ls.PrometheusTuning.TagLabels))
		case "prometheus_metrics_config":
			ls.PrometheusTuning.MetricsConfig = p.prometheusMetricsConfig(v, key)
		case "langfuse_default_tags":
			ls.Logging.LangfuseDefaultTags, _ = p.strList(v, key)
			ls.Logging.ProxyBaseURL, _ = p.lookup("PROXY_BASE_URL")
		case "disable_end_user_cost_tracking":
			ls.DisableEndUserCostTracking, _ = p.bool(v, key)
		case "disable_end_user_cost_tracking_prometheus_only":
			ls.PrometheusTuning.NoEndUser, _ = p.bool(v, key)
		case "prometheus_emit_stream_label":
			ls.PrometheusTuning.EmitStreamLabel, _ = p.bool(v, key)
		case "custom_prometheus_tags":
			ls.PrometheusTuning.TagLabels = p.prometheusLabels(v, key, true, labelNames(ls.PrometheusTuning.MetadataLabels))
		case "prometheus_initialize_budget_metrics":
			// The budget gauges of every key, team and user are served at
			// each scrape whatever it says (internal/metrics/budgets.go):
			// what true asks of LiteLLM.
			_, _ = p.bool(v, key)
		case "forward_traceparent_to_llm_provider":
			ls.ForwardTraceparent, _ = p.bool(v, key)
		case "return_response_headers":
			ls.ReturnResponseHeaders, _ = p.bool(v, key)
		case "telemetry":
			// LiteLLM's own anonymous usage telemetry (litellm.telemetry:
			// "what models are used, and what errors are hit", sent to
			// BerriAI); llmgate sends none, so there is nothing to switch.
			_, _ = p.bool(v, key)
		case "max_end_user_budget":
			if f, ok := p.float(v, key); ok {
				if f < 0 || f > 1e12 {
					p.errAt(v, key, "must be between 0 and 1e12, got %v", f)
				} else {
					ls.MaxEndUserBudget = &f
				}
			}
		case "max_end_user_budget_id":
			ls.MaxEndUserBudgetID, _ = p.str(v, key)
		case "model_group_settings":
			if mg, ok := p.mapping(v, key); ok {
				for _, m := range mg {
					if m.Key == "forward_client_headers_to_llm_api" {
						ls.ForwardHeadersGroups, _ = p.strList(m.Value, joinKey(key, m.Key))
					} else {
						p.warnAt(m.Value, joinKey(key, m.Key), "not yet implemented; ignored")
					}
				}
			}
		case "default_team_settings":
			p.defaultTeamSettings(ls, v, key)
		case "s3_callback_params":
			p.s3CallbackParams(ls, v, key)
		case "aws_sqs_callback_params":
			p.sqsCallbackParams(ls, v, key)
		case "store_audit_logs", "audit_log_callbacks", "s3_audit_callback_params":
			p.auditLogKey(ls, e.Key, v, key)
		case "max_budget":
			if f, ok := p.float(v, key); ok {
				f = p.money(v, key, f)
				ls.MaxBudget = &f
			}
		case "budget_duration":
			ls.BudgetDuration, _ = p.duration(v, key)
		case "default_key_generate_params", "upperbound_key_generate_params", "key_generation_settings",
			"default_internal_user_params", "max_internal_user_budget", "internal_user_budget_duration":
			p.keyGenKey(ls, e.Key, v, key) // keygen.go
		case "turn_off_message_logging":
			ls.Logging.TurnOffMessageLogging, _ = p.bool(v, key)
		case "redact_user_api_key_info":
			ls.Logging.RedactUserAPIKeyInfo, _ = p.bool(v, key)
		case "redact_messages_in_exceptions":
			ls.RedactMessagesInExceptions, _ = p.bool(v, key)
		}
	}
	// prometheus_metrics_config's labels checked against the custom ones,
	// whatever their order in the file.
	for _, e := range es {
		if e.Key == "prometheus_metrics_config" {
			p.checkPrometheusMetricsConfig(e.Value, joinKey(path, e.Key), &ls.PrometheusTuning)
		}
	}
	// cache_params after cache, whatever their order in the file.
	for _, e := range es {
		if e.Key == "cache_params" {
			p.cacheParams(cfg, e.Value, joinKey(path, e.Key))
		}
	}
	if ls.Cache {
		cp := &ls.CacheParams
		if cp.Type == "" {
			cp.Type = "local"
		}
		if cp.Mode == "" {
			cp.Mode = "default_on"
		}
		if cp.SupportedCallTypes == nil {
			cp.SupportedCallTypes = slices.Clone(DefaultCacheCallTypes)
		}
		if cp.Type == "redis" {
			// LiteLLM's redis cache reads these when cache_params leaves them out.
			get := func(name string) string { v, _ := p.lookup(name); return v }
			if cp.Host == "" {
				cp.Host = get("REDIS_HOST")
			}
			if cp.Port == "" {
				cp.Port = get("REDIS_PORT")
			}
			if cp.Password == "" {
				cp.Password = get("REDIS_PASSWORD")
			}
			p.cacheRedisEnv(cp)
		}
		p.cacheStoreDefaults(cp, es)
	}
}

func (p *parser) cacheParams(cfg *Config, n *yaml.Node, path string) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	cp := &cfg.LiteLLM.CacheParams
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		if _, ok := p.checkKey(SectionCache, path, e); !ok {
			continue
		}
		switch e.Key {
		case "type":
			s, ok := p.str(v, key)
			if !ok {
				continue
			}
			switch {
			case !slices.Contains(CacheTypes, s):
				msg := fmt.Sprintf("unknown cache type %q; must be one of %s", s, strings.Join(CacheTypes, ", "))
				if sg, ok := suggest(s, CacheTypes); ok {
					msg = fmt.Sprintf("unknown cache type %q; did you mean %q?", s, sg)
				}
				p.errAt(v, key, "%s", msg)
			case s == "redis-semantic" || s == "azure-blob":
				p.warnAt(v, key, "cache type %q is accepted, not implemented yet: responses are not cached", s)
				cp.Type = s
			default:
				cp.Type = s
			}
		case "host":
			cp.Host, _ = p.str(v, key)
		case "port":
			cp.Port, _ = p.port(v, key)
		case "password":
			cp.Password, _ = p.str(v, key)
		case "namespace":
			cp.Namespace, _ = p.str(v, key)
		case "ttl":
			cp.TTL, _ = p.seconds(v, key)
		case "mode":
			if s, ok := p.str(v, key); ok {
				if s != "default_on" && s != "default_off" {
					p.errAt(v, key, "must be default_on or default_off, got %q", s)
				} else {
					cp.Mode = s
				}
			}
		case "supported_call_types":
			cp.SupportedCallTypes, _ = p.strList(v, key)
		case "redis_startup_nodes":
			cp.StartupNodes = p.redisNodes(v, key, false)
		case "sentinel_nodes":
			cp.SentinelNodes = p.redisNodes(v, key, true)
		case "service_name":
			cp.ServiceName, _ = p.str(v, key)
		case "sentinel_password":
			cp.SentinelPassword, _ = p.str(v, key)
		default:
			p.cacheStoreKey(cp, e, key) // cache_stores.go: s3, disk, gcs, qdrant
		}
	}
	if !cfg.LiteLLM.Cache {
		p.warnAt(deref(n), path, "cache_params has no effect unless litellm_settings.cache is true")
	}
}

func (p *parser) generalSettings(cfg *Config, n *yaml.Node) {
	const path = "general_settings"
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	gs := &cfg.General
	gs.Raw = map[string]any{}
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		if _, ok := p.checkKey(SectionGeneral, path, e); !ok {
			continue
		}
		gs.Raw[e.Key] = p.anyValue(v, key)
		switch e.Key {
		case "master_key":
			var ok bool
			if gs.MasterKey, ok = p.str(v, key); ok && strings.TrimSpace(gs.MasterKey) == "" {
				p.errAt(v, key, "must not be empty (an empty key would open the gateway); remove the key to run without one")
			}
		case "llmgate_allow_no_master_key":
			gs.AllowNoMasterKey, _ = p.bool(v, key)
		case "database_url":
			gs.DatabaseURL, _ = p.str(v, key)
		case "max_request_size_mb":
			gs.MaxRequestSizeMB, _ = p.positive(v, key)
		case "max_file_size_mb": // files.go (D147)
			n, _ := p.nonNegInt(v, key)
			gs.MaxFileSizeMB = int(n)
		case "max_batch_file_size_mb":
			n, _ := p.nonNegInt(v, key)
			gs.MaxBatchFileSizeMB = int(n)
		case "max_response_size_mb":
			gs.MaxResponseSizeMB, _ = p.positive(v, key)
		case "completion_model":
			gs.CompletionModel, _ = p.str(v, key)
		case "embedding_model":
			gs.EmbeddingModel, _ = p.str(v, key)
		case "image_generation_model":
			gs.ImageGenerationModel, _ = p.str(v, key)
		case "moderation_model":
			gs.ModerationModel, _ = p.str(v, key)
		case "max_parallel_requests":
			x, _ := p.nonNegInt(v, key)
			gs.MaxParallelRequests = int(x)
		case "global_max_parallel_requests":
			x, _ := p.nonNegInt(v, key)
			gs.GlobalMaxParallelRequests = int(x)
		case "pass_through_endpoints":
			p.passThroughEndpoints(gs, v, key) // passthrough.go
		case "litellm_key_header_name":
			gs.LiteLLMKeyHeaderName, _ = p.str(v, key)
		case "forward_client_headers_to_llm_api":
			gs.ForwardClientHeaders, _ = p.bool(v, key)
		case "forward_openai_org_id":
			gs.ForwardOpenAIOrgID, _ = p.bool(v, key)
		case "allow_client_side_credentials":
			gs.AllowClientSideCredentials, _ = p.bool(v, key)
		case "background_health_checks":
			gs.BackgroundHealthChecks, _ = p.bool(v, key)
		case "health_check_interval":
			gs.HealthCheckInterval, _ = p.seconds(v, key)
		case "health_check_details":
			if b, ok := p.bool(v, key); ok {
				gs.HealthCheckHidesDetails = !b
			}
		case "dangerously_allow_mock_testing_request_params":
			gs.AllowMockTesting, _ = p.bool(v, key)
		case "user_api_key_cache_ttl":
			gs.UserAPIKeyCacheTTL, _ = p.seconds(v, key)
		case "proxy_batch_write_at":
			gs.ProxyBatchWriteAt, _ = p.seconds(v, key)
		case "disable_spend_logs":
			gs.DisableSpendLogs, _ = p.bool(v, key)
		case "store_prompts_in_spend_logs":
			gs.StorePromptsInSpendLogs, _ = p.bool(v, key)
		case "enforce_user_param":
			gs.EnforceUserParam, _ = p.bool(v, key)
		case "enforced_params":
			gs.EnforcedParams, _ = p.strList(v, key)
		case "service_account_settings":
			if es, ok := p.mapping(v, key); ok {
				for _, e := range es {
					if e.Key == "enforced_params" {
						gs.ServiceAccountEnforcedParams, _ = p.strList(e.Value, joinKey(key, e.Key))
					} else {
						p.warnAt(e.KeyNode, joinKey(key, e.Key), "accepted, not implemented yet")
					}
				}
			}
		case "allowed_ips":
			if l, ok := p.strList(v, key); ok {
				gs.AllowedIPs = append([]string{}, l...)
			}
		case "use_x_forwarded_for":
			gs.UseXForwardedFor, _ = p.bool(v, key)
		case "public_routes":
			if l, ok := p.strList(v, key); ok {
				gs.PublicRoutes = append([]string{}, l...)
			}
		case "enable_jwt_auth":
			gs.EnableJWTAuth, _ = p.bool(v, key)
		case "litellm_jwtauth":
			gs.JWTAuth = p.litellmJWTAuth(v, key)
		case "enable_oauth2_proxy_auth":
			if on, ok := p.bool(v, key); ok && on && gs.OAuth2ProxyAuth == nil {
				gs.OAuth2ProxyAuth = &OAuth2ProxyAuth{}
			} else if ok && !on {
				gs.OAuth2ProxyAuth = nil
			}
		case "oauth2_config_mappings":
			p.oauth2Mappings(gs, v, key)
		case "allowed_routes":
			if l, ok := p.strList(v, key); ok {
				gs.AllowedRoutes = append([]string{}, l...)
			}
		case "admin_only_routes":
			if l, ok := p.strList(v, key); ok {
				gs.AdminOnlyRoutes = append([]string{}, l...)
			}
		case "disable_reset_budget":
			gs.DisableResetBudget, _ = p.bool(v, key)
		case "default_team_disabled":
			gs.DefaultTeamDisabled, _ = p.bool(v, key)
		case "proxy_budget_rescheduler_min_time", "proxy_budget_rescheduler_max_time":
			if n, ok := p.int(v, key); ok {
				if n < 1 || n > MaxBudgetRescheduler {
					p.errAt(v, key, "must be between 1 and %d seconds, got %d", MaxBudgetRescheduler, n)
				} else if e.Key == "proxy_budget_rescheduler_min_time" {
					gs.BudgetReschedulerMin = time.Duration(n) * time.Second
				} else {
					gs.BudgetReschedulerMax = time.Duration(n) * time.Second
				}
			}
		case "database_connection_pool_limit":
			if n, ok := p.int(v, key); ok {
				if n < 1 || n > MaxDatabasePoolLimit {
					p.errAt(v, key, "must be between 1 and %d, got %d", MaxDatabasePoolLimit, n)
				} else {
					gs.DatabasePoolLimit = int(n)
				}
			}
		case "database_connection_timeout":
			gs.DatabaseTimeout, _ = p.seconds(v, key)
		case "disable_master_key_return":
			gs.DisableMasterKeyReturn, _ = p.bool(v, key)
		case "store_model_in_db":
			gs.StoreModelInDB, _ = p.bool(v, key)
		case "enable_oauth2_auth":
			if on, ok := p.bool(v, key); ok && on {
				gs.OAuth2Auth = &OAuth2Auth{}
			} else {
				gs.OAuth2Auth = nil
			}
		case "key_management_system", "key_management_settings", "use_azure_key_vault", "use_google_kms":
			// read before os.environ/ references are resolved (secrets.go)
		case "alerting", "alerting_threshold", "alert_types", "alert_to_webhook_url", "alerting_args", "spend_report_frequency":
			p.alertingKey(&gs.Alerting, e.Key, v, key)
		}
	}
	p.budgetRescheduler(gs, n)
}

// LiteLLM's defaults of proxy_budget_rescheduler_min_time / _max_time
// (PROXY_BUDGET_RESCHEDULER_MIN_TIME / _MAX_TIME).
const (
	DefaultBudgetReschedulerMin = 597 * time.Second
	DefaultBudgetReschedulerMax = 605 * time.Second
	// MaxBudgetRescheduler bounds either setting (seconds: a day).
	MaxBudgetRescheduler = 86400
)

// budgetRescheduler completes proxy_budget_rescheduler_min_time / _max_time:
// one set alone takes LiteLLM's default for the other; min above max is an
// error (LiteLLM's scheduler fails to start then).
func (p *parser) budgetRescheduler(gs *GeneralSettings, n *yaml.Node) {
	if gs.BudgetReschedulerMin == 0 && gs.BudgetReschedulerMax == 0 {
		return
	}
	if gs.BudgetReschedulerMin == 0 {
		gs.BudgetReschedulerMin = DefaultBudgetReschedulerMin
	}
	if gs.BudgetReschedulerMax == 0 {
		gs.BudgetReschedulerMax = DefaultBudgetReschedulerMax
	}
	if gs.BudgetReschedulerMin > gs.BudgetReschedulerMax {
		p.errAt(deref(n), "general_settings.proxy_budget_rescheduler_min_time", "must not exceed proxy_budget_rescheduler_max_time (%v > %v)",
			gs.BudgetReschedulerMin, gs.BudgetReschedulerMax)
	}
}

// MaxDatabasePoolLimit bounds database_connection_pool_limit (PostgreSQL's
// own max_connections is 100 by default).
const MaxDatabasePoolLimit = 10000

func (p *parser) positive(n *yaml.Node, key string) (float64, bool) {
	f, ok := p.float(n, key)
	if ok && f <= 0 {
		p.errAt(n, key, "must be greater than 0, got %v", f)
		return 0, false
	}
	return f, ok
}

// litellmRouterKeys are the litellm_settings keys that feed the router.
var litellmRouterKeys = []string{
	"num_retries", "request_timeout", "fallbacks", "context_window_fallbacks", "content_policy_fallbacks",
	"default_fallbacks", "allowed_fails", "cooldown_time", "model_group_alias",
}

// routerSettings fills Config.Router: router_settings wins, then the
// litellm_settings keys that feed the router (and general_settings'
// model_group_alias), then LiteLLM's defaults.
func (p *parser) routerSettings(cfg *Config, n *yaml.Node, top map[string]entry) {
	var fromRouter, fromLiteLLM, fromGeneral routerPart
	if n != nil {
		es, _ := p.mapping(n, "router_settings")
		for _, e := range es {
			if _, ok := p.checkKey(SectionRouter, "router_settings", e); !ok {
				continue
			}
			p.routerKey(&fromRouter, e, "router_settings")
		}
	}
	if e, ok := top["litellm_settings"]; ok && deref(e.Value) != nil && deref(e.Value).Kind == yaml.MappingNode {
		es, _ := p.quietMapping(e.Value)
		for _, e := range es {
			if slices.Contains(litellmRouterKeys, e.Key) {
				p.routerKey(&fromLiteLLM, e, "litellm_settings")
			}
		}
	}
	if e, ok := top["general_settings"]; ok && deref(e.Value) != nil && deref(e.Value).Kind == yaml.MappingNode {
		es, _ := p.quietMapping(e.Value)
		for _, e := range es {
			if e.Key == "model_group_alias" {
				p.routerKey(&fromGeneral, e, "general_settings")
			}
		}
	}
	if fromLiteLLM.numRetries != nil {
		cfg.LiteLLM.NumRetries = ptr(*fromLiteLLM.numRetries)
	}
	if fromLiteLLM.timeout != nil {
		cfg.LiteLLM.RequestTimeout = *fromLiteLLM.timeout
	}

	r := &cfg.Router
	parts := []*routerPart{&fromRouter, &fromLiteLLM}
	r.RoutingStrategy = first(DefaultRoutingStrategy, fromRouter.strategy)
	r.RoutingStrategyArgs = fromRouter.strategyArgs
	r.NumRetries = first(DefaultNumRetries, pick(parts, func(p *routerPart) *int { return p.numRetries })...)
	r.NumRetriesSet = fromRouter.numRetries != nil || fromLiteLLM.numRetries != nil
	r.Timeout = first(DefaultTimeout, pick(parts, func(p *routerPart) *time.Duration { return p.timeout })...)
	r.StreamTimeout = first(r.Timeout, fromRouter.streamTimeout)
	r.AllowedFails = first(DefaultAllowedFails, pick(parts, func(p *routerPart) *int { return p.allowedFails })...)
	r.CooldownTime = first(DefaultCooldownTime, pick(parts, func(p *routerPart) *time.Duration { return p.cooldownTime })...)
	r.DisableCooldowns = first(false, fromRouter.disableCooldowns)
	r.RetryPolicy = fromRouter.retryPolicy
	r.AllowedFailsPolicy = fromRouter.allowedFailsPolicy
	r.Fallbacks = first(nil, pick(parts, func(p *routerPart) *[]Fallback { return p.fallbacks })...)
	r.ContextWindowFallbacks = first(nil, pick(parts, func(p *routerPart) *[]Fallback { return p.cwFallbacks })...)
	r.ContentPolicyFallbacks = first(nil, pick(parts, func(p *routerPart) *[]Fallback { return p.cpFallbacks })...)
	r.DefaultFallbacks = first(nil, pick(parts, func(p *routerPart) *[]string { return p.defaultFallbacks })...)
	p.defaultFallbackPos, p.defaultFallbackKey = fromLiteLLM.defaultFallbackPos, "litellm_settings.default_fallbacks"
	if fromRouter.defaultFallbacks != nil {
		p.defaultFallbackPos, p.defaultFallbackKey = fromRouter.defaultFallbackPos, "router_settings.default_fallbacks"
	}
	r.MaxFallbacks = first(DefaultMaxFallbacks, fromRouter.maxFallbacks)
	r.EnablePreCallChecks = first(false, fromRouter.preCallChecks)
	if c := fromRouter.checks; c != nil {
		r.ResponsesAffinity, r.SessionAffinity, r.DeploymentAffinity = c.Responses, c.Session, c.Deployment
		r.EnforceModelRateLimits = c.enforceLimits
		r.PromptCaching = c.promptCaching
	}
	r.ModelGroupAffinity = fromRouter.groupAffinity
	r.DeploymentAffinityTTL = time.Duration(first(DefaultAffinityTTLSeconds, fromRouter.affinityTTL)) * time.Second
	r.SessionAffinityRepin = first(false, fromRouter.repin)
	r.CachingGroups = fromRouter.cachingGroups
	r.Debug = first(false, fromRouter.verbose) || first("INFO", fromRouter.debugLevel) == "DEBUG"
	r.DefaultMaxParallelRequests = first(0, fromRouter.defaultMaxParallel)
	if r.DefaultMaxParallelRequests == 0 && cfg.General.MaxParallelRequests > 0 {
		// general_settings.max_parallel_requests is the same per-deployment
		// default (LiteLLM's docs: "the max parallel requests allowed per deployment").
		r.DefaultMaxParallelRequests = cfg.General.MaxParallelRequests
	}
	r.EnableTagFiltering = first(false, fromRouter.tagFiltering)
	r.TagFilteringMatchAny = first(true, fromRouter.tagMatchAny)
	r.ModelGroupRetryPolicy = fromRouter.groupRetryPolicy
	r.RetryAfter = first(0, fromRouter.retryAfter)
	r.ProviderBudgets = fromRouter.providerBudgets
	r.RedisHost = first("", fromRouter.redisHost)
	r.RedisPort = first("", fromRouter.redisPort)
	r.RedisPassword = first("", fromRouter.redisPassword)
	r.RedisURL = first("", fromRouter.redisURL)
	// Aliases merge per alias: router_settings over litellm_settings over general_settings.
	for _, src := range []map[string]Alias{fromGeneral.aliases, fromLiteLLM.aliases, fromRouter.aliases} {
		for k, a := range src {
			if r.ModelGroupAlias == nil {
				r.ModelGroupAlias = map[string]Alias{}
			}
			r.ModelGroupAlias[k] = a
		}
	}
	if first(false, fromRouter.cacheResponses) {
		p.cacheResponses(cfg)
	}
}

// quietMapping lists a mapping's entries without reporting anything (the
// section's own parser already did).
func (p *parser) quietMapping(n *yaml.Node) ([]entry, bool) {
	q := &parser{diags: diags{file: p.file}, lookup: p.lookup}
	return q.mapping(n, "")
}

func pick[T any](parts []*routerPart, f func(*routerPart) *T) []*T {
	out := make([]*T, len(parts))
	for i, p := range parts {
		out[i] = f(p)
	}
	return out
}

func first[T any](def T, vals ...*T) T {
	for _, v := range vals {
		if v != nil {
			return *v
		}
	}
	return def
}

// checkReferences checks that every fallback and alias target names a model
// group (or matches a wildcard model_name).
func (p *parser) checkReferences(cfg *Config) {
	served := map[string]bool{}
	skipped := map[string]bool{}
	var patterns []*regexp.Regexp
	for _, d := range cfg.Models {
		if d.Wildcard {
			patterns = append(patterns, wildcardRegexp(d.ModelName))
		} else {
			served[d.ModelName] = true
		}
	}
	for _, d := range cfg.Skipped {
		skipped[d.ModelName] = true
	}
	isGroup := func(name string) bool {
		if served[name] {
			return true
		}
		for _, re := range patterns {
			if re.MatchString(name) {
				return true
			}
		}
		return false
	}
	check := func(name string, pos Pos, key, what string, aliasOK bool) {
		if isGroup(name) {
			return
		}
		if k, ok := p.refKeys[pos]; ok {
			key = k
		}
		if _, isAlias := cfg.Router.ModelGroupAlias[name]; aliasOK && isAlias {
			return
		}
		if skipped[name] {
			p.add(SeverityWarning, pos.Line, pos.Column, key, "%s %q is not served in this environment (%s=%s)", what, name, EnvEnvironment, envOr(p.lookup))
			return
		}
		msg := fmt.Sprintf("%s %q names no model group in model_list", what, name)
		if what == "" {
			msg = fmt.Sprintf("%q is not a model group in model_list", name)
		}
		if s, ok := suggest(name, keysOf(served)); ok {
			msg += fmt.Sprintf("; did you mean %q?", s)
		}
		p.add(SeverityError, pos.Line, pos.Column, key, "%s", msg)
	}
	r := &cfg.Router
	for _, l := range []struct {
		name string
		fbs  []Fallback
	}{{"fallbacks", r.Fallbacks}, {"context_window_fallbacks", r.ContextWindowFallbacks}, {"content_policy_fallbacks", r.ContentPolicyFallbacks}} {
		for _, fb := range l.fbs {
			if fb.Group != "*" {
				check(fb.Group, fb.Pos, l.name+"."+fb.Group, "", true)
			}
			for _, to := range fb.To {
				check(to, fb.Pos, l.name+"."+fb.Group, "fallback", true)
			}
		}
	}
	for _, to := range r.DefaultFallbacks {
		check(to, p.defaultFallbackPos, p.defaultFallbackKey, "fallback", true)
	}
	for name, a := range r.ModelGroupAlias {
		check(a.Group, a.Pos, "model_group_alias."+name, "alias target", false)
	}
}

func (p *parser) setRefKey(pos Pos, key string) {
	if p.refKeys == nil {
		p.refKeys = map[Pos]string{}
	}
	p.refKeys[pos] = key
}

func envOr(lookup func(string) (string, bool)) string {
	v, _ := lookup(EnvEnvironment)
	return v
}

func keysOf(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

// wildcardRegexp turns a wildcard model_name into LiteLLM's pattern: each '*'
// becomes (.*), anchored at the start.
func wildcardRegexp(pattern string) *regexp.Regexp {
	parts := strings.Split(pattern, "*")
	for i, s := range parts {
		parts[i] = regexp.QuoteMeta(s)
	}
	return regexp.MustCompile("^" + strings.Join(parts, "(.*)"))
}

// EnvModifyParams is LITELLM_MODIFY_PARAMS: modify_params when the config
// does not set it; any non-empty value turns it on, as LiteLLM's bool() of
// the string does ("false" too).
const EnvModifyParams = "LITELLM_MODIFY_PARAMS"

// modifyParamsEnv applies LITELLM_MODIFY_PARAMS (LiteLLM:
// bool(os.getenv("LITELLM_MODIFY_PARAMS", False))) when the config leaves
// modify_params unset.
func modifyParamsEnv(ls *LiteLLMSettings, get func(string) string) {
	if !ls.modifyParamsSet && get(EnvModifyParams) != "" {
		ls.ModifyParams = true
	}
}

// checkModelRateLimits warns about a deployment's itpm, otpm, rpd or tpd
// without optional_pre_call_checks' enforce_model_rate_limits: LiteLLM's
// ModelRateLimitingCheck is their only reader (D180).
func (p *parser) checkModelRateLimits(cfg *Config) {
	if cfg.Router.EnforceModelRateLimits {
		return
	}
	for _, d := range cfg.Models {
		lp := d.Params
		if lp.ITPM == 0 && lp.OTPM == 0 && lp.RPD == 0 && lp.TPD == 0 {
			continue
		}
		p.addIn(d.Pos.File, SeverityWarning, d.Pos.Line, d.Pos.Column, "model_list["+d.ModelName+"]",
			"itpm, otpm, rpd and tpd are read only with router_settings.optional_pre_call_checks: [enforce_model_rate_limits] (as LiteLLM); not enforced")
	}
}
