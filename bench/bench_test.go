package bench

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	vegeta "github.com/tsenart/vegeta/v12/lib"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/dynmod/filter"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/xds"
)

func ms(f float64) time.Duration { return time.Duration(f * float64(time.Millisecond)) }

func TestPercentile(t *testing.T) {
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = ms(float64(i + 1))
	}
	tests := []struct {
		name   string
		sorted []time.Duration
		q      float64
		want   time.Duration
	}{
		{"empty", nil, 0.5, 0},
		{"one", []time.Duration{ms(3)}, 0.99, ms(3)},
		{"p50 of 1..100", hundred, 0.50, ms(50)},
		{"p90 of 1..100", hundred, 0.90, ms(90)},
		{"p99 of 1..100", hundred, 0.99, ms(99)},
		{"p100", hundred, 1, ms(100)},
		{"p99 of four is the last", []time.Duration{1, 2, 3, 4}, 0.99, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := percentile(tt.sorted, tt.q); got != tt.want {
				t.Fatalf("percentile(%v) = %v, want %v", tt.q, got, tt.want)
			}
		})
	}
}

func TestMedian(t *testing.T) {
	tests := []struct {
		in   []float64
		want float64
	}{
		{nil, 0},
		{[]float64{5}, 5},
		{[]float64{9, 1, 5}, 5},
		{[]float64{4, 1, 3, 2}, 2.5},
	}
	for _, tt := range tests {
		if got := median(tt.in); got != tt.want {
			t.Errorf("median(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
	in := []float64{3, 1, 2}
	median(in)
	if in[0] != 3 {
		t.Fatal("median sorted its argument in place")
	}
	q := medianQuantiles([]Quantiles{{1, 10, 100}, {3, 30, 300}, {2, 20, 200}})
	if q != (Quantiles{2, 20, 200}) {
		t.Fatalf("medianQuantiles = %v", q)
	}
}

func TestProcParsing(t *testing.T) {
	status := []byte("Name:\tenvoy\nVmPeak:\t  900 kB\nVmHWM:\t   2048 kB\nVmRSS:\t   1024 kB\nThreads:\t4\n")
	rss, hwm := parseStatus(status)
	if rss != 1024<<10 || hwm != 2048<<10 {
		t.Fatalf("parseStatus = %d, %d", rss, hwm)
	}
	// The command name holds a space and a parenthesis; utime=250, stime=50.
	stat := []byte("4242 (we ird) cmd) S 4000 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 4 0 123 456 789")
	cpu, err := parseStatCPU(stat)
	if err != nil || cpu != 300 {
		t.Fatalf("parseStatCPU = %d, %v; want 300", cpu, err)
	}
	pp, err := parseStatPPID(stat)
	if err != nil || pp != 4000 {
		t.Fatalf("parseStatPPID = %d, %v; want 4000", pp, err)
	}
	if _, err := parseStatCPU([]byte("garbage")); err == nil {
		t.Fatal("parseStatCPU accepted a line without a command name")
	}
	// This test's own process is readable and uses some memory.
	s, err := readProc(os.Getpid())
	if err != nil || s.RSS <= 0 || s.HWM < s.RSS {
		t.Fatalf("readProc(self) = %+v, %v", s, err)
	}
}

func TestPlainEnvoyBootstrap(t *testing.T) {
	b, err := PlainEnvoyBootstrapJSON(10001, "127.0.0.1", 20002)
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]any
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	// protojson varies its whitespace on purpose: compare without it.
	s := strings.Join(strings.Fields(string(b)), "")
	for _, want := range []string{`"portValue":10001`, `"portValue":20002`, "envoy.filters.http.router", `"prefix":"/"`} {
		if !strings.Contains(s, want) {
			t.Errorf("bootstrap lacks %s", want)
		}
	}
	if strings.Contains(s, "ext_proc") {
		t.Error("plain Envoy must have no ext_proc filter")
	}
}

func TestConfigsParse(t *testing.T) {
	tests := []struct {
		name        string
		yaml        string
		deployments int
	}{
		{"typical", TypicalConfig("http://127.0.0.1:9", ""), 3},
		{"typical after reload", TypicalConfig("http://127.0.0.1:9", "reload1-"), 3},
		{"scale 250", ScaleConfig("http://127.0.0.1:9", 250), 250},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := config.Parse([]byte(tt.yaml), "bench.yaml", func(string) (string, bool) { return "", false })
			if err != nil {
				t.Fatal(err)
			}
			if len(cfg.Models) != tt.deployments {
				t.Fatalf("%d deployments, want %d", len(cfg.Models), tt.deployments)
			}
			if cfg.General.MasterKey != MasterKey || cfg.Router.RoutingStrategy != "simple-shuffle" {
				t.Fatalf("master key %q, strategy %q", cfg.General.MasterKey, cfg.Router.RoutingStrategy)
			}
			res, err := xds.Build(cfg, xds.Options{ExtProcSocket: "/tmp/x.sock"})
			if err != nil {
				t.Fatal(err)
			}
			// One cluster per deployment plus the ext_proc service cluster,
			// the deployments' host's realtime cluster (D159) and the two
			// client-side clusters (D156).
			if len(res.Clusters) != tt.deployments+4 {
				t.Fatalf("%d clusters", len(res.Clusters))
			}
		})
	}
	// In module mode (host clusters, D62) the scale config on the fake
	// provider is one cluster for all its deployments; ScaleConfigHosts is
	// one cluster too, with an endpoint per host (D86).
	modOpts := xds.Options{ExtProcSocket: "/tmp/x.sock", FastPath: true, RequestModule: &filter.Config{Marker: "m", TableSocket: "/tmp/t.sock"}}
	for _, tt := range []struct {
		yaml      string
		endpoints int
	}{{ScaleConfig("http://127.0.0.1:9", 600), 1}, {ScaleConfigHosts("http://127.0.0.1:9", 600), 600}} {
		cfg, err := config.Parse([]byte(tt.yaml), "scale.yaml", func(string) (string, bool) { return "", false })
		if err != nil {
			t.Fatal(err)
		}
		res, err := xds.Build(cfg, modOpts)
		if err != nil {
			t.Fatal(err)
		}
		n, eps := 0, 0
		for _, c := range res.Clusters {
			if strings.HasPrefix(c.GetName(), contract.HostClusterPrefix) {
				n++
				eps += len(c.GetLoadAssignment().GetEndpoints()[0].GetLbEndpoints())
			}
		}
		if n != 1 || eps != tt.endpoints {
			t.Fatalf("%d host clusters with %d endpoints, want one with %d", n, eps, tt.endpoints)
		}
	}
	if !strings.Contains(TypicalConfig("http://h:1", "reload2-"), "http://h:1/reload2-dep-3/v1") {
		t.Fatal("reload prefix not in api_base")
	}
}

