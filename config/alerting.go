package config

import (
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// EnvSlackWebhookURL is where LiteLLM's slack alerting posts by default.
const EnvSlackWebhookURL = "SLACK_WEBHOOK_URL"

// LiteLLM's alerting defaults (general_settings.alerting_threshold and
// alerting_args).
const (
	DefaultAlertingThreshold    = 300 * time.Second
	DefaultOutageAlertTTL       = 60 * time.Second
	DefaultMinorOutageThreshold = 5
	DefaultMajorOutageThreshold = 10
	DefaultMaxOutageAlertList   = 1000
)

// Alert types llmgate raises. Every other LiteLLM alert type is accepted
// with a "not implemented yet" warning when a config names it.
var implementedAlertTypes = map[string]bool{
	"llm_exceptions":       true,
	"llm_too_slow":         true,
	"llm_requests_hanging": true, // requests unanswered after alerting_threshold (internal/alerting/hanging.go)
	"cooldown_deployment":  true,
	"outage_alerts":        true,
	"budget_alerts":        true, // soft budget crossings of keys and teams (internal/keys)
	"daily_reports":        true, // top 5 deployments by failures and by latency per output token (internal/alerting/dailyreport.go)
	"spend_reports":        true, // spend per team and tag every spend_report_frequency and monthly (internal/alerting/spendreport.go)
}

// knownAlertTypes are LiteLLM's AlertType values; default marks the ones
// on when alert_types is not set.
var knownAlertTypes = map[string]bool{
	"llm_exceptions": true, "llm_too_slow": true, "llm_requests_hanging": true, "budget_alerts": true,
	"spend_reports": true, "failed_tracking_spend": true, "db_exceptions": true, "daily_reports": true,
	"cooldown_deployment": true, "new_model_added": true, "outage_alerts": true, "region_outage_alerts": true,
	"fallback_reports":        true,
	"new_virtual_key_created": false, "virtual_key_updated": false, "virtual_key_deleted": false,
	"new_team_created": false, "team_updated": false, "team_deleted": false,
	"new_internal_user_created": false, "internal_user_updated": false, "internal_user_deleted": false,
}

// Alerting is general_settings.alerting and its companions.
type Alerting struct {
	// Slack: alerting names "slack" (Slack, or any Slack-compatible
	// webhook such as Discord's /slack and Microsoft Teams').
	Slack bool
	// Threshold is alerting_threshold: a response slower than this raises
	// llm_too_slow.
	Threshold time.Duration
	// Types are the alert types on (alert_types, else LiteLLM's default
	// set), implemented or not.
	Types map[string]bool
	// URLs are alert_to_webhook_url: the webhooks of each alert type
	// (secret); a type without one goes to SlackWebhookURL.
	URLs map[string][]string
	// SlackWebhookURL is SLACK_WEBHOOK_URL (secret).
	SlackWebhookURL string
	// OutageTTL, MinorOutage, MajorOutage and MaxOutageList are
	// alerting_args outage_alert_ttl, minor/major_outage_alert_threshold
	// and max_outage_alert_list_size.
	OutageTTL     time.Duration
	MinorOutage   int
	MajorOutage   int
	MaxOutageList int
	// LogToConsole is alerting_args.log_to_console: each alert is logged too.
	LogToConsole bool
	// DailyReportFrequency is alerting_args.daily_report_frequency (0:
	// LiteLLM's 12 h).
	DailyReportFrequency time.Duration
	// SpendReportDays is spend_report_frequency ("7d": 7; 0: unset, 7):
	// the spend_reports period in days.
	SpendReportDays int
}

// On reports whether alerts of this type are raised.
func (a *Alerting) On(alertType string) bool { return a.Slack && a.Types[alertType] }

// alertingKey reads one of general_settings' alerting keys.
func (p *parser) alertingKey(a *Alerting, key string, n *yaml.Node, path string) {
	switch key {
	case "alerting":
		names, _ := p.strList(n, path)
		for i, name := range names {
			switch name {
			case "slack":
				a.Slack = true
			default:
				p.warnAt(n, fmt.Sprintf("%s[%d]", path, i), "alerting %q: accepted, not implemented yet; implemented: slack (and Slack-compatible webhooks: Discord's /slack, Microsoft Teams)", name)
			}
		}
	case "spend_report_frequency":
		// LiteLLM: int(frequency[:-1]) days, the last character "d".
		if v, ok := p.str(n, path); ok {
			days, err := strconv.Atoi(strings.TrimSpace(v[:max(len(v)-1, 0)]))
			if !strings.HasSuffix(strings.ToLower(v), "d") || err != nil || days < 1 || days > 3650 {
				p.errAt(n, path, "must be a number of days such as \"7d\" (1d to 3650d), got %q", v)
				return
			}
			a.SpendReportDays = days
		}
	case "alerting_threshold":
		if f, ok := p.positive(n, path); ok {
			a.Threshold = time.Duration(min(f, 86400) * float64(time.Second))
		}
	case "alert_types":
		names, _ := p.strList(n, path)
		a.Types = map[string]bool{}
		for i, name := range names {
			if _, ok := knownAlertTypes[name]; !ok {
				p.errAt(n, fmt.Sprintf("%s[%d]", path, i), "unknown alert type %q; LiteLLM's are %s", name, strings.Join(sortedKeys(knownAlertTypes), ", "))
				continue
			}
			if !implementedAlertTypes[name] {
				p.warnAt(n, fmt.Sprintf("%s[%d]", path, i), "alert type %q: accepted, not implemented yet; implemented: %s", name, strings.Join(sortedKeys(implementedAlertTypes), ", "))
			}
			a.Types[name] = true
		}
	case "alert_to_webhook_url":
		es, ok := p.mapping(n, path)
		if !ok {
			return
		}
		a.URLs = map[string][]string{}
		for _, e := range es {
			kp := joinKey(path, e.Key)
			if _, ok := knownAlertTypes[e.Key]; !ok {
				p.errAt(e.Value, kp, "unknown alert type %q", e.Key)
				continue
			}
			var urls []string
			if d := deref(e.Value); d != nil && d.Kind == yaml.SequenceNode {
				urls, _ = p.strList(e.Value, kp)
			} else if s, ok := p.str(e.Value, kp); ok {
				urls = []string{s}
			}
			for _, u := range urls {
				if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
					p.errAt(e.Value, kp, "must be an http(s) webhook URL")
					urls = nil
					break
				}
			}
			if len(urls) > 0 {
				a.URLs[e.Key] = urls
			}
		}
	case "alerting_args":
		es, ok := p.mapping(n, path)
		if !ok {
			return
		}
		for _, e := range es {
			kp := joinKey(path, e.Key)
			switch e.Key {
			case "outage_alert_ttl":
				if f, ok := p.positive(e.Value, kp); ok {
					a.OutageTTL = time.Duration(min(f, 86400) * float64(time.Second))
				}
			case "minor_outage_alert_threshold", "major_outage_alert_threshold", "max_outage_alert_list_size":
				x, ok := p.nonNegInt(e.Value, kp)
				if !ok {
					continue
				}
				if x < 1 || x > 1_000_000 {
					p.errAt(e.Value, kp, "must be between 1 and 1000000, got %d", x)
					continue
				}
				switch e.Key {
				case "minor_outage_alert_threshold":
					a.MinorOutage = int(x)
				case "major_outage_alert_threshold":
					a.MajorOutage = int(x)
				default:
					a.MaxOutageList = int(x)
				}
			case "log_to_console":
				a.LogToConsole, _ = p.bool(e.Value, kp)
			case "daily_report_frequency":
				if f, ok := p.positive(e.Value, kp); ok {
					a.DailyReportFrequency = time.Duration(min(f, 366*86400) * float64(time.Second))
				}
			default:
				p.warnAt(e.Value, kp, "alerting_args.%s: accepted, not implemented yet; implemented: outage_alert_ttl, minor_outage_alert_threshold, major_outage_alert_threshold, max_outage_alert_list_size, log_to_console, daily_report_frequency", e.Key)
			}
		}
	}
}

