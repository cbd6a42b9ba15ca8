// Package alerting raises LiteLLM's Slack alerts (general_settings.alerting:
// ["slack"]) from the outcome of each upstream try: llm_exceptions,
// llm_too_slow, cooldown_deployment and outage_alerts, posted as Slack
// incoming-webhook messages ({"text": ...}) to SLACK_WEBHOOK_URL or the
// alert type's alert_to_webhook_url.
//
// It is an outcome sink: it runs on the bus's goroutine, never on the
// request path; delivery has its own bounded queue and goroutine, so a slow
// or dead webhook drops alerts (counted) and never slows a request. It
// imports internal/outcome and client_golang only; the gateway translates
// the config into Settings.
package alerting