func TestChatBody(t *testing.T) {
	for _, stream := range []bool{false, true} {
		var v struct {
			Model    string            `json:"model"`
			Stream   bool              `json:"stream"`
			Messages []json.RawMessage `json:"messages"`
		}
		if err := json.Unmarshal(ChatBody("m", stream), &v); err != nil {
			t.Fatal(err)
		}
		if v.Model != "m" || v.Stream != stream || len(v.Messages) != 2 {
			t.Fatalf("body %+v", v)
		}
	}
}

func TestHasContent(t *testing.T) {
	tests := map[string]bool{
		`{"choices":[{"delta":{"role":"assistant","content":""}}]}`: false,
		`{"choices":[{"delta":{"content":"hi"}}]}`:                  true,
		`{"choices":[{"delta":{"content": "hi"}}]}`:                 true,
		`{"choices":[{"delta":{},"finish_reason":"stop"}]}`:         false,
	}
	for in, want := range tests {
		if got := hasContent(in); got != want {
			t.Errorf("hasContent(%s) = %v", in, got)
		}
	}
}

func TestCollect(t *testing.T) {
	t0 := time.Now()
	ok := []byte(`{"choices":[]}`)
	in := []*vegeta.Result{
		{Code: 200, Body: ok, Timestamp: t0, Latency: ms(3)},
		{Code: 200, Body: ok, Timestamp: t0.Add(ms(1)), Latency: ms(1)},
		{Code: 500, Body: []byte(`{"error":{}}`), Error: "500 Internal Server Error", Timestamp: t0.Add(ms(2)), Latency: ms(1)},
		{Code: 200, Body: []byte(`not a completion`), Timestamp: t0.Add(ms(3)), Latency: ms(7)},
	}
	ch := make(chan *vegeta.Result, len(in))
	for _, r := range in {
		ch <- r
	}
	close(ch)
	r := collect(ch)
	if r.Requests != 4 || r.Errors != 2 || len(r.Latencies) != 2 {
		t.Fatalf("requests %d errors %d ok %d", r.Requests, r.Errors, len(r.Latencies))
	}
	if r.Latencies[0] != ms(1) || r.Latencies[1] != ms(3) {
		t.Fatalf("latencies not sorted: %v", r.Latencies)
	}
	if r.Elapsed != ms(10) {
		t.Fatalf("elapsed %v, want 10ms (first start → last end)", r.Elapsed)
	}
	if !strings.Contains(r.FirstErr, "500") {
		t.Fatalf("first error %q", r.FirstErr)
	}
}

