package e2e

import (
	"fmt"
	"net/url"
	"strings"
	"testing"
)

// TestSecondGatewayOnTakenPort (docs/architecture.md D50): a gateway started
// on the port another gateway's Envoy serves, with the check before start
// turned off (as when both found the port free a moment apart), ends with
// exit 1 and Envoy's bind error instead of sharing the port; the first keeps
// answering with its own config. With SO_REUSEPORT both Envoys bound the
// port and the kernel spread connections between them (a parallel e2e run
// once got "Invalid model name" from another test's gateway).
func TestSecondGatewayOnTakenPort(t *testing.T) {
	first := startGateway(t, opsConfig)
	u, err := url.Parse(first.URL)
	if err != nil {
		t.Fatal(err)
	}
	second := strings.Replace(opsConfig, "model_name: gpt-ops", "model_name: second", 1)
	if second == opsConfig {
		t.Fatal("opsConfig has no model gpt-ops")
	}
	out, code := runExit(t, cliEnv(), "run", writeConfig(t, second), "--host", "127.0.0.1", "--port", u.Port(),
		"--envoy", envoyBin, "--no-bind-check", "--envoy-concurrency", "1")
	if code != 1 {
		t.Fatalf("exit %d, want 1:\n%s", code, tail(out, 3000))
	}
	want := fmt.Sprintf("envoy rejected the listener on 127.0.0.1:%s", u.Port())
	if !strings.Contains(out, want) || !strings.Contains(out, "Address already in use") {
		t.Errorf("output lacks %q and Envoy's bind error:\n%s", want, tail(out, 3000))
	}
	for i := 0; i < 10; i++ {
		code, _, b := post(t, first.URL+"/v1/chat/completions", "", `{"model":"gpt-ops","messages":[{"role":"user","content":"x"}]}`)
		if code != 200 {
			t.Fatalf("request %d to the first gateway: %d %s", i, code, b)
		}
	}
}
