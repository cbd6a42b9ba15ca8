package e2e

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestModuleEnvoyCgocheckOff (D70): in module mode `llmgate run` gives
// Envoy GODEBUG=cgocheck=0 (the module's Go runtime skips its cgo pointer
// checks), and the module serves with it. The harness runs every other
// gateway with GODEBUG=cgocheck=1, so the e2e suite keeps the checks on.
func TestModuleEnvoyCgocheckOff(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, moduleConfig(fake.URL(), ""), moduleArgs, "GODEBUG=")
	waitLog(t, g, "llmgate module: config")
	if env := envoyEnviron(t, g.cmd.Process.Pid); !strings.Contains(env, "\x00GODEBUG=cgocheck=0\x00") {
		t.Errorf("Envoy's environment has no GODEBUG=cgocheck=0: %q", godebugOf(env))
	}
	before := requestFilterStreams(t, g)
	if code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt", "hi")); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	if requestFilterStreams(t, g) != before {
		t.Error("the request was not served by the module")
	}
}

// envoyEnviron is the environment (NUL-separated, NUL-framed) of the
// Envoy that llmgate (pid) started.
func envoyEnviron(t *testing.T, pid int) string {
	t.Helper()
	env, err := os.ReadFile(filepath.Join(envoyProc(t, pid), "environ"))
	if err != nil {
		t.Fatal(err)
	}
	return "\x00" + string(env)
}

func godebugOf(env string) string {
	for _, kv := range strings.Split(env, "\x00") {
		if strings.HasPrefix(kv, "GODEBUG=") {
			return kv
		}
	}
	return "(none)"
}
