package gateway

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/callbacks"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/metrics"
	"github.com/llmgate/llmgate/internal/outcome"
)

// startOutcomes creates the outcome bus the attempt filter publishes each
// try on, and registers the sinks the config asks for (metrics; later spend
// and logging callbacks). Sinks consume off the request path
// (internal/outcome). The caller closes the bus once the ext_proc server has
// stopped, so queued events are drained.
func (g *Gateway) startOutcomes(cfg *config.Config) *outcomeSinks {
	bus := outcome.NewBus()
	g.outcomes = bus
	for _, reg := range g.o.OutcomeSinks {
		reg(bus, cfg)
	}
	if g.keys != nil {
		fn, end := g.keys.GroupedSink()
		bus.RegisterGrouped(keys.SpendSink, keys.SinkQueue, fn, end)
	}
	if g.ext != nil {
		g.ext.Outcomes = bus
		g.ext.SetServiceCheck(g.serviceCheck)
	}
	g.ensureMetrics(cfg)
	g.ensureCallbacks(cfg)
	g.ensureAlerting(cfg)
	return &outcomeSinks{g: g}
}

// outcomeSinks closes the bus (draining its queues), then the logging
// callbacks (delivering what they hold).
type outcomeSinks struct{ g *Gateway }

func (o *outcomeSinks) Close() {
	o.g.outcomes.Close()
	o.g.mu.Lock()
	cb, al := o.g.callbacks, o.g.alerts
	o.g.mu.Unlock()
	if cb != nil {
		cb.Close()
	}
	if al != nil {
		al.Close()
	}
}

// callbacksSink is the name of the logging callbacks' sink on the bus.
const callbacksSink = "callbacks"

