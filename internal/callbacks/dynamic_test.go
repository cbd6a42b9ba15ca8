package callbacks

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// Key- and team-based logging from metadata, in LiteLLM's order: the key's
// "logging", the team's "logging", the team's "callback_settings", else
// default_team_settings. A key's Langfuse credentials send its requests to
// its project instead of the global one; generic_api named there adds the
// global webhook; an os.environ/ reference in the variables is refused.
func TestKeyAndTeamMetadataLogging(t *testing.T) {
	global, own, teamLF, hook := &receiver{status: 207}, &receiver{status: 207}, &receiver{status: 207}, &receiver{}
	gSrv, oSrv, tSrv, hSrv := httptest.NewServer(global), httptest.NewServer(own), httptest.NewServer(teamLF), httptest.NewServer(hook)
	defer gSrv.Close()
	defer oSrv.Close()
	defer tSrv.Close()
	defer hSrv.Close()
	keyMD := map[string]map[string]any{
		"k-own": {"logging": []any{map[string]any{"callback_name": "langfuse", "callback_type": "success",
			"callback_vars": map[string]any{"langfuse_public_key": "pk-own", "langfuse_secret_key": "sk-own", "langfuse_host": oSrv.URL}}}},
		"k-env": {"logging": []any{map[string]any{"callback_name": "langfuse",
			"callback_vars": map[string]any{"langfuse_public_key": "os.environ/PK", "langfuse_secret_key": "os.environ/SK"}}}},
	}
	teamMD := map[string]map[string]any{
		"t-settings": {"callback_settings": map[string]any{"success_callback": []any{"generic_api"}, "callback_vars": map[string]any{}}},
		"t-logging":  {"logging": []any{map[string]any{"callback_name": "generic_api", "callback_type": "failure"}}},
	}
	m := New(nil)
	m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour,
		Langfuse: &LangfuseSettings{Events: Events{Success: true}, Host: gSrv.URL, PublicKey: "pk-g", SecretKey: "sk-g"},
		Generic:  &GenericSettings{Endpoint: hSrv.URL}, // no global events: only the requests' own lists
		// default_team_settings of t-logging: its metadata wins.
		Teams: map[string]*LangfuseSettings{"t-logging": {Events: Events{Success: true, Failure: true}, Host: tSrv.URL, PublicKey: "pk-t", SecretKey: "sk-t"}},
		Metadata: func(k, tm string) (map[string]any, map[string]any) {
			return keyMD[k], teamMD[tm]
		}})
	sink := m.Sink()
	send := func(id, key, team string, status int) {
		tr := sampleTry(id, status)
		tr.KeyHash, tr.TeamID = key, team
		sink(tr)
	}
	send("own-ok", "k-own", "t-logging", 200) // the key's logging wins over its team's
	send("own-bad", "k-own", "", 500)         // the key logs successes; the global langfuse logs successes only
	send("env-ok", "k-env", "", 200)          // refused credentials: the global project
	send("set-ok", "k-none", "t-settings", 200)
	send("log-ok", "", "t-logging", 200)
	send("log-bad", "", "t-logging", 500)
	send("plain", "k-none", "", 200)
	m.Close()

	joined := func(r *receiver) (string, []string) {
		bodies, hdrs := r.posts()
		var all string
		var auth []string
		for i, b := range bodies {
			all += string(b)
			auth = append(auth, hdrs[i].Get("Authorization"))
		}
		return all, auth
	}
	basic := func(u string) string { return "Basic " + base64.StdEncoding.EncodeToString([]byte(u)) }
	for _, c := range []struct {
		name string
		r    *receiver
		auth string
		in   []string
		out  []string
	}{
		{"the key's project", own, basic("pk-own:sk-own"), []string{"own-ok"}, []string{"own-bad", "env-ok", "plain", "log-ok"}},
		{"the global project", global, basic("pk-g:sk-g"), []string{"env-ok", "plain", "set-ok", "log-ok"}, []string{"own-ok", "own-bad"}},
		{"default_team_settings' project", teamLF, "", nil, []string{"log-ok", "log-bad", "own-ok"}},
		{"the webhook", hook, "", []string{"set-ok", "log-bad"}, []string{"log-ok", "plain", "own-ok", "env-ok"}},
	} {
		all, auth := joined(c.r)
		for _, id := range c.in {
			if !strings.Contains(all, `"`+id+`"`) {
				t.Errorf("%s: no event of %s", c.name, id)
			}
		}
		for _, id := range c.out {
			if strings.Contains(all, `"`+id+`"`) {
				t.Errorf("%s: got %s", c.name, id)
			}
		}
		for _, a := range auth {
			if c.auth != "" && a != c.auth {
				t.Errorf("%s: auth %q", c.name, a)
			}
		}
	}
	names := map[string]bool{}
	for _, st := range m.Stats() {
		names[st.Name] = true
	}
	if !names["langfuse/key:k-own"] {
		t.Errorf("no sender for the key's project: %v", names)
	}
}

// The Langfuse projects metadata opens are bounded: past the bound their
// events are dropped and counted.
func TestDynamicProjectsBounded(t *testing.T) {
	m := New(nil)
	m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, Metadata: func(k, _ string) (map[string]any, map[string]any) {
		return map[string]any{"logging": []any{map[string]any{"callback_name": "langfuse",
			"callback_vars": map[string]any{"langfuse_public_key": k, "langfuse_secret_key": "s", "langfuse_host": "http://127.0.0.1:1"}}}}, nil
	}})
	sink := m.Sink()
	for i := 0; i < maxDynamicProjects+10; i++ {
		tr := sampleTry("x", 200)
		tr.KeyHash = fmt.Sprintf("%03d", i) + strings.Repeat("k", 40)
		tr.Answer = outcome.AnswerSent
		sink(tr)
	}
	n, over := 0, uint64(0)
	for _, st := range m.Stats() {
		if strings.HasPrefix(st.Name, "langfuse/key:") {
			n++
		}
		if st.Name == dynamicOverflow {
			over = st.Dropped
		}
	}
	m.Close()
	if n != maxDynamicProjects || over != 10 {
		t.Fatalf("%d project senders, %d overflow drops; want %d and 10", n, over, maxDynamicProjects)
	}
}

// otel named only by a team's lists (default_team_settings): the team's
// tries are exported, no other request's.
func TestTeamOTelOnly(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }))
	defer srv.Close()
	m := New(nil)
	m.Configure(Settings{FlushInterval: time.Hour, BatchSize: 1000, TeamOTel: map[string]bool{"team-1": true},
		OTel: &OTelSettings{Protocol: "http/protobuf", Endpoint: srv.URL + "/v1/traces", TeamsOnly: true}})
	sink := m.Sink()
	for i, team := range []string{"team-1", "team-2", "", "team-1"} {
		tr := sampleTry(fmt.Sprintf("c%d", i), 200)
		tr.TeamID = team
		sink(tr)
	}
	m.Close()
	for _, st := range m.Stats() {
		if st.Name == OTel && st.Sent != 2 {
			t.Fatalf("%d tries exported, want team-1's 2", st.Sent)
		}
	}
}
