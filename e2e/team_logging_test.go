package e2e

import (
	"encoding/base64"
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestTeamBasedLangfuseLogging: default_team_settings sends the requests of
// a key in team-1 to team-1's Langfuse project, with the team's
// credentials; a request with the master key (no team) is not sent there.
func TestTeamBasedLangfuseLogging(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	lf := &collector{}
	lfSrv := httptest.NewServer(lf)
	defer lfSrv.Close()
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
litellm_settings:
  default_team_settings:
    - team_id: team-1
      success_callback: ["langfuse"]
      langfuse_public_key: os.environ/LF_TEAM1_PUBLIC
      langfuse_secret: os.environ/LF_TEAM1_SECRET
      langfuse_host: %[3]s
general_settings:
  master_key: %[2]s
`, fake.URL(), master, lfSrv.URL)
	g := startGateway(t, cfg, "LF_TEAM1_PUBLIC=pk-team1", "LF_TEAM1_SECRET=sk-team1", "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2",
		"LLMGATE_DATA_DIR="+t.TempDir())
	k := keyAPI{t: t, g: g}
	if st, m := k.call("POST", "/team/new", master, `{"team_id":"team-1"}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	key, _ := k.generate(`{"team_id":"team-1"}`)
	st, _, h := k.chat(key, "gpt-x")
	if st != 200 {
		t.Fatalf("team request: %d", st)
	}
	teamCall := h.Get("x-litellm-call-id")
	st, _, h = k.chat(master, "gpt-x")
	if st != 200 {
		t.Fatalf("master request: %d", st)
	}
	otherCall := h.Get("x-litellm-call-id")

	for deadline := time.Now().Add(20 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if bodies, _ := lf.snapshot(); len(bodies) > 0 {
			break
		}
	}
	time.Sleep(time.Second) // a post for the other request would come by now
	bodies, auths := lf.snapshot()
	all := ""
	for _, b := range bodies {
		all += string(b)
	}
	if !strings.Contains(all, `"traceId":"`+teamCall+`"`) {
		t.Fatalf("team project got no event of the team's request %s: %s", teamCall, all)
	}
	if strings.Contains(all, otherCall) {
		t.Errorf("team project got the master key's request %s", otherCall)
	}
	want := "Basic " + base64.StdEncoding.EncodeToString([]byte("pk-team1:sk-team1"))
	for _, a := range auths {
		if a != want {
			t.Errorf("auth %q, want the team's credentials", a)
		}
	}
}