// callbackSettings are the logging callbacks' settings of cfg.
func callbackSettings(cfg *config.Config) callbacks.Settings {
	ls := &cfg.LiteLLM
	lg := &ls.Logging
	s := callbacks.Settings{
		MessageLoggingOff:   lg.TurnOffMessageLogging,
		DefaultLangfuseHost: lg.DefaultLangfuseHost,
		RedactKeyInfo:       lg.RedactUserAPIKeyInfo,
		BatchSize:           lg.BatchSize,
		FlushInterval:       lg.FlushInterval,
		LangfuseDefaultTags: lg.LangfuseDefaultTags, // D91
		ProxyBaseURL:        lg.ProxyBaseURL,
	}
	if ok, fail := ls.CallbackEvents(callbacks.GenericAPI); ok || fail {
		s.Generic = &callbacks.GenericSettings{Events: callbacks.Events{Success: ok, Failure: fail},
			Endpoint: lg.GenericEndpoint, Headers: lg.GenericHeaders}
	}
	if ok, fail := ls.CallbackEvents(callbacks.Langfuse); ok || fail {
		s.Langfuse = &callbacks.LangfuseSettings{Events: callbacks.Events{Success: ok, Failure: fail},
			Host: lg.LangfuseHost, PublicKey: lg.LangfusePublicKey, SecretKey: lg.LangfuseSecretKey}
	}
	for _, nc := range lg.Named {
		// A callback_settings generic_api instance, when a callback list names it.
		if ok, fail := ls.CallbackEvents(nc.Name); (ok && nc.Success) || (fail && nc.Failure) {
			s.Named = append(s.Named, callbacks.NamedSettings{Name: nc.Name, Endpoint: nc.Endpoint, Headers: nc.Headers, Format: nc.Format,
				Events: callbacks.Events{Success: ok && nc.Success, Failure: fail && nc.Failure}})
		}
	}
	if sp := lg.S3; sp != nil && sp.Bucket != "" {
		ok, fail := ls.S3Callback()
		s.S3 = &callbacks.S3Settings{Events: callbacks.Events{Success: ok, Failure: fail}, Bucket: sp.Bucket, Region: sp.Region,
			Endpoint: sp.Endpoint, AccessKeyID: sp.AccessKeyID, SecretAccessKey: sp.SecretAccessKey, SessionToken: sp.SessionToken,
			RoleName: sp.RoleName, SessionName: sp.SessionName, WebIdentityToken: sp.WebIdentityToken, STSEndpoint: sp.STSEndpoint, ProfileName: sp.ProfileName,
			Path: sp.Path, KeyPrefix: sp.KeyPrefix, TeamPrefix: sp.TeamPrefix, VirtualHosted: sp.VirtualHosted, InsecureSkipVerify: sp.InsecureSkipVerify,
			SSE: sp.SSE, SSEKMSKeyID: sp.SSEKMSKeyID, BatchSize: sp.BatchSize, FlushInterval: sp.FlushInterval}
	}
	if dd := lg.Datadog; dd != nil {
		ok, fail := ls.CallbackEvents(callbacks.Datadog)
		s.Datadog = &callbacks.DatadogSettings{Events: callbacks.Events{Success: ok, Failure: fail}, URL: dd.URL, APIKey: dd.APIKey,
			Source: dd.Source, Service: dd.Service, Hostname: dd.Hostname, Env: dd.Env, Version: dd.Version, PodName: dd.PodName, BatchSize: dd.BatchSize}
	}
	if l := lg.LangSmith; l != nil {
		ok, fail := ls.CallbackEvents(callbacks.LangSmith)
		s.LangSmith = &callbacks.LangSmithSettings{Events: callbacks.Events{Success: ok, Failure: fail}, URL: callbacks.LangSmithRunsURL(l.BaseURL),
			APIKey: l.APIKey, TenantID: l.TenantID, Project: l.Project, RunName: l.RunName, BatchSize: l.BatchSize, Off: l.Off}
	}
	if q := lg.SQS; q != nil {
		ok, fail := ls.CallbackEvents(callbacks.SQS)
		s.SQS = &callbacks.SQSSettings{Events: callbacks.Events{Success: ok, Failure: fail}, QueueURL: q.QueueURL, Region: q.Region, Endpoint: q.Endpoint,
			AccessKeyID: q.AccessKeyID, SecretAccessKey: q.SecretAccessKey, SessionToken: q.SessionToken, RoleName: q.RoleName, SessionName: q.SessionName,
			WebIdentityToken: q.WebIdentityToken, STSEndpoint: q.STSEndpoint, ProfileName: q.ProfileName, InsecureSkipVerify: q.InsecureSkipVerify,
			EncryptionKey: string(q.EncryptionKey), EncryptionAAD: q.EncryptionAAD, BatchSize: q.BatchSize, FlushInterval: q.FlushInterval}
	}
	if g := lg.GCS; g != nil {
		ok, fail := ls.CallbackEvents(callbacks.GCSBucket)
		s.GCS = &callbacks.GCSSettings{Events: callbacks.Events{Success: ok, Failure: fail}, Bucket: g.Bucket, Prefix: g.Prefix,
			ServiceAccount: g.ServiceAccount, Endpoint: g.Endpoint, Batched: g.Batched, BatchSize: g.BatchSize, FlushInterval: g.FlushInterval}
	}
	s.Arize = arizeSettings(ls, callbacks.Arize, lg.Arize, false)
	s.Phoenix = arizeSettings(ls, callbacks.ArizePhoenix, lg.Phoenix, true)
	for _, tc := range ls.TeamCallbacks {
		if s.S3 != nil && (tc.S3Success || tc.S3Failure) { // the team's s3 (D64)
			if s.TeamS3 == nil {
				s.TeamS3 = map[string]callbacks.Events{}
			}
			s.TeamS3[tc.TeamID] = callbacks.Events{Success: tc.S3Success, Failure: tc.S3Failure}
		}
		if tc.GenericSuccess || tc.GenericFailure { // the team's generic_api (D58)
			s.AddTeamGeneric(tc.TeamID, callbacks.Events{Success: tc.GenericSuccess, Failure: tc.GenericFailure}, lg.GenericEndpoint, lg.GenericHeaders)
		}
		if !tc.Success && !tc.Failure && tc.LangfusePublicKey == "" {
			continue
		}
		// default_team_settings: the team's Langfuse project.
		if s.Teams == nil {
			s.Teams = map[string]*callbacks.LangfuseSettings{}
		}
		s.Teams[tc.TeamID] = &callbacks.LangfuseSettings{Events: callbacks.Events{Success: tc.Success, Failure: tc.Failure},
			Host: tc.LangfuseHost, PublicKey: tc.LangfusePublicKey, SecretKey: tc.LangfuseSecret}
	}
	for _, tc := range ls.TeamCallbacks {
		if tc.OTel { // the team's otel (D64)
			if s.TeamOTel == nil {
				s.TeamOTel = map[string]bool{}
			}
			s.TeamOTel[tc.TeamID] = true
		}
	}
	if ok, fail := ls.CallbackEvents(callbacks.OTel); ok || fail || s.TeamOTel != nil {
		s.OTel = otelSettings(lg, !ok && !fail)
	}
	return s
}

