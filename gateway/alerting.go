package gateway

import (
	"context"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/alerting"
	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/keystore"
)

// alertingSink is the name of the alerts' sink on the bus.
const alertingSink = "alerting"

// alertingSettings are the alert settings of cfg.
func alertingSettings(cfg *config.Config) alerting.Settings {
	a := &cfg.General.Alerting
	types := map[string]bool{}
	if a.Slack {
		for t, on := range a.Types {
			types[t] = on
		}
	}
	return alerting.Settings{Types: types, URLs: a.URLs, Default: a.SlackWebhookURL, Threshold: a.Threshold,
		OutageTTL: a.OutageTTL, MinorOutage: a.MinorOutage, MajorOutage: a.MajorOutage, MaxOutageList: a.MaxOutageList,
		LogToConsole: a.LogToConsole, DailyReportFrequency: a.DailyReportFrequency,
		RedactMessages: cfg.LiteLLM.RedactMessagesInExceptions || cfg.LiteLLM.Logging.TurnOffMessageLogging}
}

// ensureAlerting applies general_settings.alerting (at start and on each
// reload): the alerter's sink is registered the first time a config turns
// alerting on, and stays (a reload that turns it off leaves it with no
// alert type on).
func (g *Gateway) ensureAlerting(cfg *config.Config) {
	if g.outcomes == nil {
		return
	}
	s := alertingSettings(cfg)
	if g.alerts == nil {
		if !cfg.General.Alerting.Slack {
			return
		}
		g.alerts = alerting.New(g.log, s)
		g.outcomes.Register(alertingSink, 0, g.alerts.Sink())
		if g.keys != nil {
			al := g.alerts
			g.keys.OnSoftBudgetCrossed(func(c keys.Crossing) {
				if al.On(alerting.BudgetAlerts) {
					al.Send(alerting.Alert{Type: alerting.BudgetAlerts, Level: "Medium", Message: c.Message()})
				}
			})
		}
	} else {
		g.alerts.Configure(s)
	}
	g.alerts.SetSpendSource(g.spendReportSource(), cfg.General.Alerting.SpendReportDays)
	if g.ext != nil {
		// llm_requests_hanging: the request filter hands each planned
		// request to the watch, without blocking.
		if s.Types[alerting.LLMRequestsHanging] {
			g.ext.SetHangingWatch(g.alerts.Begin)
		} else {
			g.ext.SetHangingWatch(nil)
		}
	}
	g.registerAlertMetrics()
}

// registerAlertMetrics adds the llmgate_alerts_* counters to /metrics once
// both exist.
func (g *Gateway) registerAlertMetrics() {
	if g.metrics == nil || g.alerts == nil || g.alertMetrics {
		return
	}
	g.alertMetrics = true
	g.metrics.Registry().MustRegister(g.alerts.Collectors()...)
}

// spendReportSource is where spend_reports read the spend: the key
// store's spend logs, per team (named by its alias, "None" for no team or
// no alias, as LiteLLM's LEFT JOIN on the team table gives) and per
// request tag. nil without virtual keys (LiteLLM sends no spend report
// without a database).
func (g *Gateway) spendReportSource() alerting.SpendSource {
	tags, ok := g.keyStore.(keystore.TagSpendStore)
	svc := g.keys
	if svc == nil || !ok {
		return nil
	}
	return func(ctx context.Context, start, end time.Time) (byTeam, byTag []alerting.SpendLine, err error) {
		f := keystore.SpendLogFilter{Start: start, End: end}
		ts, err := g.keyStore.SpendBy(ctx, f, "team_id")
		if err != nil {
			return nil, nil, err
		}
		alias := map[string]float64{}
		for id, spend := range ts {
			a := svc.TeamAlias(id)
			if id == "" || a == "" {
				a = "None"
			}
			alias[a] += spend
		}
		for a, spend := range alias {
			byTeam = append(byTeam, alerting.SpendLine{Name: a, Spend: spend})
		}
		tg, err := tags.SpendByTag(ctx, f)
		if err != nil {
			return nil, nil, err
		}
		for tag, s := range tg {
			byTag = append(byTag, alerting.SpendLine{Name: tag, Spend: s.Spend})
		}
		return byTeam, byTag, nil
	}
}
