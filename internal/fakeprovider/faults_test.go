package fakeprovider

import (
	"bufio"
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

const chatBody = `{"model":"gpt-4o","stream":true,"messages":[{"role":"user","content":"hi"}]}`

// readSSE reads data lines until EOF or an error and reports whether the
// stream ended with [DONE].
func readSSE(r io.Reader) (events int, done bool, err error) {
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if data, ok := strings.CutPrefix(line, "data: "); ok {
			if data == "[DONE]" {
				done = true
				continue
			}
			events++
		}
	}
	return events, done, sc.Err()
}

func TestHeaderFaults(t *testing.T) {
	s := StartT(t, Options{StreamChunks: 5})
	tests := []struct {
		name      string
		headers   map[string]string
		wantErr   bool // transport error before a response
		wantEvent int  // -1: don't check
		wantDone  bool
		minDelay  time.Duration
	}{
		{"no fault", nil, false, 7, true, 0},
		{"delay", map[string]string{"x-fake-delay-ms": "150"}, false, 7, true, 150 * time.Millisecond},
		{"reset before", map[string]string{"x-fake-reset": "before"}, true, -1, false, 0},
		{"cut after 3", map[string]string{"x-fake-cut-after": "3"}, false, 3, false, 0},
		{"reset after headers", map[string]string{"x-fake-reset": "after-headers"}, false, 0, false, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/chat/completions", strings.NewReader(chatBody))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			start := time.Now()
			resp, err := http.DefaultClient.Do(req)
			if tt.wantErr {
				if err == nil {
					resp.Body.Close()
					t.Fatalf("want transport error, got %d", resp.StatusCode)
				}
				return
			}
			if err != nil {
				t.Fatalf("do: %v", err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Fatalf("status %d type %q", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if el := time.Since(start); el < tt.minDelay {
				t.Errorf("answered after %v, want >= %v", el, tt.minDelay)
			}
			events, done, rerr := readSSE(resp.Body)
			if done != tt.wantDone || events != tt.wantEvent {
				t.Errorf("events %d done %v, want %d %v", events, done, tt.wantEvent, tt.wantDone)
			}
			if !tt.wantDone && rerr == nil {
				t.Errorf("cut stream read without error")
			}
		})
	}
}

func TestFinishReasonOverride(t *testing.T) {
	s := StartT(t, Options{})
	resp := post(t, s.URL()+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, map[string]string{"x-fake-finish-reason": "content_filter"})
	defer resp.Body.Close()
	var out oaChatResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if out.Choices[0].FinishReason != "content_filter" {
		t.Errorf("finish_reason = %q", out.Choices[0].FinishReason)
	}
}

func TestNonStreamCut(t *testing.T) {
	s := StartT(t, Options{})
	resp := post(t, s.URL()+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, map[string]string{"x-fake-cut-after": "10"})
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err == nil || len(b) != 10 {
		t.Errorf("read %d bytes err %v, want 10 bytes and an error", len(b), err)
	}
}

func TestRules(t *testing.T) {
	s := StartT(t, Options{})
	if err := s.AddRule(Rule{Match: Match{PathPrefix: "/dep-b"}, Fault: Fault{Status: 500}, Times: 2}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRule(Rule{Match: Match{Model: "slow-model"}, Fault: Fault{Status: 429, RetryAfter: "7"}}); err != nil {
		t.Fatal(err)
	}
	if err := s.AddRule(Rule{Fault: Fault{Reset: "sideways"}}); err == nil {
		t.Errorf("AddRule accepted an unknown reset mode")
	}
	body := func(model string) string {
		return `{"model":"` + model + `","messages":[{"role":"user","content":"x"}]}`
	}
	steps := []struct {
		path, model string
		want        int
		retryAfter  string
	}{
		{"/dep-a/v1/chat/completions", "m", 200, ""},
		{"/dep-b/v1/chat/completions", "m", 500, ""},
		{"/dep-b/v1/chat/completions", "m", 500, ""},
		{"/dep-b/v1/chat/completions", "m", 200, ""}, // rule used up
		{"/v1/chat/completions", "slow-model", 429, "7"},
		{"/v1/chat/completions", "slow-model", 429, "7"}, // no limit
	}
	for i, st := range steps {
		resp := post(t, s.URL()+st.path, body(st.model), nil)
		resp.Body.Close()
		if resp.StatusCode != st.want || resp.Header.Get("Retry-After") != st.retryAfter {
			t.Errorf("step %d %s %s: status %d retry-after %q, want %d %q", i, st.path, st.model, resp.StatusCode, resp.Header.Get("Retry-After"), st.want, st.retryAfter)
		}
	}
	if n := len(s.Rules()); n != 1 {
		t.Errorf("rules left = %d, want 1", n)
	}
	if got := s.Count("/dep-b"); got != 3 {
		t.Errorf("Count(/dep-b) = %d, want 3", got)
	}
	s.ClearRules()
	resp := post(t, s.URL()+"/v1/chat/completions", body("slow-model"), nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("after ClearRules status = %d", resp.StatusCode)
	}
}

func TestControlAPI(t *testing.T) {
	s := StartT(t, Options{})
	rule := `{"match":{"path_prefix":"/dep-b","api_key":"k2"},"fault":{"status":503,"delay_ms":10},"times":1}`
	resp := post(t, s.URL()+"/_fake/rules", rule, nil)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("POST rules: %d", resp.StatusCode)
	}
	if r := s.Rules(); len(r) != 1 || r[0].Fault.Delay != 10*time.Millisecond || r[0].Remaining != 1 {
		t.Fatalf("rules = %+v", r)
	}
	body := `{"model":"m","messages":[{"role":"user","content":"x"}]}`
	// Other key: no match.
	resp = post(t, s.URL()+"/dep-b/chat/completions", body, map[string]string{"Authorization": "Bearer k1"})
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Errorf("key k1: status %d", resp.StatusCode)
	}
	resp = post(t, s.URL()+"/dep-b/chat/completions", body, map[string]string{"Authorization": "Bearer k2"})
	resp.Body.Close()
	if resp.StatusCode != 503 {
		t.Errorf("key k2: status %d, want 503", resp.StatusCode)
	}

	resp = post(t, s.URL()+"/_fake/rules", `[{"fault":{"status":500}}]`, nil)
	resp.Body.Close()
	req, _ := http.NewRequest(http.MethodDelete, s.URL()+"/_fake/rules", nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(s.Rules()) != 0 {
		t.Errorf("DELETE left rules: %+v", s.Rules())
	}
	resp = post(t, s.URL()+"/_fake/rules", `{"fault":{"reset":"bogus"}}`, nil)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Errorf("bad rule: status %d, want 400", resp.StatusCode)
	}

	resp, err = http.Get(s.URL() + "/_fake/requests")
	if err != nil {
		t.Fatal(err)
	}
	var recs []Recorded
	if err := json.NewDecoder(resp.Body).Decode(&recs); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(recs) != 2 || recs[1].Header.Get("Authorization") != "Bearer k2" || !bytes.Equal(recs[1].Body, []byte(body)) {
		t.Fatalf("recorded = %+v", recs)
	}
	var got struct{ Model string }
	if err := recs[0].JSON(&got); err != nil || got.Model != "m" {
		t.Errorf("JSON() = %+v, %v", got, err)
	}
	resp, err = http.Get(s.URL() + "/_fake/counts?prefix=/dep-b")
	if err != nil {
		t.Fatal(err)
	}
	var cnt map[string]int64
	_ = json.NewDecoder(resp.Body).Decode(&cnt)
	resp.Body.Close()
	if cnt["count"] != 2 {
		t.Errorf("counts = %v", cnt)
	}
	req, _ = http.NewRequest(http.MethodDelete, s.URL()+"/_fake/requests", nil)
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if len(s.Requests()) != 0 || s.Count("") != 0 {
		t.Errorf("reset left %d requests, count %d", len(s.Requests()), s.Count(""))
	}
}

func TestNoRecordStillCounts(t *testing.T) {
	s := StartT(t, Options{NoRecord: true})
	for range 3 {
		resp := post(t, s.URL()+"/x/v1/embeddings", `{"model":"e","input":"hi"}`, nil)
		resp.Body.Close()
	}
	if len(s.Requests()) != 0 {
		t.Errorf("recorded with NoRecord")
	}
	if _, ok := s.Last(); ok {
		t.Errorf("Last() ok with NoRecord")
	}
	if s.Count("/x/") != 3 || s.Counts()["/x/v1/embeddings"] != 3 {
		t.Errorf("counts = %v", s.Counts())
	}
}

func TestHTTP2Cleartext(t *testing.T) {
	s := StartT(t, Options{})
	var protocols http.Protocols
	protocols.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &protocols}}
	tests := []struct {
		name    string
		headers map[string]string
		wantErr bool
	}{
		{"ok", nil, false},
		{"cut", map[string]string{"x-fake-cut-after": "2"}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodPost, s.URL()+"/v1/chat/completions", strings.NewReader(chatBody))
			for k, v := range tt.headers {
				req.Header.Set(k, v)
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.ProtoMajor != 2 {
				t.Errorf("proto = %s, want HTTP/2", resp.Proto)
			}
			events, done, err := readSSE(resp.Body)
			if tt.wantErr {
				if err == nil || done || events != 2 {
					t.Errorf("events %d done %v err %v, want 2 events then an error", events, done, err)
				}
			} else if err != nil || !done {
				t.Errorf("events %d done %v err %v", events, done, err)
			}
		})
	}
	last, _ := s.Last()
	if last.Proto != "HTTP/2.0" {
		t.Errorf("recorded proto = %q", last.Proto)
	}
}

