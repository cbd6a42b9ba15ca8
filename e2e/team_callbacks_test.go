package e2e

import (
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
	"github.com/llmgate/llmgate/internal/fakes3"
)

// Team-based logging (litellm_settings.default_team_settings): the requests
// of a key in team-1 reach the team's callbacks; a request with the master
// key (no team) does not.

// teamRequests starts a gateway with one group on a fake provider and the
// given litellm_settings, makes team-1 (/team/new with teamJSON, default
// {"team_id":"team-1"}) and a key in it, and sends one request with that
// key and one with the master key: their call ids.
func teamRequests(t *testing.T, litellmSettings, teamJSON string, env ...string) (teamCall, otherCall string) {
	t.Helper()
	return teamRequestsAfter(t, litellmSettings, teamJSON, nil, env...)
}

// teamRequestsAfter is teamRequests with after called once team-1 exists,
// before its requests (a management call that changes its callbacks).
func teamRequestsAfter(t *testing.T, litellmSettings, teamJSON string, after func(keyAPI), env ...string) (teamCall, otherCall string) {
	t.Helper()
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
litellm_settings:
%[3]s
general_settings:
  master_key: %[2]s
`, fake.URL(), master, litellmSettings)
	g := startGateway(t, cfg, append(env, "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2", "DEFAULT_S3_FLUSH_INTERVAL_SECONDS=0.2",
		"LLMGATE_DATA_DIR="+t.TempDir())...)
	k := keyAPI{t: t, g: g}
	if teamJSON == "" {
		teamJSON = `{"team_id":"team-1"}`
	}
	if st, m := k.call("POST", "/team/new", master, teamJSON); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	if after != nil {
		after(k)
	}
	key, _ := k.generate(`{"team_id":"team-1"}`)
	return newKeyCall(t, k, key), masterCall(t, k)
}

// newKeyCall makes a request with a key just generated (retried for up to
// 10 s: the module may not hold the new key yet) and returns its call id.
func newKeyCall(t *testing.T, k keyAPI, key string) string {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, _, h := k.chat(key, "gpt-x")
		if st == 200 {
			return h.Get("x-litellm-call-id")
		}
		if time.Now().After(deadline) {
			t.Fatalf("request with the new key: %d", st)
		}
	}
}

// masterCall makes a request with the master key and returns its call id.
func masterCall(t *testing.T, k keyAPI) string {
	t.Helper()
	st, _, h := k.chat(master, "gpt-x")
	if st != 200 {
		t.Fatalf("master request: %d", st)
	}
	return h.Get("x-litellm-call-id")
}

// settled polls read until its answer contains want (waitUntil), then
// waits receiverSettle — an event of the other request would have come by
// then — and returns read's last answer.
func settled(t *testing.T, read func() string, want string) string {
	t.Helper()
	all := waitUntil(t, nil, "the receiver", func() ([]string, []string, bool) {
		s := read()
		return []string{s}, nil, strings.Contains(s, want)
	})
	return all[0]
}

// joined reads a collector's bodies as one string.
func (c *collector) joined() string {
	bodies, _ := c.snapshot()
	all := ""
	for _, b := range bodies {
		all += string(b)
	}
	return all
}

// checkTeamProject waits for the team's request to reach the team's Langfuse
// project (lf) and checks that the master key's request did not, and that
// every ingestion call carried the team's credentials.
func checkTeamProject(t *testing.T, lf *collector, teamCall, otherCall, public, secret string) {
	t.Helper()
	all := settled(t, lf.joined, teamCall)
	if !strings.Contains(all, `"traceId":"`+teamCall+`"`) {
		t.Fatalf("the team's project got no event of its request %s: %s", teamCall, all)
	}
	if strings.Contains(all, otherCall) {
		t.Errorf("the team's project got the master key's request %s", otherCall)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte(public+":"+secret))
	_, auths := lf.snapshot()
	for _, a := range auths {
		if a != want {
			t.Errorf("auth %q, want the team's credentials (%s)", a, public)
		}
	}
}

// TestTeamBasedLangfuseLogging: the team's requests reach the team's
// Langfuse project with the team's credentials.
func TestTeamBasedLangfuseLogging(t *testing.T) {
	lf := &collector{}
	lfSrv := httptest.NewServer(lf)
	defer lfSrv.Close()
	teamCall, otherCall := teamRequests(t, fmt.Sprintf(`
  default_team_settings:
    - team_id: team-1
      success_callback: ["langfuse"]
      langfuse_public_key: os.environ/LF_TEAM1_PUBLIC
      langfuse_secret: os.environ/LF_TEAM1_SECRET
      langfuse_host: %s`, lfSrv.URL), "", "LF_TEAM1_PUBLIC=pk-team1", "LF_TEAM1_SECRET=sk-team1")
	checkTeamProject(t, lf, teamCall, otherCall, "pk-team1", "sk-team1")
}

// TestTeamGenericAPILogging (D58): a team whose success_callback names
// generic_api has its requests logged to GENERIC_LOGGER_ENDPOINT although
// the global lists do not name it (LiteLLM adds a team's callbacks to its
// requests'). With the request filter in ext_proc and in the module.
func TestTeamGenericAPILogging(t *testing.T) {
	for _, mode := range []string{"extproc", "module"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("LLMGATE_REQUEST_FILTER", mode)
			hook := &collector{}
			hookSrv := httptest.NewServer(hook)
			defer hookSrv.Close()
			teamCall, otherCall := teamRequests(t, `
  default_team_settings:
    - team_id: team-1
      success_callback: ["generic_api"]`, "", "GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log")
			all := settled(t, hook.joined, teamCall)
			if !strings.Contains(all, `"id":"`+teamCall+`"`) || !strings.Contains(all, `"user_api_key_team_id":"team-1"`) {
				t.Fatalf("the webhook got no event of the team's request %s: %s", teamCall, all)
			}
			if strings.Contains(all, otherCall) {
				t.Errorf("the webhook got the master key's request %s", otherCall)
			}
		})
	}
}

// TestTeamS3Logging (D64): a team whose success_callback names s3 has its
// requests written to the s3_callback_params bucket although the global
// lists do not name s3; the master key's request is not written.
func TestTeamS3Logging(t *testing.T) {
	s3 := fakes3.Start(t, "team-logs")
	teamCall, otherCall := teamRequests(t, fmt.Sprintf(`
  s3_callback_params:
    s3_bucket_name: team-logs
    s3_endpoint_url: %s
    s3_aws_access_key_id: AKIDTEAM
    s3_aws_secret_access_key: team-secret
  default_team_settings:
    - team_id: team-1
      success_callback: ["s3"]`, s3.URL), "")
	all := settled(t, func() string { return strings.Join(keysOf(objectsOf(t, s3, "team-logs")), " ") }, teamCall)
	objs := objectsOf(t, s3, "team-logs")
	if len(objs) != 1 || !strings.HasSuffix(all, "_"+teamCall+".json") {
		t.Fatalf("bucket %v, want the team's request %s only", keysOf(objs), teamCall)
	}
	for _, o := range objs {
		if md, _ := o["metadata"].(map[string]any); md["user_api_key_team_id"] != "team-1" {
			t.Errorf("object metadata %v", o["metadata"])
		}
	}
	if strings.Contains(all, otherCall) {
		t.Errorf("the master key's request %s was written", otherCall)
	}
}

// TestS3TeamPrefix (D74): with s3_use_team_prefix the request of a key in a
// team with a team_alias is written under s3_path/<team alias>/, as
// LiteLLM's S3Logger does; the master key's request (no team) under
// s3_path/ directly.
func TestS3TeamPrefix(t *testing.T) {
	s3 := fakes3.Start(t, "team-logs")
	teamCall, otherCall := teamRequests(t, fmt.Sprintf(`
  callbacks: ["s3_v2"]
  s3_callback_params:
    s3_bucket_name: team-logs
    s3_endpoint_url: %s
    s3_aws_access_key_id: AKIDTEAM
    s3_aws_secret_access_key: team-secret
    s3_path: logs
    s3_use_team_prefix: true`, s3.URL), `{"team_id":"team-1","team_alias":"Engineering"}`)
	read := func() string { return strings.Join(keysOf(objectsOf(t, s3, "team-logs")), " ") }
	settled(t, read, teamCall)
	all := settled(t, read, otherCall)
	day := `\d{4}-\d{2}-\d{2}/time-\d{2}-\d{2}-\d{2}-\d{6}_`
	for re, call := range map[string]string{`^logs/Engineering/` + day: teamCall, `^logs/` + day: otherCall} {
		found := false
		for _, k := range strings.Fields(all) {
			found = found || regexp.MustCompile(re+regexp.QuoteMeta(call)+`\.json$`).MatchString(k)
		}
		if !found {
			t.Errorf("no object %s%s.json in %s", re, call, all)
		}
	}
}

// TestTeamMetadataLogging (D64): a team created with LiteLLM's metadata
// "logging" (callback_name langfuse, its own langfuse_* callback_vars) has
// its requests sent to that Langfuse project with its credentials — no
// callback in the config; the master key's request is not sent there.
func TestTeamMetadataLogging(t *testing.T) {
	lf := &collector{}
	lfSrv := httptest.NewServer(lf)
	defer lfSrv.Close()
	team := fmt.Sprintf(`{"team_id":"team-1","metadata":{"logging":[{"callback_name":"langfuse","callback_type":"success",`+
		`"callback_vars":{"langfuse_public_key":"pk-meta","langfuse_secret_key":"sk-meta","langfuse_host":%q}}]}}`, lfSrv.URL)
	teamCall, otherCall := teamRequests(t, "  drop_params: false", team)
	checkTeamProject(t, lf, teamCall, otherCall, "pk-meta", "sk-meta")
}

// TestTeamOTelTracing (D64): a team whose success_callback names otel has
// its requests traced (OTEL_* variables, an in-process OTLP/gRPC
// collector) although the global lists do not name otel; the master key's
// request is not traced.
func TestTeamOTelTracing(t *testing.T) {
	col := startOTLPCollector(t)
	teamCall, otherCall := teamRequests(t, `
  default_team_settings:
    - team_id: team-1
      success_callback: ["otel"]`, "", "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+col.addr)
	checkTracedOnly(t, col, teamCall, otherCall)
}

// checkTracedOnly waits for spans of the request call (its trace id is
// the call id) and checks that the master key's request other was not
// traced.
func checkTracedOnly(t *testing.T, col *otlpCollector, call, other string) {
	t.Helper()
	traceOf := func(call string) string { return strings.ReplaceAll(call, "-", "") }
	read := func() string {
		var ids []string
		for _, s := range col.traces.snapshot() {
			ids = append(ids, hex.EncodeToString(s.TraceId))
		}
		return strings.Join(ids, " ")
	}
	all := settled(t, read, traceOf(call))
	if !strings.Contains(all, traceOf(call)) {
		t.Fatalf("no span of the request %s: %s", call, all)
	}
	if strings.Contains(all, traceOf(other)) {
		t.Errorf("the master key's request %s was traced", other)
	}
}

// TestTeamCallbackRoute (D69): LiteLLM's POST /team/{team_id}/callback on a
// running gateway gives team-1 its own Langfuse project (callback_vars): the
// team's next request reaches that project with the team's credentials, no
// reload; the master key's does not; GET shows the callback; the config
// names no callback. The credentials are stored encrypted under the master
// key (no LITELLM_SALT_KEY), opened for the team's requests (D74).
func TestTeamCallbackRoute(t *testing.T) {
	lf := &collector{}
	lfSrv := httptest.NewServer(lf)
	defer lfSrv.Close()
	teamCall, otherCall := teamRequestsAfter(t, "  drop_params: false", "", func(k keyAPI) {
		body := fmt.Sprintf(`{"callback_name":"langfuse","callback_type":"success","callback_vars":`+
			`{"langfuse_public_key":"pk-route","langfuse_secret_key":"sk-route","langfuse_host":%q}}`, lfSrv.URL)
		if st, m := k.call("POST", "/team/team-1/callback", master, body); st != 200 {
			t.Fatalf("POST /team/team-1/callback: %d %v", st, m)
		}
		if st, m := k.call("GET", "/team/team-1/callback", master, ""); st != 200 || !strings.Contains(fmt.Sprint(m), "success_callbacks:[langfuse]") ||
			strings.Contains(fmt.Sprint(m), "sk-route") || !strings.Contains(fmt.Sprint(m), "langfuse_secret_key:***REDACTED***") {
			t.Fatalf("GET /team/team-1/callback: %d %v (credentials masked, D74)", st, m)
		}
		if _, m := k.call("GET", "/team/info?team_id=team-1", master, ""); strings.Contains(fmt.Sprint(m), "sk-route") ||
			!strings.Contains(fmt.Sprint(m), "litellm_enc::") {
			t.Fatalf("/team/info: the secret is not stored encrypted (D74): %v", m)
		}
	})
	checkTeamProject(t, lf, teamCall, otherCall, "pk-route", "sk-route")
}

// TestKeyMetadataOTel (D69): otel named only in a virtual key's
// metadata.logging — the config names no callback, OTEL_* is in the
// environment — traces that key's request (an in-process OTLP/gRPC
// collector gets spans in its trace), not the master key's.
func TestKeyMetadataOTel(t *testing.T) {
	col := startOTLPCollector(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := fmt.Sprintf("model_list:\n  - model_name: gpt-x\n    litellm_params: {model: openai/gpt-4o, api_base: %s/v1, api_key: k}\ngeneral_settings:\n  master_key: %s\n", fake.URL(), master)
	g := startGateway(t, cfg, "OTEL_EXPORTER_OTLP_PROTOCOL=grpc", "OTEL_EXPORTER_OTLP_ENDPOINT=http://"+col.addr, "LLMGATE_DATA_DIR="+t.TempDir())
	k := keyAPI{t: t, g: g}
	key, _ := k.generate(`{"metadata":{"logging":[{"callback_name":"otel","callback_type":"success_and_failure","callback_vars":{}}]}}`)
	checkTracedOnly(t, col, newKeyCall(t, k, key), masterCall(t, k))
}
