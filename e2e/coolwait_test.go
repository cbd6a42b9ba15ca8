package e2e

import (
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"time"
)

// cooldownWait bounds waitCooling: the chain from a failed try to a
// cooldown the request filter honours (the try's outcome, the gateway's
// join and Router.Report, the module's table push) takes milliseconds, and
// seconds on a loaded machine; no fixed sleep covers it (D178).
const cooldownWait = 20 * time.Second

// logMark is where g's log stands now: take it before the tries whose
// outcome a test then waits for (waitCooling).
func logMark(g *Gateway) int { return len(g.Stderr()) }

// waitCooling waits until, after mark, the gateway has put a deployment of
// group on cooldown ("deployment cooling down") and, when Envoy's module
// serves requests, the module has applied a table with a cooldown ("applied
// (n cooling)", n ≥ 1). The gateway pushes the table before it logs its
// line, but the two lines come from two processes (llmgate and Envoy) and
// reach the log in either order, so neither is required before the other
// (D178; session 19's first try required the module's after the gateway's and
// failed in CI). It returns the cooldown's end the gateway logged, so that a
// test can check "during the cooldown" only before it ends.
func waitCooling(t *testing.T, g *Gateway, group string, mark int) time.Time {
	t.Helper()
	deadline := time.Now().Add(cooldownWait)
	for {
		all := g.Stderr()
		module := strings.Contains(all, "llmgate module: config ")
		until, gateway := cooldownLogged(all[min(mark, len(all)):], group)
		applied := !module || moduleCooling.MatchString(all[min(mark, len(all)):])
		if gateway && until.IsZero() {
			t.Fatalf("the gateway's cooldown line of group %s names no end (until=):\n%s", group, g.Logs())
		}
		if gateway && applied {
			return until
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cooldown of group %s reached the request filter in %s (gateway's line: %v; module serves: %v, its table with a cooldown: %v):\n%s",
				group, cooldownWait, gateway, module, applied, g.Logs())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// moduleCooling is the module's log line of a table with a cooldown.
var moduleCooling = regexp.MustCompile(`llmgate module: config \S+ applied \([1-9][0-9]* cooling\)`)

// waitModuleCooling waits until g's module, when it serves requests, has
// applied a table with a cooldown after mark: another instance's cooldown,
// which g's gateway hears from Redis and pushes (D67).
func waitModuleCooling(t *testing.T, g *Gateway, mark int) {
	t.Helper()
	for deadline := time.Now().Add(cooldownWait); ; time.Sleep(20 * time.Millisecond) {
		all := g.Stderr()
		if !strings.Contains(all, "llmgate module: config ") || moduleCooling.MatchString(all[min(mark, len(all)):]) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the module applied no table with a cooldown in %s:\n%s", cooldownWait, g.Logs())
		}
	}
}

// cooldownLogged finds the last "deployment cooling down" line of group in
// logs (text or JSON) and the cooldown's end it names.
func cooldownLogged(logs, group string) (until time.Time, ok bool) {
	for _, line := range strings.Split(logs, "\n") {
		if !strings.Contains(line, "deployment cooling down") {
			continue
		}
		var u string
		if strings.HasPrefix(line, "{") {
			var rec struct{ Msg, Group, Until string }
			if json.Unmarshal([]byte(line), &rec) != nil || rec.Msg != "deployment cooling down" || rec.Group != group {
				continue
			}
			u = rec.Until
		} else {
			if !strings.Contains(line, `msg="deployment cooling down"`) || !strings.Contains(line, " group="+group+" ") {
				continue
			}
			_, u, _ = strings.Cut(line, " until=")
			u, _, _ = strings.Cut(u, " ")
		}
		if t, err := time.Parse(time.RFC3339Nano, u); err == nil {
			until = t
		}
		ok = true
	}
	return until, ok
}

// sendWhileCooling sends up to rounds batches of requests (send) while a
// cooldown lasts and returns their replies and count() (what the cooling
// deployment has received) read after the last batch that ended before
// until: a request routed after the cooldown's end may go to the deployment
// again, so the test checks the cooling only up to then. It fails the test
// when no batch ended before until.
func sendWhileCooling(t *testing.T, until time.Time, rounds int, send func(round int) []reply, count func() int64) ([]reply, int64) {
	t.Helper()
	var rs []reply
	var seen int64
	checked := false
	for round := 0; round < rounds && time.Now().Before(until); round++ {
		batch := send(round)
		if !time.Now().Before(until) {
			break
		}
		rs, seen, checked = append(rs, batch...), count(), true
	}
	if !checked {
		t.Fatalf("the cooldown (until %s) was over before a request could be checked", until.Format(time.RFC3339Nano))
	}
	return rs, seen
}

// waitReported waits until the gateway has reported n tries of deployment
// id (litellm_deployment_total_requests_total on /metrics; the config names the
// prometheus callback). The router has
// recorded a try (Router.Report: cooldowns, spend against budgets) before
// the outcome bus hands it to the metrics sink, on both request paths, so
// a count on /metrics means the router state is there too (D178).
func waitReported(t *testing.T, g *Gateway, id string, n int64) {
	t.Helper()
	label := `model_id="` + id + `"`
	var got float64
	for deadline := time.Now().Add(cooldownWait); ; time.Sleep(50 * time.Millisecond) {
		_, _, body := do(t, "GET", g.URL+"/metrics", master, "")
		if got = metricSum(body, "litellm_deployment_total_requests_total", label); got >= float64(n) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the gateway reported %v tries of %s in %s, want %d:\n%s", got, id, cooldownWait, n, g.Logs())
		}
	}
}