func TestUnknownPath(t *testing.T) {
	s := StartT(t, Options{})
	resp := post(t, s.URL()+"/v1/nothing-here", `{}`, nil)
	defer resp.Body.Close()
	var e struct {
		Error struct{ Message string } `json:"error"`
	}
	_ = json.NewDecoder(resp.Body).Decode(&e)
	if resp.StatusCode != 404 || !strings.Contains(e.Error.Message, "/v1/nothing-here") {
		t.Errorf("status %d error %+v", resp.StatusCode, e)
	}
}

func TestFitSizeAndSplit(t *testing.T) {
	tests := []struct {
		text string
		size int
	}{
		{"short", 1024},
		{"exact", 5},
		{"héllo wörld", 3},
		{strings.Repeat("x", 3000), 1000},
	}
	for _, tt := range tests {
		got := fitSize(tt.text, tt.size)
		if len(got) != tt.size {
			t.Errorf("fitSize(%q…, %d) has %d bytes", tt.text[:min(5, len(tt.text))], tt.size, len(got))
		}
		parts := splitChunks(got, 7)
		if strings.Join(parts, "") != got || len(parts) > 7 {
			t.Errorf("splitChunks lost text or made %d parts", len(parts))
		}
	}
	if n := countTokens("  one two\tthree\nfour "); n != 4 {
		t.Errorf("countTokens = %d", n)
	}
}