// otelSettings is the otel callback of lg; teamsOnly: only the requests whose
// team or key names otel are traced.
func otelSettings(lg *config.LoggingSettings, teamsOnly bool) *callbacks.OTelSettings {
	return &callbacks.OTelSettings{TeamsOnly: teamsOnly, Protocol: lg.OTelProtocol, Endpoint: lg.OTelEndpoint, MetricsEndpoint: lg.OTelMetricsEndpoint, Headers: lg.OTelHeaders, ServiceName: lg.OTelServiceName,
		Sampler: lg.OTelSampler, SamplerRatio: lg.OTelSamplerRatio, LogsEndpoint: lg.OTelLogsEndpoint, LogsProtocol: lg.OTelLogsProtocol, LogsHeaders: lg.OTelLogsHeaders}
}

// ensureCallbacks applies the logging callbacks of cfg (at start and on each
// reload): the manager's sink is registered on the bus the first time a
// config names one, and stays (a reload that removes a callback stops its
// events).
func (g *Gateway) ensureCallbacks(cfg *config.Config) {
	g.ensureAuditLogs(cfg) // store_audit_logs (auditlogs.go)
	if g.outcomes == nil {
		return
	}
	s := callbackSettings(cfg)
	global := s.Enabled() // a callback of every request's, not only keyed ones
	if g.keys != nil {
		// Key- and team-based logging from the keys' metadata (D64): the
		// generic_api logger is there for them when its endpoint is set.
		s.Metadata = g.keys.LoggingMetadata
		s.TeamAlias = g.keys.TeamAlias     // s3_use_team_prefix's folder (D74)
		s.RequestTags = g.keys.RequestTags // the Langfuse traces' tags (D91)
		salt := modelSecret(cfg)
		s.DecryptVar = func(v string) (string, bool) { return keys.DecryptCallbackVar(v, salt) }
		if lg := &cfg.LiteLLM.Logging; s.Generic == nil && lg.GenericEndpoint != "" {
			s.Generic = &callbacks.GenericSettings{Endpoint: lg.GenericEndpoint, Headers: lg.GenericHeaders}
		}
		if lg := &cfg.LiteLLM.Logging; s.OTel == nil && lg.OTelEndpoint != "" {
			// A key's or a team's metadata.logging may name otel (D69):
			// only those requests are traced.
			s.OTel = otelSettings(lg, true)
		}
	}
	if g.callbacks == nil {
		if !s.Enabled() {
			return
		}
		g.callbacks = callbacks.New(g.log)
		g.callbacks.Configure(s)
		if global {
			g.outcomes.Register(callbacksSink, 0, g.callbacks.Sink())
		} else {
			// Only keys' and teams' metadata may name callbacks: requests
			// without a key do not pay for usage reading (D64).
			g.outcomes.RegisterKeyed(callbacksSink, 0, g.callbacks.Sink(), g.callbacks.WantsSuccess)
			g.callbacksKeyed = true
		}
	} else {
		g.callbacks.Configure(s)
		if global && g.callbacksKeyed {
			g.outcomes.Unkey(callbacksSink)
			g.callbacksKeyed = false
		}
	}
	g.registerCallbackMetrics()
}

// registerCallbackMetrics adds the llmgate_callback_* counters to /metrics
// once both exist.
func (g *Gateway) registerCallbackMetrics() {
	if g.metrics == nil || g.callbacks == nil || g.callbackMetrics {
		return
	}
	g.callbackMetrics = true
	g.metrics.Registry().MustRegister(g.callbacks.Collector())
}

// registerEnvoyStats adds Envoy's stats to /metrics once both exist.
func (g *Gateway) registerEnvoyStats() {
	if g.metrics == nil || g.envoyStats == nil || g.envoyMetrics {
		return
	}
	g.envoyMetrics = true
	g.metrics.Registry().MustRegister(g.envoyStats.upGauge())
	g.metrics.Serve(g.envoyStats)
}

// metricsSink is the name of the Prometheus sink on the bus.
const metricsSink = "prometheus"