func TestWriteDoc(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "benchmarks.md")
	if err := WriteDoc(path, "first\n"); err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(b), "# Benchmarks") || !strings.Contains(string(b), "first") {
		t.Fatalf("new doc:\n%s", b)
	}
	hand := "# Benchmarks\n\nIntro by hand.\n\n" + BeginMarker + "\nold\n" + EndMarker + "\n\n## Profile\n\nFindings by hand.\n"
	if err := os.WriteFile(path, []byte(hand), 0o644); err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ { // idempotent
		if err := WriteDoc(path, "second\n"); err != nil {
			t.Fatal(err)
		}
	}
	b, _ = os.ReadFile(path)
	s := string(b)
	if strings.Contains(s, "old") || strings.Count(s, "second") != 1 || !strings.Contains(s, "Intro by hand.") || !strings.Contains(s, "Findings by hand.") {
		t.Fatalf("rewritten doc:\n%s", s)
	}
}

func sampleReport() *Report {
	o := DefaultOptions()
	lat := func(p99, added time.Duration, rps float64) map[int]*LatencyFigure {
		m := map[int]*LatencyFigure{}
		for _, c := range o.Concurrencies {
			m[c] = &LatencyFigure{Latency: Quantiles{p99 / 2, p99, p99}, Added: Quantiles{added / 2, added, added}, Throughput: rps}
		}
		return m
	}
	return &Report{
		Started: time.Date(2026, 1, 2, 3, 4, 0, 0, time.UTC), Options: o,
		Targets: []*TargetReport{
			{Name: "direct", Latency: lat(ms(1), 0, 5000), MaxRPS: 4000, Stream: StreamFigure{TTFT: ms(1), Gap: ms(1)}, Parts: []*PartFigure{{Name: "fakellm", IdleRSS: 1 << 20, PeakRSS: 2 << 20}}},
			{Name: "envoy", Latency: lat(ms(1.4), ms(0.4), 3000), MaxRPS: 2500, Stream: StreamFigure{TTFT: ms(1.2), Gap: ms(1), AddedTTFT: ms(0.2)}, Parts: []*PartFigure{{Name: "envoy", IdleRSS: 1 << 20, PeakRSS: 2 << 20}}},
			{Name: "llmgate", Latency: lat(ms(3), ms(2), 1000), MaxRPS: 600, AtRateRPS: 1000, Stream: StreamFigure{TTFT: ms(3), Gap: ms(1), AddedTTFT: ms(2)},
				Parts: []*PartFigure{{Name: "llmgate", IdleRSS: 20 << 20, PeakRSS: 40 << 20, RSSAtRate: 40 << 20}, {Name: "envoy", IdleRSS: 1 << 20, PeakRSS: 2 << 20}}},
			{Name: "litellm", Latency: lat(ms(50), ms(49), 90), MaxRPS: 60, Stream: StreamFigure{TTFT: ms(20), Gap: ms(2)}, Parts: []*PartFigure{{Name: "litellm", IdleRSS: 200 << 20, PeakRSS: 300 << 20}}},
			{Name: "llmgate-anthropic", Config: anthropicDesc, Latency: lat(ms(4), ms(3), 800), Stream: StreamFigure{TTFT: ms(4), Gap: ms(1), AddedTTFT: ms(3)},
				Parts: []*PartFigure{{Name: "llmgate", IdleRSS: 20 << 20, PeakRSS: 40 << 20}, {Name: "envoy", IdleRSS: 1 << 20, PeakRSS: 2 << 20}}},
			{Name: "llmgate-redis", Config: redisDesc, Skipped: "redis-server not found"},
			{Name: "llmgate-keys", Config: keysDesc, Latency: lat(ms(3.05), ms(2.05), 980), Stream: StreamFigure{TTFT: ms(3), Gap: ms(1), AddedTTFT: ms(2)},
				Parts: []*PartFigure{{Name: "llmgate", IdleRSS: 20 << 20, PeakRSS: 40 << 20}, {Name: "envoy", IdleRSS: 1 << 20, PeakRSS: 2 << 20}}},
			{Name: "llmgate-observed", Config: observedDesc, Latency: lat(ms(3.3), ms(2.3), 960), Stream: StreamFigure{TTFT: ms(3), Gap: ms(1), AddedTTFT: ms(2)},
				Parts: []*PartFigure{{Name: "llmgate", IdleRSS: 20 << 20, PeakRSS: 40 << 20}, {Name: "envoy", IdleRSS: 1 << 20, PeakRSS: 2 << 20}}},
		},
		Scale: []ScaleResult{{Deployments: 10, Push: ms(20)}, {Deployments: 1000, Push: ms(90)}, {Deployments: 10000, Parse: ms(300), Build: ms(400), Push: ms(500)},
			{Deployments: 10000, Change: true, Parse: ms(300), Build: ms(400), Push: ms(50)},
			{Deployments: 10000, Hosts: true, Parse: ms(300), Build: ms(500), Push: ms(400)}},
		Reloads: []time.Duration{ms(70), ms(90), ms(80)},
	}
}

