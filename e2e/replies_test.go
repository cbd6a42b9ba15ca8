package e2e

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// rawHTTP writes a request as given on a new connection and reads one
// response (status, headers, body).
func rawHTTP(t *testing.T, gatewayURL, request string) (int, http.Header, []byte) {
	t.Helper()
	conn, err := net.DialTimeout("tcp", strings.TrimPrefix(gatewayURL, "http://"), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	_ = conn.SetDeadline(time.Now().Add(30 * time.Second))
	if _, err := io.WriteString(conn, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("read response: %v", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, b
}

// TestRepliesAreOpenAIJSON: errors Envoy's codec and filters make before the
// gateway sees a request are OpenAI error JSON with the right status, and
// what LiteLLM accepts (HTTP/1.0) works (issue 8, items 12 and 13).
func TestRepliesAreOpenAIJSON(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/m/v1, api_key: k}
  - model_name: slow
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/slow/v1, api_key: k}
router_settings:
  num_retries: 0
general_settings:
  master_key: %[2]s
`, fake.URL(), master))
	host := strings.TrimPrefix(g.URL, "http://")
	body := chatBody("m", "hi")
	chat := func(proto, extraHeaders string) string {
		return fmt.Sprintf("POST /v1/chat/completions %s\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n%s\r\n%s",
			proto, host, master, len(body), extraHeaders, body)
	}

	t.Run("HTTP/1.0 is served", func(t *testing.T) {
		code, _, b := rawHTTP(t, g.URL, chat("HTTP/1.0", ""))
		if code != 200 || !strings.Contains(string(b), `"chat.completion"`) {
			t.Errorf("HTTP/1.0: %d %s", code, b)
		}
	})
	t.Run("oversized header is 431 JSON", func(t *testing.T) {
		code, _, b := rawHTTP(t, g.URL, chat("HTTP/1.1", "X-Big: "+strings.Repeat("a", 100<<10)+"\r\n"))
		assertOpenAIError(t, code, b, 431, "")
	})
	t.Run("too many headers is 431 JSON", func(t *testing.T) {
		var hs strings.Builder
		for i := range 150 {
			fmt.Fprintf(&hs, "X-H%d: v\r\n", i)
		}
		code, _, b := rawHTTP(t, g.URL, chat("HTTP/1.1", hs.String()))
		assertOpenAIError(t, code, b, 431, "")
	})
	t.Run("near the header limits: served or 431 JSON, never a gateway failure", func(t *testing.T) {
		// Envoy's and the gateway's own headers used to push a request just
		// under Envoy's limits past them: 503 header_mutation_result_exceeds_limit.
		served, refused := 0, 0
		check := func(what string, code int, b []byte) {
			switch code {
			case 200:
				served++
			default:
				refused++
				t.Run(what, func(t *testing.T) {
					assertOpenAIError(t, code, b, 431, "")
					if strings.Contains(string(b), `\"error\"`) {
						t.Errorf("the gateway's own error JSON was wrapped again: %s", b)
					}
				})
			}
		}
		for n := 60; n <= 130; n += 2 {
			var hs strings.Builder
			for i := range n {
				fmt.Fprintf(&hs, "X-H%d: v\r\n", i)
			}
			code, _, b := rawHTTP(t, g.URL, chat("HTTP/1.1", hs.String()))
			check(fmt.Sprint(n, " headers"), code, b)
		}
		for kb := 50; kb <= 82; kb += 2 {
			code, _, b := rawHTTP(t, g.URL, chat("HTTP/1.1", "X-Big: "+strings.Repeat("a", kb<<10)+"\r\n"))
			check(fmt.Sprint(kb, " KiB header"), code, b)
		}
		if served == 0 || refused == 0 {
			t.Errorf("%d served, %d refused: the sweep should straddle the limits", served, refused)
		}
	})
	t.Run("a timeout under 1 ms is 1 ms, not none", func(t *testing.T) {
		must(t, fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/slow/"}, Fault: fakeprovider.Fault{Delay: 3 * time.Second}}))
		defer fake.ClearRules()
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("slow", "hi", `"timeout":0.0001`))
		if code != 408 && code != 504 {
			t.Errorf("timeout 0.0001 against a provider that answers in 3 s: %d %s, want a timeout error", code, b)
		}
		assertOpenAIError(t, code, b, code, "")
	})
	t.Run("a client that does not finish its headers is cut off", func(t *testing.T) {
		conn, err := net.Dial("tcp", host)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\n"); err != nil {
			t.Fatal(err)
		}
		// Without request_headers_timeout the connection stays open until the
		// 10-minute idle timeout; the read deadline is well past the 10 s one.
		_ = conn.SetReadDeadline(time.Now().Add(40 * time.Second))
		b, err := io.ReadAll(conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("connection still open after 40 s (read %q)", b)
		}
		if len(b) > 0 && !strings.Contains(string(b), "408") {
			t.Errorf("answer to a client that never finished its headers: %q", b)
		}
	})
	t.Run("malformed request is 400 JSON", func(t *testing.T) {
		code, _, b := rawHTTP(t, g.URL, "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nBad Header Line\r\n\r\n")
		assertOpenAIError(t, code, b, 400, "")
	})
	t.Run("a broken chunked body is 400 JSON", func(t *testing.T) {
		code, _, b := rawHTTP(t, g.URL, fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: %s\r\nAuthorization: Bearer %s\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n", host, master))
		assertOpenAIError(t, code, b, 400, "")
	})
	t.Run("GET PUT DELETE on completion routes are 405 JSON and never reach the provider", func(t *testing.T) {
		fake.Reset()
		for _, m := range []string{"GET", "PUT", "DELETE", "PATCH"} {
			for _, p := range []string{"/v1/chat/completions", "/completions", "/v1/embeddings"} {
				code, h, b := do(t, m, g.URL+p, master, body)
				assertOpenAIError(t, code, b, 405, "")
				if h.Get("allow") != "POST" {
					t.Errorf("%s %s: Allow %q", m, p, h.Get("allow"))
				}
			}
		}
		if n := fake.Count(""); n != 0 {
			t.Errorf("the provider received %d requests", n)
		}
	})
	t.Run("no x-llmgate header on gateway replies", func(t *testing.T) {
		for _, key := range []string{"", "wrong", master} {
			for _, r := range [][2]string{{"POST", "/v1/chat/completions"}, {"GET", "/v1/models"}, {"GET", "/health"},
				{"GET", "/model/info"}, {"POST", "/v1/nothing"}, {"GET", "/v1/chat/completions"}} {
				code, h, _ := do(t, r[0], g.URL+r[1], key, `{"model":"unknown-model","messages":[]}`)
				for k := range h {
					if strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
						t.Errorf("key %q: %s %s → %d: response header %s reaches the client", key, r[0], r[1], code, k)
					}
				}
			}
		}
	})
}
