// Package ui is the gateway's admin UI, served at /ui (LiteLLM's path for
// its Admin UI): one HTML page, a stylesheet and a script, embedded in the
// binary (no build step, nothing fetched from elsewhere). The page logs in
// with the master key (kept in sessionStorage, sent as Authorization:
// Bearer) and calls the management API the gateway already serves (/key/*,
// /team/*, /model/info, /spend/logs, /global/spend/*, /health). Every
// answer carries a strict Content-Security-Policy (no inline script or
// style), nosniff and X-Frame-Options: DENY (D152).
package ui