func TestChecks(t *testing.T) {
	got := map[string]Check{}
	for _, c := range sampleReport().Checks() {
		got[c.Target] = c
	}
	tests := []struct {
		target   string
		met      string
		measured string
	}{
		{"Added p99 latency at concurrency 1 ≤ 1 ms over direct", "**no**", "2.00 ms"},
		{"Added p99 at concurrency 1 ≤ 1.5× plain Envoy's added p99", "**no**", "5.00×"},
		{"Throughput at concurrency 64 ≥ 70% of plain Envoy's", "**no**", "33%"},
		{"Throughput at concurrency 64 ≥ 10× LiteLLM's", "yes", "11.1×"},
		{"Streaming: added time-to-first-token ≤ 1 ms p50", "**no**", "2.00 ms"},
		{"Added p99 at concurrency 1 ≤ plain Envoy's added p99 + 0.3 ms (issue 10)", "**no**", "llmgate +2.00 ms, plain Envoy +400 µs"},
		{"Streaming: added time-to-first-token ≤ plain Envoy's + 0.3 ms (issue 10)", "**no**", "llmgate +2.00 ms, plain Envoy +200 µs"},
		{"ext_proc (llmgate process) RSS ≤ 60 MB at 1000 rps", "yes", "40.0 MB"},
		{"10,000 deployments compile and push in ≤ 1 s (from a 1,000-deployment config: 9,000 new deployments, all on the fake provider's host)", "**no**", "1.20 s"},
		{"A change of one deployment in a 10,000-deployment config compiles and pushes in ≤ 1 s", "yes", "750.00 ms"},
		{"10,000 deployments on 10,000 hosts compile and push in ≤ 1 s", "**no**", "1.20 s"},
		{"A config change serves within 1 s", "yes", "80.00 ms"},
		{"Virtual key (1000 in the store) adds ≤ 0.1 ms p50 at concurrency 1 over the master key (issue 11)", "yes", "+25 µs (p50 1.52 ms vs 1.50 ms)"},
		{"Virtual key (1000 in the store) loses ≤ 5% throughput at concurrency 64 against the master key (issue 11)", "yes", "-2.0% (980 vs 1000 rps)"},
		{"Observability (metrics, traces of every request, a logging callback) adds ≤ 0.1 ms p50 at concurrency 1 (issue 12)", "**no**", "+150 µs (p50 1.65 ms vs 1.50 ms)"},
		{"Observability loses ≤ 5% throughput at concurrency 64 (issue 12)", "yes", "-4.0% (960 vs 1000 rps)"},
	}
	for _, tt := range tests {
		c, ok := got[tt.target]
		if !ok {
			t.Errorf("no check %q", tt.target)
			continue
		}
		if c.Met != tt.met || !strings.Contains(c.Measured, tt.measured) {
			t.Errorf("%s: measured %q met %q; want %q containing %q", tt.target, c.Measured, c.Met, tt.met, tt.measured)
		}
	}
}