// ensureMetrics starts the Prometheus sink when the config names the
// prometheus callback or --metrics-address is set, once: a reload that turns
// the callback on starts it (its buckets are those of that config); turning
// it off again only hides the gateway port's /metrics.
func (g *Gateway) ensureMetrics(cfg *config.Config) {
	if g.metrics != nil {
		g.ensureServiceMetrics(cfg)
	}
	if g.metrics != nil || g.outcomes == nil || (!cfg.LiteLLM.Prometheus() && !cfg.LiteLLM.PrometheusSystem && g.o.MetricsAddress == "") {
		return
	}
	bus := g.outcomes
	o := metrics.Options{Buckets: cfg.LiteLLM.PrometheusLatencyBuckets, Dropped: func() float64 {
		for _, s := range bus.Stats() {
			if s.Name == metricsSink {
				return float64(s.Dropped)
			}
		}
		return 0
	}}
	// custom_prometheus_metadata_labels and custom_prometheus_tags (D91):
	// the key's metadata and tags read from the key table off the path.
	for _, l := range cfg.LiteLLM.PrometheusTuning.MetadataLabels {
		o.MetadataLabels = append(o.MetadataLabels, metrics.Label{Name: l.Name, Path: l.Path})
	}
	for _, l := range cfg.LiteLLM.PrometheusTuning.TagLabels {
		o.TagLabels = append(o.TagLabels, metrics.Label{Name: l.Name, Tag: l.Source})
	}
	if g.keys != nil {
		o.RequestTags, o.KeyMetadata = g.keys.RequestTags, g.keys.KeyMetadata
	}
	// prometheus_metrics_config and prometheus_emit_stream_label (D91).
	pt := &cfg.LiteLLM.PrometheusTuning
	o.Enabled, o.IncludeLabels, o.EmitStreamLabel = pt.Enabled(), pt.IncludeLabels(), pt.EmitStreamLabel
	// LiteLLM's get_end_user_id_for_cost_tracking(service_type="prometheus").
	o.NoEndUser = pt.NoEndUser || cfg.LiteLLM.DisableEndUserCostTracking
	g.metrics = metrics.New(o)
	bus.Register(metricsSink, 0, g.metrics.Sink())
	g.ensureServiceMetrics(cfg)
	g.registerCallbackMetrics()
	g.registerAlertMetrics()
	g.registerEnvoyStats()
	if g.keys != nil {
		// LiteLLM's key, team and user budget gauges, read from the key
		// cache at scrape time.
		g.metrics.ServeBudgets(g.keys.Budgets)
	}
	if g.ext != nil {
		ext := g.ext
		// Outcome records the module dropped because the gateway did not
		// acknowledge them for too long (D63).
		g.metrics.Registry().MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Name: "llmgate_module_outcomes_dropped_total",
			Help: "Outcome records (spend, metrics, callbacks of module-served requests) the module dropped because its outbox was full"},
			func() float64 { return float64(ext.ModuleOutcomesDropped()) }))
		g.ext.SetMetrics(g.metrics.Handler())
	}
}

// serveMetrics serves /metrics on --metrics-address (no authentication:
// bind it where only scrapers reach it) until ctx ends.
func (g *Gateway) serveMetrics(ctx context.Context) error {
	if g.o.MetricsAddress == "" || g.metrics == nil {
		return nil
	}
	l, err := net.Listen("tcp", g.o.MetricsAddress)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", g.metrics.Handler())
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			g.log.Error("metrics listener stopped", "error", err.Error())
		}
	}()
	g.log.Info("metrics serving", "address", l.Addr().String())
	if g.o.MetricsReady != nil {
		g.o.MetricsReady(l.Addr().String())
	}
	return nil
}

// arizeSettings are the arize or arize_phoenix callback's settings (nil
// when no list names it).
func arizeSettings(ls *config.LiteLLMSettings, name string, a *config.ArizeEnv, phoenix bool) *callbacks.ArizeSettings {
	if a == nil {
		return nil
	}
	ok, fail := ls.CallbackEvents(name)
	return &callbacks.ArizeSettings{Events: callbacks.Events{Success: ok, Failure: fail}, Protocol: a.Protocol, Endpoint: a.Endpoint,
		Headers: a.Headers, Project: a.Project, Environment: a.Environment, Phoenix: phoenix}
}