// alertingEnv fills the defaults and SLACK_WEBHOOK_URL once the file is read.
func (p *parser) alertingEnv(cfg *Config) {
	a := &cfg.General.Alerting
	if a.Threshold == 0 {
		a.Threshold = DefaultAlertingThreshold
	}
	if a.OutageTTL == 0 {
		a.OutageTTL = DefaultOutageAlertTTL
	}
	if a.MinorOutage == 0 {
		a.MinorOutage = DefaultMinorOutageThreshold
	}
	if a.MajorOutage == 0 {
		a.MajorOutage = DefaultMajorOutageThreshold
	}
	if a.MaxOutageList == 0 {
		a.MaxOutageList = DefaultMaxOutageAlertList
	}
	if a.Types == nil {
		a.Types = map[string]bool{}
		for t, def := range knownAlertTypes {
			if def {
				a.Types[t] = true
			}
		}
	}
	if !a.Slack {
		return
	}
	v, _ := p.lookup(EnvSlackWebhookURL)
	a.SlackWebhookURL = strings.TrimSpace(v)
	if a.SlackWebhookURL == "" && len(a.URLs) == 0 {
		p.add(SeverityWarning, 0, 0, "general_settings.alerting", "alerting \"slack\": %s is not set and alert_to_webhook_url is empty; no alerts are sent", EnvSlackWebhookURL)
	}
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}
