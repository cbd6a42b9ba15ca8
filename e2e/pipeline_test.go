package e2e

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// The pipelined request filter (docs/architecture.md D46): one blocking
// ext_proc exchange per request, every body shape a client sends served,
// the body's end and length intact at the provider.

func pipelineConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: alike
    litellm_params: {model: openai/gpt-4o, api_base: "%[1]s/dep-a/v1", api_key: sk-provider-a}
  - model_name: alike
    litellm_params: {model: openai/gpt-4o, api_base: "%[1]s/dep-b/v1", api_key: sk-provider-b}
  - model_name: mixed
    litellm_params: {model: openai/gpt-4o, api_base: "%[1]s/mix-a/v1", api_key: sk-provider-a}
  - model_name: mixed
    litellm_params: {model: openai/gpt-4o-mini, api_base: "%[1]s/mix-b/v1", api_key: sk-provider-b}
  - model_name: failing
    litellm_params: {model: openai/gpt-4o, api_base: "%[1]s/dead/v1", api_key: sk-provider-a}
  - model_name: rescue
    litellm_params: {model: openai/gpt-4o, api_base: "%[1]s/rescue/v1", api_key: sk-provider-b}
router_settings:
  num_retries: 0
  fallbacks: [{"failing": ["rescue"]}]
general_settings:
  master_key: %[2]s
  max_request_size_mb: 4
