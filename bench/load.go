package bench

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"
)

// Endpoint is one way to reach the fake provider: directly or through a
// proxy under test.
type Endpoint struct {
	Name   string // "direct", "envoy", "llmgate", "litellm"
	URL    string // chat completions URL
	Model  string // model in the request body
	Header http.Header
}

// LoadResult is one load run.
type LoadResult struct {
	Latencies []time.Duration // successful requests, sorted
	Requests  int
	Errors    int
	FirstErr  string
	Elapsed   time.Duration // first request sent → last response read
}

// Throughput is successful requests per second.
func (r LoadResult) Throughput() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(len(r.Latencies)) / r.Elapsed.Seconds()
}

// Quantiles of the successful requests' latencies.
func (r LoadResult) Quantiles() Quantiles { return quantilesOf(r.Latencies) }

func (e Endpoint) target(stream bool) vegeta.Target {
	h := e.Header.Clone()
	if h == nil {
		h = http.Header{}
	}
	h.Set("Content-Type", "application/json")
	return vegeta.Target{Method: http.MethodPost, URL: e.URL, Body: ChatBody(e.Model, stream), Header: h}
}

// collect reads vegeta's results. A request counts as successful when it
// answered 200 with a chat completion body.
func collect(results <-chan *vegeta.Result) LoadResult {
	var r LoadResult
	var first, last time.Time
	for res := range results {
		r.Requests++
		end := res.Timestamp.Add(res.Latency)
		if first.IsZero() || res.Timestamp.Before(first) {
			first = res.Timestamp
		}
		if end.After(last) {
			last = end
		}
		if res.Code != http.StatusOK || res.Error != "" || !bytes.Contains(res.Body, []byte(`"choices"`)) {
			r.Errors++
			if r.FirstErr == "" {
				r.FirstErr = fmt.Sprintf("status %d %s %.200s", res.Code, res.Error, res.Body)
			}
			continue
		}
		r.Latencies = append(r.Latencies, res.Latency)
	}
	slices.Sort(r.Latencies)
	r.Elapsed = last.Sub(first)
	return r
}

// ClosedLoop keeps conc requests in flight for d: each of conc vegeta workers
// sends its next request as soon as the previous answer is read (vegeta with
// an unbounded rate and a fixed worker pool), over kept-alive connections.
func ClosedLoop(e Endpoint, conc int, d time.Duration) LoadResult {
	a := vegeta.NewAttacker(
		vegeta.Workers(uint64(conc)), vegeta.MaxWorkers(uint64(conc)),
		vegeta.Connections(conc), vegeta.MaxConnections(conc),
		vegeta.KeepAlive(true), vegeta.HTTP2(false),
		vegeta.Timeout(30*time.Second), vegeta.MaxBody(8<<10),
	)
	return collect(a.Attack(vegeta.NewStaticTargeter(e.target(false)), vegeta.Rate{}, d, e.Name))
}

// OpenLoop sends rate requests per second for d whatever the answers do
// (vegeta's constant pacer); requests slower than timeout count as errors.
func OpenLoop(e Endpoint, rate int, d, timeout time.Duration) LoadResult {
	a := vegeta.NewAttacker(
		vegeta.Workers(32), vegeta.MaxWorkers(1024),
		vegeta.Connections(1024), vegeta.KeepAlive(true), vegeta.HTTP2(false),
		vegeta.Timeout(timeout), vegeta.MaxBody(8<<10),
	)
	return collect(a.Attack(vegeta.NewStaticTargeter(e.target(false)), vegeta.Rate{Freq: rate, Per: time.Second}, d, e.Name))
}

// StreamResult is one streamed completion as the client saw it.
type StreamResult struct {
	TTFT   time.Duration // request sent → first content chunk
	Gap    time.Duration // mean time between content chunks
	Chunks int
}

// Stream sends one streamed request and times its chunks. The stream probe is
// a measuring client, not a load generator: it runs one stream at a time.
func Stream(ctx context.Context, c *http.Client, e Endpoint) (StreamResult, error) {
	t := e.target(true)
	return streamOf(ctx, c, e.Name, t.URL, t.Header, t.Body, hasContent, isDone)
}

// streamOf times one SSE stream: content says whether a data line carries
// content, done whether it ends the stream.
func streamOf(ctx context.Context, c *http.Client, name, url string, h http.Header, body []byte, content, done func(string) bool) (StreamResult, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return StreamResult{}, err
	}
	req.Header = h
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		return StreamResult{}, fmt.Errorf("stream %s: %w", name, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return StreamResult{}, fmt.Errorf("stream %s: status %d: %s", name, resp.StatusCode, b)
	}
	var first, last time.Time
	var r StreamResult
	ended := false
	br := bufio.NewReaderSize(resp.Body, 64<<10)
	for {
		line, err := br.ReadString('\n')
		if strings.HasPrefix(line, "data:") {
			data := strings.TrimSpace(line[len("data:"):])
			switch {
			case done(data):
				ended = true
			case content(data):
				now := time.Now()
				if first.IsZero() {
					first = now
				}
				last = now
				r.Chunks++
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return r, fmt.Errorf("stream %s: %w", name, err)
		}
	}
	if !ended || r.Chunks == 0 {
		return r, fmt.Errorf("stream %s: %d content chunks, end seen: %v", name, r.Chunks, ended)
	}
	r.TTFT = first.Sub(start)
	if r.Chunks > 1 {
		r.Gap = last.Sub(first) / time.Duration(r.Chunks-1)
	}
	return r, nil
}

// isDone reports whether an OpenAI stream's data line ends it.
func isDone(data string) bool { return data == "[DONE]" }

// hasContent reports whether an OpenAI chunk carries non-empty delta content
// (the first chunk usually has only the role and "content":"").
func hasContent(data string) bool {
	for _, k := range []string{`"content":"`, `"content": "`} {
		if i := strings.Index(data, k); i >= 0 && i+len(k) < len(data) && data[i+len(k)] != '"' {
			return true
		}
	}
	return false
}
