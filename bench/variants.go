package bench

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// VariantSide is one gateway of a side-by-side comparison of the other
// configs (issue 10: the rpm/tpm-on-Redis and the Anthropic config must not
// regress): a binary, a config and `llmgate run` flags.
type VariantSide struct {
	Label  string
	Bin    string // "" = o.LLMGateBin
	Config string // "redis", "redis-small", "anthropic", "parallel", "typical", "keys", "keys-master", "plain" or "plain-module"
	Args   []string
}

// VariantResult is one side at one concurrency: the median run and the
// median CPU per request of llmgate and its Envoy.
type VariantResult struct {
	Side        VariantSide
	Concurrency int
	Figure      LatencyFigure
	CPU         map[string]time.Duration
	// Pooled is every run's requests together (tail.go).
	Pooled Tail
	// EnvoyRuns is Envoy's CPU per request of each run, in run order.
	EnvoyRuns []time.Duration
	// RunQ is each run's percentiles, in run order.
	RunQ []Quantiles
	// TTFTRuns is the side's time to first token of each streaming run
	// (o.VariantStreams; the median of the run's streams) and DirectTTFT
	// the direct call's in the same run, in run order.
	TTFTRuns, DirectTTFT []time.Duration
	// RunRPS is each run's throughput and SumRuns its CPU per request of
	// llmgate and Envoy together, in run order.
	RunRPS  []float64
	SumRuns []time.Duration
}

// VariantsOverhead runs every side's llmgate at once on the same fake
// provider (and one Redis for the redis config), and every run measures
// all of them in turn at each concurrency, closed loop, o.Runs runs of
// o.Duration: a before/after or module/ext_proc comparison that shares the
// machine's state run by run.
func VariantsOverhead(o *Options, fakeURL string, concs []int, sides []VariantSide) ([]VariantResult, error) {
	redisAddr := ""
	for _, sd := range sides {
		if (sd.Config == "redis" || sd.Config == "redis-small") && redisAddr == "" {
			redis, addr, err := StartRedis(o)
			if err != nil {
				return nil, err
			}
			defer redis.Stop(time.Second)
			redisAddr = addr
		}
	}
	var gates []*Target
	for i, sd := range sides {
		so := *o
		so.WorkDir = filepath.Join(o.WorkDir, fmt.Sprintf("variant-%d", i))
		if sd.Bin != "" {
			so.LLMGateBin = sd.Bin
		}
		if i > 0 {
			so.PprofAddr = "" // --llmgate-pprof: the first side's llmgate only
		}
		if err := os.MkdirAll(so.WorkDir, 0o700); err != nil {
			return nil, err
		}
		if sd.Config == "plain" || sd.Config == "plain-module" {
			// Plain Envoy in the same runs: the reference of issue 10's targets;
			// plain-module: with the module's two filters and no table (D81).
			start := StartPlainEnvoy
			if sd.Config == "plain-module" {
				start = StartPlainModuleEnvoy
			}
			plain, err := start(&so, &Target{Endpoint: Endpoint{URL: fakeURL + "/v1/chat/completions"}})
			if err != nil {
				return nil, fmt.Errorf("%s: %w", sd.Label, err)
			}
			defer plain.Stop()
			plain.Name = sd.Label
			gates = append(gates, plain)
			continue
		}
		var yaml, model string
		switch sd.Config {
		case "redis":
			yaml, model = RedisConfig(fakeURL, redisAddr), RedisModelGroup
		case "redis-small":
			yaml, model = RedisSmallConfig(fakeURL, redisAddr), RedisModelGroup
		case "anthropic":
			yaml, model = AnthropicConfig(fakeURL), AnthropicModelGroup
		case "typical", "keys", "keys-master":
			// keys: the bench's llmgate-keys target (KeysInStore keys issued,
			// every request with one of them); keys-master: the same keys in
			// the store, every request with the master key (D88).
			yaml, model = TypicalConfig(fakeURL, ""), ModelGroup
		case "parallel":
			yaml, model = ParallelConfig(fakeURL), ModelGroup
		default:
			return nil, fmt.Errorf("unknown config %q (redis, anthropic, typical, keys, keys-master, plain, plain-module)", sd.Config)
		}
		path := filepath.Join(so.WorkDir, "config.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			return nil, err
		}
		gate, err := StartLLMGateAs(&so, path, sd.Label, model, sd.Args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sd.Label, err)
		}
		defer gate.Stop()
		if sd.Config == "keys" || sd.Config == "keys-master" {
			master := gate.Endpoint
			if _, _, err := IssueKeys(gate, KeysInStore); err != nil {
				return nil, fmt.Errorf("%s: %w", sd.Label, err)
			}
			if sd.Config == "keys-master" {
				gate.Endpoint = master
			}
		}
		gates = append(gates, gate)
	}
	var out []VariantResult
	var gateOf []int
	for _, f := range interleaved(o, concs, gates) {
		gateOf = append(gateOf, f.Gate)
		out = append(out, VariantResult{Side: sides[f.Gate], Concurrency: f.Concurrency, Figure: f.Figure, CPU: f.CPU, Pooled: f.Pooled, EnvoyRuns: f.EnvoyRuns, RunQ: f.RunQ, RunRPS: f.RunRPS, SumRuns: f.SumRuns})
	}
	if o.VariantStreams {
		// Time to first token, side by side in the same runs (issue 10's
		// streaming target against plain Envoy's; D125).
		c := &http.Client{Timeout: 30 * time.Second}
		direct := &Target{Endpoint: Endpoint{Name: "direct", URL: fakeURL + "/v1/chat/completions", Model: "gpt-4o", Header: bearer()}}
		ttft, base, err := interleavedStreams(o, direct, gates, func(e Endpoint) (StreamResult, error) { return Stream(context.Background(), c, e) })
		if err != nil {
			return out, fmt.Errorf("streams: %w", err)
		}
		for i := range out {
			out[i].TTFTRuns, out[i].DirectTTFT = ttft[gateOf[i]], base
		}
	}
	return out, nil
}