`, fake, master)
}

// pipeBody is a chat request of at least size bytes.
func pipeBody(model string, size int) string {
	pad := max(size-80, 1)
	return `{"model":"` + model + `","messages":[{"role":"user","content":"` + strings.Repeat("a", pad) + `"}]}`
}

// h2cClient speaks HTTP/2 without TLS (prior knowledge), as h2c clients do.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Protocols: p}}
}

// pipeSend posts body over h1 (with a content-length, or chunked) or h2c.
func pipeSend(t *testing.T, how, url, key, body string) (int, http.Header, []byte) {
	t.Helper()
	var rd io.Reader = strings.NewReader(body)
	if how == "chunked" {
		rd = io.MultiReader(strings.NewReader(body)) // unknown length: Go sends it chunked
	}
	req, err := http.NewRequest("POST", url, rd)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("content-type", "application/json")
	req.Header.Set("authorization", "Bearer "+key)
	c := &http.Client{Timeout: 30 * time.Second}
	if how == "h2c" {
		c = h2cClient()
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s: %v", how, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if how == "h2c" && resp.ProtoMajor != 2 {
		t.Fatalf("h2c client spoke %s", resp.Proto)
	}
	return resp.StatusCode, resp.Header, b
}

// rawRequest writes head (and then body, unless nil) on a fresh connection
// and returns the status line and the rest of what the gateway answers.
func rawRequest(t *testing.T, url, head string, body []byte, wait time.Duration) (string, string) {
	t.Helper()
	conn, err := net.Dial("tcp", strings.TrimPrefix(url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	if _, err := io.WriteString(conn, head); err != nil {
		t.Fatal(err)
	}
	if body != nil {
		if _, err := conn.Write(body); err != nil {
			t.Fatal(err)
		}
	}
	_ = conn.SetReadDeadline(time.Now().Add(wait))
	r := bufio.NewReader(conn)
	status, err := r.ReadString('\n')
	if err != nil {
		return "", ""
	}
	resp, _ := http.ReadResponse(bufio.NewReader(io.MultiReader(strings.NewReader(status), r)), nil)
	if resp == nil {
		return status, ""
	}
	b, _ := io.ReadAll(resp.Body)
	return strings.TrimSpace(status), string(b)
}

// extProcStats reads the request filter's ext_proc counters from Envoy's admin.
func extProcStats(t *testing.T, admin string) (sent, received, streams int) {
	t.Helper()
	resp, err := http.Get("http://" + admin + "/stats?filter=^http\\.llmgate\\.ext_proc\\.")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ": ")
		n, _ := strconv.Atoi(v)
		if !ok {
			continue
		}
		switch k {
		case "http.llmgate.ext_proc.stream_msgs_sent":
			sent = n
		case "http.llmgate.ext_proc.stream_msgs_received":
			received = n
		case "http.llmgate.ext_proc.streams_started":
			streams = n
		}
	}
	return sent, received, streams
}

func TestPipelinedRequestFilter(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	admin := fmt.Sprintf("127.0.0.1:%d", freePort(t))
	g := startGatewayArgs(t, pipelineConfig(fake.URL()), append([]string{"--admin-address", admin}, extProcArgs...))
	url := g.URL + "/v1/chat/completions"

	// Every body shape reaches the provider whole, with its length: a
	// prepared body (D12, "alike") and a per-try translated one ("mixed"),
	// small and 3 MB, over HTTP/1.1 with a content-length, chunked, and h2c.
	for _, model := range []string{"alike", "mixed"} {
		for _, size := range []int{200, 3 << 20} {
			for _, how := range []string{"length", "chunked", "h2c"} {
				t.Run(fmt.Sprintf("%s %d bytes %s", model, size, how), func(t *testing.T) {
					fake.Reset()
					body := pipeBody(model, size)
					code, _, b := pipeSend(t, how, url, master, body)
					if code != 200 {
						t.Fatalf("status %d: %.300s", code, b)
					}
					rec, ok := fake.Last()
					if !ok {
						t.Fatal("the provider saw no request")
					}
					if len(rec.Body) < size-100 || !bytes.Contains(rec.Body, []byte(strings.Repeat("a", size-100))) {
						t.Fatalf("the provider got %d bytes, want the whole %d-byte body", len(rec.Body), len(body))
					}
					// The rewritten body keeps a content-length (restored by
					// the request filter; no chunked upload to the provider).
					if cl := rec.Header.Get("Content-Length"); cl != strconv.Itoa(len(rec.Body)) {
						t.Errorf("provider content-length %q for a %d-byte body", cl, len(rec.Body))
					}
				})
			}
		}
	}

	t.Run("3 MB body on a fallback try", func(t *testing.T) {
		fake.Reset()
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/dead"}, Fault: fakeprovider.Fault{Status: 500}}); err != nil {
			t.Fatal(err)
		}
		defer fake.ClearRules()
		for _, how := range []string{"length", "chunked", "h2c"} {
			fake.Reset()
			code, _, b := pipeSend(t, how, url, master, pipeBody("failing", 3<<20))
			if code != 200 {
				t.Fatalf("%s: status %d: %.300s", how, code, b)
			}
			reqs := fake.Requests()
			if len(reqs) != 2 || !strings.HasPrefix(reqs[0].Path, "/dead") || !strings.HasPrefix(reqs[1].Path, "/rescue") {
				t.Fatalf("%s: provider calls %d, want /dead then /rescue", how, len(reqs))
			}
			if len(reqs[1].Body) != len(reqs[0].Body) || len(reqs[1].Body) < 3<<20-100 {
				t.Errorf("%s: the retry got %d bytes, the first try %d", how, len(reqs[1].Body), len(reqs[0].Body))
			}
		}
	})

	t.Run("one answer per request after the body", func(t *testing.T) {
		// An HTTP/1.1 body with a content-length reaches the filter as
		// headers, the body and an empty end-of-stream chunk, sent without
		// waiting; the filter answers twice after the last chunk: the
		// headers, then the whole body (FULL_DUPLEX_STREAMED). Buffered mode
		// was headers → answer → body → answer: 2 and 2; STREAMED answered
		// every chunk: 3 and 3.
		s0, r0, n0 := extProcStats(t, admin)
		const n = 10
		for range n {
			if code, _, b := pipeSend(t, "length", url, master, pipeBody("alike", 300)); code != 200 {
				t.Fatalf("status %d: %s", code, b)
			}
		}
		s1, r1, n1 := extProcStats(t, admin)
		if n1-n0 != n || s1-s0 != 3*n || r1-r0 != 2*n {
			t.Errorf("over %d requests: %d streams, %d messages to the filter, %d answers; want %d, %d, %d",
				n, n1-n0, s1-s0, r1-r0, n, 3*n, 2*n)
		}
		t.Logf("per request: %.1f messages sent, %.1f received", float64(s1-s0)/n, float64(r1-r0)/n)
	})

	t.Run("a bad key is refused on the headers", func(t *testing.T) {
		// The body is never sent: the answer cannot have waited for it, so
		// an unauthenticated client makes the gateway hold nothing.
		for _, key := range []string{"", "Bearer sk-wrong"} {
			head := "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nContent-Length: 3000000\r\n"
			if key != "" {
				head += "Authorization: " + key + "\r\n"
			}
			status, body := rawRequest(t, g.URL, head+"\r\n", nil, 5*time.Second)
			if !strings.Contains(status, " 401 ") {
				t.Fatalf("key %q: status %q (want 401 before the body): %s", key, status, body)
			}
			assertOpenAIError(t, 401, []byte(body), 401, "")
		}
	})

	t.Run("a body over max_request_size_mb is 413 without reading it", func(t *testing.T) {
		// Declared: answered on the headers.
		head := "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nAuthorization: Bearer " + master + "\r\nContent-Length: 41943040\r\n\r\n"
		status, body := rawRequest(t, g.URL, head, nil, 5*time.Second)
		if !strings.Contains(status, " 413 ") {
			t.Fatalf("declared 40 MB: status %q: %s", status, body)
		}
		assertOpenAIError(t, 413, []byte(body), 413, "Max size is 4 MB")
		// Chunked (no length): answered once the bound is passed.
		for _, how := range []string{"chunked", "h2c"} {
			code, _, b := pipeSend(t, how, url, master, pipeBody("alike", 5<<20))
			assertOpenAIError(t, code, b, 413, "Max size is 4 MB")
		}
	})

	t.Run("request trailers", func(t *testing.T) {
		// HTTP/1.1 trailers are dropped by Envoy: the request is served.
		fake.Reset()
		body := pipeBody("alike", 500)
		head := "POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nAuthorization: Bearer " + master +
			"\r\nTransfer-Encoding: chunked\r\nTrailer: x-checksum\r\nConnection: close\r\n\r\n"
		chunked := fmt.Sprintf("%x\r\n%s\r\n0\r\nx-checksum: 1\r\n\r\n", len(body), body)
		status, b := rawRequest(t, g.URL, head, []byte(chunked), 20*time.Second)
		if !strings.Contains(status, " 200 ") {
			t.Fatalf("status %q: %s", status, b)
		}
		if rec, ok := fake.Last(); !ok || !bytes.Contains(rec.Body, []byte(strings.Repeat("a", 400))) {
			t.Fatalf("the provider did not get the body")
		}
		// HTTP/2 always delivers trailers (HTTP/1.1 only with enable_trailers):
		// refused with OpenAI JSON, never forwarded (they left the provider
		// connection unusable for the next request on it).
		fake.Reset()
		req, err := http.NewRequest("POST", url, io.MultiReader(strings.NewReader(body)))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("authorization", "Bearer "+master)
		req.Header.Set("content-type", "application/json")
		req.Trailer = http.Header{"X-Checksum": {"1"}}
		resp, err := h2cClient().Do(req)
		if err != nil {
			t.Fatal(err)
		}
		rb, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assertOpenAIError(t, resp.StatusCode, rb, 400, "trailers")
		if n := len(fake.Requests()); n != 0 {
			t.Fatalf("h2c with trailers reached the provider %d times", n)
		}
		// The provider connections serve the next requests.
		for i := range 20 {
			if code, _, b := pipeSend(t, "length", url, master, pipeBody("alike", 300)); code != 200 {
				t.Fatalf("request %d after the trailers: status %d: %s", i, code, b)
			}
		}
	})

	t.Run("a client that pauses mid-body is served", func(t *testing.T) {
		// Each chunk restarts ext_proc's 5 s message timer; a pause longer
		// than that used to fail the request (buffered mode never ran the
		// timer during the upload).
		fake.Reset()
		body := pipeBody("alike", 2000)
		head := fmt.Sprintf("POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\nAuthorization: Bearer %s\r\nContent-Length: %d\r\nConnection: close\r\n\r\n", master, len(body))
		conn, err := net.Dial("tcp", strings.TrimPrefix(g.URL, "http://"))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		if _, err := io.WriteString(conn, head+body[:1000]); err != nil {
			t.Fatal(err)
		}
		time.Sleep(7 * time.Second)
		if _, err := io.WriteString(conn, body[1000:]); err != nil {
			t.Fatal(err)
		}
		_ = conn.SetReadDeadline(time.Now().Add(20 * time.Second))
		resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != 200 {
			var seen []string
			for _, r := range fake.Requests() {
				seen = append(seen, fmt.Sprintf("%s %s content-length=%q body=%d", r.Method, r.Path, r.Header.Get("Content-Length"), len(r.Body)))
			}
			t.Fatalf("status %d: %s (the provider saw %v)", resp.StatusCode, b, seen)
		}
	})
}
