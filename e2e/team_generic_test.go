package e2e

import (
	"fmt"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestTeamGenericAPILogging (D58): a default_team_settings team whose
// success_callback names generic_api has its requests logged to
// GENERIC_LOGGER_ENDPOINT although the global lists do not name it (LiteLLM
// adds a team's callbacks to its requests'); a request with the master key
// (no team) is not. With the request filter in ext_proc and in the module.
func TestTeamGenericAPILogging(t *testing.T) {
	for _, mode := range []string{"extproc", "module"} {
		t.Run(mode, func(t *testing.T) {
			t.Setenv("LLMGATE_REQUEST_FILTER", mode)
			teamGenericAPI(t)
		})
	}
}

func teamGenericAPI(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	hook := &collector{}
	hookSrv := httptest.NewServer(hook)
	defer hookSrv.Close()
	cfg := fmt.Sprintf(`
model_list:
  - model_name: gpt-x
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/v1, api_key: k}
litellm_settings:
  default_team_settings:
    - team_id: team-1
      success_callback: ["generic_api"]
general_settings:
  master_key: %[2]s
`, fake.URL(), master)
	g := startGateway(t, cfg, "GENERIC_LOGGER_ENDPOINT="+hookSrv.URL+"/log", "DEFAULT_FLUSH_INTERVAL_SECONDS=0.2",
		"LLMGATE_DATA_DIR="+t.TempDir())
	k := keyAPI{t: t, g: g}
	if st, m := k.call("POST", "/team/new", master, `{"team_id":"team-1"}`); st != 200 {
		t.Fatalf("/team/new: %d %v", st, m)
	}
	key, _ := k.generate(`{"team_id":"team-1"}`)
	var teamCall string
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(100 * time.Millisecond) {
		st, _, h := k.chat(key, "gpt-x")
		if st == 200 {
			teamCall = h.Get("x-litellm-call-id")
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("team request: %d", st)
		}
	}
	st, _, h := k.chat(master, "gpt-x")
	if st != 200 {
		t.Fatalf("master request: %d", st)
	}
	otherCall := h.Get("x-litellm-call-id")
	all := ""
	for deadline := time.Now().Add(20 * time.Second); !strings.Contains(all, teamCall) && time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		bodies, _ := hook.snapshot()
		all = ""
		for _, b := range bodies {
			all += string(b)
		}
	}
	time.Sleep(time.Second) // a post for the other request would come by now
	bodies, _ := hook.snapshot()
	all = ""
	for _, b := range bodies {
		all += string(b)
	}
	if !strings.Contains(all, `"id":"`+teamCall+`"`) || !strings.Contains(all, `"user_api_key_team_id":"team-1"`) {
		t.Fatalf("the webhook got no event of the team's request %s: %s", teamCall, all)
	}
	if strings.Contains(all, otherCall) {
		t.Errorf("the webhook got the master key's request %s", otherCall)
	}
}