func TestMarkdownAndProblems(t *testing.T) {
	r := sampleReport()
	md := r.Markdown(Environment{Commit: "abc123", Machine: "nproc 2, Test CPU", Command: "make bench"})
	for _, want := range []string{"| commit | abc123 |", "nproc 2, Test CPU", "`make bench`", "| llmgate | 1 |", "| llmgate | llmgate | 20.0 MB | 40.0 MB | 40.0 MB |", "| 10000 |", "| 10000, one moved |", "| 10000, each on its own host |", "median 80.00 ms",
		"| llmgate-anthropic | " + anthropicDesc + " | 3.00 ms | 800 | 0.27× | 3.00 ms |", "| llmgate-redis | " + redisDesc + " | skipped: redis-server not found", "| llmgate-anthropic | 800 | 0.16× | 0.27× | not searched |"} {
		if !strings.Contains(md, want) {
			t.Errorf("markdown lacks %q", want)
		}
	}
	if p := r.Problems(); len(p) != 0 {
		t.Fatalf("problems in a complete report: %v", p)
	}
	r.Targets[2].Latency[16].Errors = 3
	r.Targets[1].Stream.TTFT = 0
	r.Targets[3].Skipped = "not installed" // skipped targets are not problems
	r.Targets[3].Latency = nil
	if p := r.Problems(); len(p) != 2 {
		t.Fatalf("problems = %v, want the errors and the missing stream figure", p)
	}
}

func TestPinningCommand(t *testing.T) {
	argv := []string{"/bin/envoy", "-c", "x"}
	if got := (Pinning{}).command("1", argv); strings.Join(got, " ") != "/bin/envoy -c x" {
		t.Fatalf("unpinned: %v", got)
	}
	p := Pinning{Taskset: "/usr/bin/taskset", LoadCPU: "0", SUTCPU: "1"}
	if got := p.command(p.SUTCPU, argv); strings.Join(got, " ") != "/usr/bin/taskset -c 1 /bin/envoy -c x" {
		t.Fatalf("pinned: %v", got)
	}
	if !strings.Contains(p.String(), "CPU 1") || (Pinning{}).String() != "not pinned" {
		t.Fatal(p.String())
	}
}