func TestInBandStreamErrors(t *testing.T) {
	s := StartT(t, Options{StreamChunks: 5})
	anthropicHeaders := map[string]string{"anthropic-version": "2023-06-01", "x-api-key": "k"}
	tests := []struct {
		name, path, body string
		headers          map[string]string
		wantLast         string // substring of the last data line
		wantData         int
	}{
		{"openai", "/v1/chat/completions", chatBody, nil, `"type":"requests"`, 3},
		{"anthropic", "/v1/messages", `{"model":"c","max_tokens":5,"stream":true,"messages":[{"role":"user","content":"hi"}]}`, anthropicHeaders, `"type":"rate_limit_error"`, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := map[string]string{"x-fake-cut-after": "2", "x-fake-status": "429"}
			for k, v := range tt.headers {
				h[k] = v
			}
			resp := post(t, s.URL()+tt.path, tt.body, h)
			defer resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Fatalf("status = %d, want 200 then an in-stream error", resp.StatusCode)
			}
			sc := bufio.NewScanner(resp.Body)
			var data []string
			for sc.Scan() {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					data = append(data, d)
				}
			}
			if sc.Err() != nil {
				t.Errorf("stream ended with a transport error: %v", sc.Err())
			}
			if len(data) != tt.wantData || !strings.Contains(data[len(data)-1], tt.wantLast) {
				t.Errorf("data lines = %q", data)
			}
		})
	}
}

func TestReplySize(t *testing.T) {
	s := StartT(t, Options{ReplySize: 1024})
	resp := post(t, s.URL()+"/v1/chat/completions", `{"model":"m","messages":[{"role":"user","content":"x"}]}`, nil)
	defer resp.Body.Close()
	var out oaChatResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	if n := len(*out.Choices[0].Message.Content); n != 1024 {
		t.Errorf("reply has %d bytes, want 1024", n)
	}
}

// BenchmarkChatCompletion measures the fake's own cost per request, so
// gateway benchmarks can tell it apart from the gateway's.
func BenchmarkChatCompletion(b *testing.B) {
	s := StartT(b, Options{NoRecord: true, ReplySize: 1024})
	body := []byte(`{"model":"m","messages":[{"role":"user","content":"hello"}]}`)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 64}}
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := client.Post(s.URL()+"/v1/chat/completions", "application/json", bytes.NewReader(body))
			if err != nil {
				b.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
