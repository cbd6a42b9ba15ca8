package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestRealtime (D159): LiteLLM's Realtime API through Envoy with a real
// WebSocket client (coder/websocket), on both request filters. A session
// on /v1/realtime and /realtime reaches the OpenAI deployment at
// /v1/realtime?model=<its model> with its own bearer key, an Azure one at
// LiteLLM's beta or GA path with its api-key (realtime_protocol and the
// client's OpenAI-Beta choose), never with the client's key; events pass
// both ways (compression offered by the client and accepted by the
// provider is not negotiated: the observer reads the frames); a virtual
// key's session costs it its response.done usage at the deployment's
// prices; refused keys and bad requests get OpenAI error JSON, no upgrade,
// and never reach the provider.
func TestRealtime(t *testing.T) {
	const oaKey, azKey = "sk-openai-realtime", "azure-realtime-key"
	fake := fakeprovider.StartT(t, fakeprovider.Options{APIKeys: []string{oaKey, azKey}})
	const inPrice, outPrice = 5e-06, 2e-05
	for _, c := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"ext_proc", extProcArgs}} {
		t.Run(c.name, func(t *testing.T) {
			fake.Reset()
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-rt
    litellm_params: {model: openai/gpt-4o-realtime-preview, api_base: %[1]s/v1, api_key: %[2]s}
    model_info: {input_cost_per_token: %[4]g, output_cost_per_token: %[5]g}
  - model_name: azure-rt
    litellm_params: {model: azure/my-rt-deployment, api_base: %[1]s, api_key: %[3]s, api_version: 2025-04-01-preview}
  - model_name: azure-rt-ga
    litellm_params: {model: azure/my-rt-ga, api_base: %[1]s, api_key: %[3]s, realtime_protocol: GA}
  - model_name: claude-only
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_key: sk-ant}
general_settings:
  master_key: %[6]s
`, fake.URL(), oaKey, azKey, inPrice, outPrice, master), c.args, "LLMGATE_DATA_DIR="+t.TempDir())
			wsURL := "ws" + strings.TrimPrefix(g.URL, "http")
			k := keyAPI{t, g}
			dial := func(path, key string, beta bool) (*websocket.Conn, *http.Response, error) {
				h := http.Header{}
				if key != "" {
					h.Set("Authorization", "Bearer "+key)
				}
				if beta {
					h.Set("OpenAI-Beta", "realtime=v1")
				}
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				return websocket.Dial(ctx, wsURL+path, &websocket.DialOptions{HTTPHeader: h, CompressionMode: websocket.CompressionContextTakeover})
			}
			read := func(conn *websocket.Conn) map[string]any {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				_, b, err := conn.Read(ctx)
				if err != nil {
					t.Fatalf("read an event: %v\n%s", err, g.Logs())
				}
				var ev map[string]any
				if err := json.Unmarshal(b, &ev); err != nil {
					t.Fatalf("event %q: %v", b, err)
				}
				return ev
			}
			write := func(conn *websocket.Conn, v string) {
				t.Helper()
				ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
				defer cancel()
				if err := conn.Write(ctx, websocket.MessageText, []byte(v)); err != nil {
					t.Fatalf("write %s: %v", v, err)
				}
			}
			// session runs one conversation turn per text and returns the
			// session's model and the text answers.
			session := func(path, key string, beta bool, texts ...string) (string, []string) {
				t.Helper()
				conn, resp, err := dial(path, key, beta)
				if err != nil {
					var body []byte
					if resp != nil {
						body, _ = io.ReadAll(resp.Body)
					}
					t.Fatalf("dial %s: %v %s\n%s", path, err, body, g.Logs())
				}
				defer conn.Close(websocket.StatusNormalClosure, "")
				conn.SetReadLimit(4 << 20) // the audio deltas
				created := read(conn)
				if created["type"] != "session.created" {
					t.Fatalf("first event %v, want session.created", created)
				}
				model, _ := created["session"].(map[string]any)["model"].(string)
				var answers []string
				for _, text := range texts {
					write(conn, `{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"`+text+`"}]}}`)
					if ev := read(conn); ev["type"] != "conversation.item.created" {
						t.Fatalf("event %v, want conversation.item.created", ev)
					}
					write(conn, `{"type":"response.create"}`)
					for {
						ev := read(conn)
						if d, ok := ev["delta"].(string); ok && strings.HasSuffix(ev["type"].(string), "text.delta") {
							answers = append(answers, d)
						}
						if ev["type"] == "response.done" {
							break
						}
					}
				}
				return model, answers
			}
			last := func(path string) fakeprovider.Recorded {
				t.Helper()
				var out fakeprovider.Recorded
				found := false
				for _, r := range fake.Requests() {
					if r.Path == path {
						out, found = r, true
					}
				}
				if !found {
					t.Fatalf("the provider got no handshake on %s", path)
				}
				return out
			}
			noClientSecrets := func(r fakeprovider.Recorded, key string) {
				t.Helper()
				for name, vs := range r.Header {
					for _, v := range vs {
						if strings.Contains(v, key) || strings.HasPrefix(strings.ToLower(name), "x-llmgate-") {
							t.Errorf("the provider got %s: %s", name, v)
						}
					}
				}
				if r.Header.Get("Sec-WebSocket-Extensions") != "" {
					t.Errorf("compression offered to the provider: %q (the observer could not read the frames)", r.Header.Get("Sec-WebSocket-Extensions"))
				}
			}

			// The master key, OpenAI deployment, beta client.
			model, answers := session("/v1/realtime?model=gpt-rt", master, true, "hello")
			if model != "gpt-4o-realtime-preview" || len(answers) != 1 || answers[0] != "echo: hello" {
				t.Errorf("session model %q, answers %q", model, answers)
			}
			r := last("/v1/realtime")
			if r.Query != "model=gpt-4o-realtime-preview" || r.Header.Get("Authorization") != "Bearer "+oaKey || r.Header.Get("OpenAI-Beta") != "realtime=v1" {
				t.Errorf("OpenAI handshake: query %q, authorization %q, openai-beta %q", r.Query, r.Header.Get("Authorization"), r.Header.Get("OpenAI-Beta"))
			}
			noClientSecrets(r, master)

			// A virtual key on /realtime, Azure: beta path for a beta client, GA otherwise or with realtime_protocol: GA.
			key, _ := k.generate(`{"max_budget": 10}`)
			if model, _ := session("/realtime?model=azure-rt", key, true, "hi"); model != "my-rt-deployment" {
				t.Errorf("Azure beta session model %q", model)
			}
			r = last("/openai/realtime")
			if r.Query != "api-version=2025-04-01-preview&deployment=my-rt-deployment" || r.Header.Get("api-key") != azKey || r.Header.Get("Authorization") != "" {
				t.Errorf("Azure beta handshake: query %q, api-key %q, authorization %q", r.Query, r.Header.Get("api-key"), r.Header.Get("Authorization"))
			}
			noClientSecrets(r, key)
			session("/v1/realtime?model=azure-rt", key, false)
			if r = last("/openai/v1/realtime"); r.Query != "model=my-rt-deployment" || r.Header.Get("api-key") != azKey {
				t.Errorf("Azure GA handshake: query %q, api-key %q", r.Query, r.Header.Get("api-key"))
			}
			fake.Reset()
			session("/v1/realtime?model=azure-rt-ga", key, true)
			if r = last("/openai/v1/realtime"); r.Query != "model=my-rt-ga" {
				t.Errorf("realtime_protocol GA: query %q", r.Query)
			}

			// The virtual key's OpenAI session: two responses, priced.
			spender, token := k.generate(`{"max_budget": 10}`)
			session("/v1/realtime?model=gpt-rt", spender, false, "one", "two")
			want := 2 * (120*inPrice + 60*outPrice)
			for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(100 * time.Millisecond) {
				got := k.spend(spender)
				if math.Abs(got-want) < 1e-12 {
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("key %s spend %v, want %v (two response.done usages at the deployment's prices)\n%s", token, got, want, g.Logs())
				}
			}

			// Refused before the upgrade, with OpenAI error JSON; the provider never called.
			poor, _ := k.generate(`{"max_budget": 0.0000001}`)
			session("/v1/realtime?model=gpt-rt", poor, false, "spend it")
			for deadline := time.Now().Add(10 * time.Second); k.spend(poor) == 0; time.Sleep(100 * time.Millisecond) {
				if time.Now().After(deadline) {
					t.Fatalf("no spend on the poor key")
				}
			}
			blocked, _ := k.generate(`{}`)
			if st, m := k.call("POST", "/key/block", master, `{"key":"`+blocked+`"}`); st != 200 {
				t.Fatalf("/key/block: %d %v", st, m)
			}
			other, _ := k.generate(`{"models": ["azure-rt"]}`)
			handshakes := fake.Count("/v1/realtime") + fake.Count("/openai/realtime") + fake.Count("/openai/v1/realtime")
			for _, c := range []struct {
				path, key string
				status    int
				msg       string
			}{
				{"/v1/realtime?model=gpt-rt", "", 401, "No api key passed in"},
				{"/v1/realtime?model=gpt-rt", "sk-wrong", 401, "Authentication Error"},
				{"/v1/realtime?model=gpt-rt", blocked, 401, "Key is blocked"},
				{"/v1/realtime?model=gpt-rt", other, 401, "API Key not allowed to access model"},
				{"/v1/realtime?model=gpt-rt", poor, 400, "Budget has been exceeded"},
				{"/v1/realtime?model=nope", master, 400, "Invalid model name passed in model=nope"},
				{"/v1/realtime", master, 400, "model query parameter is required"},
				{"/v1/realtime?model=claude-only", master, 400, "no openai or azure deployment"},
			} {
				conn, resp, err := dial(c.path, c.key, false)
				if err == nil {
					conn.CloseNow()
					t.Errorf("%s with %q: upgraded, want %d", c.path, c.key, c.status)
					continue
				}
				if resp == nil {
					t.Errorf("%s with %q: %v, no answer", c.path, c.key, err)
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				var e struct {
					Error struct {
						Message string `json:"message"`
					} `json:"error"`
				}
				if resp.StatusCode != c.status || json.Unmarshal(body, &e) != nil || !strings.Contains(e.Error.Message, c.msg) ||
					resp.Header.Get("Content-Type") != "application/json" {
					t.Errorf("%s with %q: %d %s %q, want %d OpenAI JSON with %q", c.path, c.key, resp.StatusCode, resp.Header.Get("Content-Type"), body, c.status, c.msg)
				}
			}
			if n := fake.Count("/v1/realtime") + fake.Count("/openai/realtime") + fake.Count("/openai/v1/realtime"); n != handshakes {
				t.Errorf("refused sessions reached the provider: %d handshakes, want %d", n, handshakes)
			}
		})
	}
}

// TestRealtimeIdle (D159): a session that passes no frame either way for
// the router's stream_timeout is ended by Envoy (the route's idle
// timeout); the client's read ends with the connection, not its own
// deadline.
func TestRealtimeIdle(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-rt
    litellm_params: {model: openai/gpt-4o-realtime-preview, api_base: %[1]s/v1, api_key: sk-p}
router_settings:
  stream_timeout: 1
general_settings:
  master_key: %[2]s
`, fake.URL(), master), extProcArgs)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/v1/realtime?model=gpt-rt",
		&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + master}}})
	if err != nil {
		t.Fatalf("dial: %v\n%s", err, g.Logs())
	}
	defer conn.CloseNow()
	if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"session.created"`) {
		t.Fatalf("first event %q, %v", b, err)
	}
	_, b, err := conn.Read(ctx) // nothing more is sent either way
	if err == nil || ctx.Err() != nil {
		t.Fatalf("an idle session still open: %q, %v (context: %v)", b, err, ctx.Err())
	}
}

// TestRealtimeTLS (D164): a session to an https deployment goes through the
// realtime TLS cluster (one for every host, addressed per session): the
// provider's certificate is checked against the deployment's host (the
// session's :authority) with ssl_verify's CA — the session to 127.0.0.1,
// which the certificate names, is served with the deployment's key; the
// same server named localhost, which it does not name, is refused before
// the provider gets a handshake.
func TestRealtimeTLS(t *testing.T) {
	pki := newTestPKI(t)
	serverCert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	const key = "sk-realtime-tls"
	fake := startTLSFake(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
	other := strings.Replace(fake.URL, "127.0.0.1", "localhost", 1)
	g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-rt
    litellm_params: {model: openai/gpt-4o-realtime-preview, api_base: %[1]s/v1, api_key: %[3]s}
  - model_name: gpt-rt-misnamed
    litellm_params: {model: openai/gpt-4o-realtime-preview, api_base: %[2]s/v1, api_key: %[3]s}
litellm_settings:
  ssl_verify: %[4]s
general_settings:
  master_key: %[5]s
`, fake.URL, other, key, pki.CA, master), extProcArgs)
	wsURL := "ws" + strings.TrimPrefix(g.URL, "http")
	dial := func(group string) (*websocket.Conn, *http.Response, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return websocket.Dial(ctx, wsURL+"/v1/realtime?model="+group, &websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + master}}})
	}
	conn, resp, err := dial("gpt-rt")
	if err != nil {
		var body []byte
		if resp != nil {
			body, _ = io.ReadAll(resp.Body)
		}
		t.Fatalf("dial: %v %s\n%s", err, body, g.Logs())
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"session.created"`) {
		t.Fatalf("first event %q, %v", b, err)
	}
	conn.Close(websocket.StatusNormalClosure, "")
	rs := fake.Requests()
	if len(rs) != 1 || rs[0].Path != "/v1/realtime" || rs[0].Header.Get("Authorization") != "Bearer "+key {
		t.Fatalf("the provider got %d handshakes (%v), want one on /v1/realtime with the deployment's key", len(rs), rs)
	}
	fake.Reset()
	conn, resp, err = dial("gpt-rt-misnamed")
	if err == nil {
		conn.CloseNow()
		t.Fatalf("a session to a host the certificate does not name was upgraded")
	}
	if resp == nil || resp.StatusCode < 500 {
		t.Errorf("misnamed host: %v, %v; want a 5xx", resp, err)
	}
	if n := len(fake.Requests()); n != 0 {
		t.Errorf("the deployment's key went to a host whose certificate does not name it (%d handshakes)", n)
	}
}

// TestRealtimeClientMessageBound (D164): a client's message longer than
// LiteLLM's server takes (uvicorn's ws_max_size, 16 MiB) ends the session
// and never reaches the provider, on both request filters; shorter ones
// pass as before.
func TestRealtimeClientMessageBound(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	for _, c := range []struct {
		name string
		args []string
	}{{"module", moduleArgs}, {"ext_proc", extProcArgs}} {
		t.Run(c.name, func(t *testing.T) {
			g := startGatewayArgs(t, fmt.Sprintf(`
model_list:
  - model_name: gpt-rt
    litellm_params: {model: openai/gpt-4o-realtime-preview, api_base: %[1]s/v1, api_key: sk-p}
general_settings:
  master_key: %[2]s
`, fake.URL(), master), c.args)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			conn, _, err := websocket.Dial(ctx, "ws"+strings.TrimPrefix(g.URL, "http")+"/v1/realtime?model=gpt-rt",
				&websocket.DialOptions{HTTPHeader: http.Header{"Authorization": {"Bearer " + master}}})
			if err != nil {
				t.Fatalf("dial: %v\n%s", err, g.Logs())
			}
			defer conn.CloseNow()
			conn.SetReadLimit(64 << 20)
			event := func(text string) []byte {
				return []byte(`{"type":"conversation.item.create","item":{"type":"message","role":"user","content":[{"type":"input_text","text":"` + text + `"}]}}`)
			}
			if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"session.created"`) {
				t.Fatalf("first event %q, %v", b, err)
			}
			if err := conn.Write(ctx, websocket.MessageText, event("hello")); err != nil {
				t.Fatal(err)
			}
			if _, b, err := conn.Read(ctx); err != nil || !strings.Contains(string(b), `"conversation.item.created"`) {
				t.Fatalf("a short message: %q, %v\n%s", b, err, g.Logs())
			}
			const bound = 16 << 20
			pad := bound + 1 - len(event(""))
			_ = conn.Write(ctx, websocket.MessageText, event(strings.Repeat("a", pad))) // the session may end while it is written
			_, b, err := conn.Read(ctx)
			if err == nil {
				t.Fatalf("a message of %d bytes passed: the session answered %.80q", bound+1, b)
			}
			if ctx.Err() != nil {
				t.Fatalf("the session was not ended (the client's read timed out)")
			}
		})
	}
}