// PairedTTFTDelta is the median over streaming runs of a's time to first
// token minus b's in the same run, with the number of runs a was lower.
func PairedTTFTDelta(a, b VariantResult) (median time.Duration, lower, runs int) {
	return PairedDelta(a.TTFTRuns, b.TTFTRuns)
}

// AddedTTFT is the median over streaming runs of the side's time to first
// token minus the direct call's in the same run.
func (r VariantResult) AddedTTFT() time.Duration {
	d := make([]time.Duration, 0, len(r.TTFTRuns))
	for i, t := range r.TTFTRuns {
		if i < len(r.DirectTTFT) {
			d = append(d, t-r.DirectTTFT[i])
		}
	}
	if len(d) == 0 {
		return 0
	}
	return median(d)
}

// PairedEnvoyDelta is the median over runs of a's Envoy CPU per request
// minus b's in the same run (interleaved runs are pairs: a shared host's
// drift cancels in each difference), with the number of runs a was lower.
func PairedEnvoyDelta(a, b VariantResult) (median time.Duration, lower, runs int) {
	return PairedDelta(a.EnvoyRuns, b.EnvoyRuns)
}

// PairedLatencyDelta is PairedEnvoyDelta for a percentile of each run's
// latency (q picks it: p50, p99, …).
func PairedLatencyDelta(a, b VariantResult, q func(Quantiles) time.Duration) (median time.Duration, lower, runs int) {
	pick := func(rs []Quantiles) []time.Duration {
		out := make([]time.Duration, len(rs))
		for i, r := range rs {
			out[i] = q(r)
		}
		return out
	}
	return PairedDelta(pick(a.RunQ), pick(b.RunQ))
}

// PairedDelta is the median over runs of a[i] − b[i] and the number of
// runs where a was lower.
func PairedDelta(a, b []time.Duration) (median time.Duration, lower, runs int) {
	n := min(len(a), len(b))
	if n == 0 {
		return 0, 0, 0
	}
	ds := make([]time.Duration, n)
	for i := range n {
		ds[i] = a[i] - b[i]
		if ds[i] < 0 {
			lower++
		}
	}
	slices.Sort(ds)
	if n%2 == 1 {
		return ds[n/2], lower, n
	}
	return (ds[n/2-1] + ds[n/2]) / 2, lower, n
}

// interleavedStreams measures time to first token: o.Runs runs, each
// streaming the direct call first (the run's baseline) and then every gate
// for o.StreamDuration (at least 3 streams), one gate later each run as in
// interleaved. It returns each gate's TTFT per run (the median of its
// streams) and the direct call's per run.
func interleavedStreams(o *Options, direct *Target, gates []*Target, stream func(Endpoint) (StreamResult, error)) ([][]time.Duration, []time.Duration, error) {
	probe := func(e Endpoint) (time.Duration, error) {
		var ts []time.Duration
		end := time.Now().Add(o.StreamDuration)
		for time.Now().Before(end) || len(ts) < 3 {
			r, err := stream(e)
			if err != nil {
				return 0, err
			}
			ts = append(ts, r.TTFT)
		}
		return median(ts), nil
	}
	out := make([][]time.Duration, len(gates))
	var base []time.Duration
	for run := 0; run < o.Runs; run++ {
		d, err := probe(direct.Endpoint)
		if err != nil {
			return nil, nil, err
		}
		base = append(base, d)
		for k := range gates {
			i := (k + run) % len(gates)
			t, err := probe(gates[i].Endpoint)
			if err != nil {
				return nil, nil, err
			}
			out[i] = append(out[i], t)
		}
	}
	return out, base, nil
}
