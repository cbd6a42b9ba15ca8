package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"
)

// Options shape one benchmark run. DefaultOptions and SmokeOptions are the
// two presets `make bench` and `make bench-smoke` use.
type Options struct {
	LLMGateBin, FakeLLMBin, EnvoyBin string
	// LiteLLMBin is the `litellm` executable; empty skips LiteLLM with
	// LiteLLMSkip as the reason.
	LiteLLMBin  string
	LiteLLMSkip string
	Pin         Pinning
	// PprofAddr, when set, is passed to llmgate as LLMGATE_PPROF_ADDR.
	PprofAddr string

	Concurrencies    []int
	Runs             int           // each figure is the median of this many runs
	Duration         time.Duration // of one closed-loop run
	Warmup           time.Duration
	ProbeDuration    time.Duration // of one step of the throughput search
	ProbeSteps       int
	LatencyBound     time.Duration // p99 bound of the throughput search (50 ms)
	StreamDuration   time.Duration // of one streaming run per target
	StreamChunks     int
	ChunkDelay       time.Duration
	ReplySize        int
	RSSRate          int // open-loop rate for the RSS-under-load figure
	RSSDuration      time.Duration
	OtherConfigs     bool // also measure llmgate on the rpm/tpm-on-Redis and Anthropic configs
	ScaleSizes       []int
	ScaleSotW        bool // the scale Envoy on state-of-the-world ADS (for comparison)
	Reloads          int
	EnvoyConcurrency int
	WorkDir          string
	Log              io.Writer

	// ScaleExtProc: the scale run in ext_proc mode (per-cluster attempt
	// filters, SDS secrets) instead of module mode, the default product
	// (D55, D62: the module loaded, bare clusters, the router's shared
	// upstream filters, the module's table).
	ScaleExtProc bool

	// VariantStreams: VariantsOverhead also measures every side's time to
	// first token, o.Runs streaming runs after the closed-loop ones (D125).
	VariantStreams bool
}

// DefaultOptions is `make bench`: about four minutes on two cores.
func DefaultOptions() Options {
	return Options{
		Concurrencies: []int{1, 16, 64}, Runs: 3, Duration: 2 * time.Second, Warmup: time.Second,
		ProbeDuration: 1500 * time.Millisecond, ProbeSteps: 4, LatencyBound: 50 * time.Millisecond,
		StreamDuration: 1500 * time.Millisecond, StreamChunks: 100, ChunkDelay: time.Millisecond, ReplySize: 1024,
		RSSRate: 1000, RSSDuration: 3 * time.Second, ScaleSizes: []int{10, 1000, 10000}, Reloads: 3, OtherConfigs: true,
		EnvoyConcurrency: 1,
	}
}

// SmokeOptions is `make bench-smoke`: tiny durations, one run, no LiteLLM;
// it proves the tool works, its figures mean little.
func SmokeOptions() Options {
	o := DefaultOptions()
	o.Runs, o.Duration, o.Warmup = 1, 500*time.Millisecond, 200*time.Millisecond
	o.ProbeDuration, o.ProbeSteps = 400*time.Millisecond, 2
	o.StreamDuration, o.RSSDuration = 500*time.Millisecond, 500*time.Millisecond
	o.ScaleSizes, o.Reloads = []int{10, 1000}, 1
	return o
}

func (o *Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, "llmbench: "+format+"\n", args...)
	}
}

// LatencyFigure is one target at one concurrency, medians over the runs.
type LatencyFigure struct {
	Latency    Quantiles
	Added      Quantiles // over direct, run by run, then the median
	Throughput float64   // requests per second (closed loop)
	Errors     int       // over all runs
	FirstErr   string
}

// StreamFigure is the streaming probe of one target (medians over runs).
type StreamFigure struct {
	TTFT, Gap           time.Duration // p50 of the streams in a run
	AddedTTFT, AddedGap time.Duration
	Streams             int
	// Ref names the direct stream AddedTTFT is taken against when it is not
	// the OpenAI-format direct call (streamref.go: an Anthropic stream
	// against the fake's own Anthropic stream); RefTTFT is its time to first
	// token, AddedOverDirect the added time over the OpenAI-format direct call.
	Ref                      string
	RefTTFT, AddedOverDirect time.Duration
}

// PartFigure is the memory and CPU of one process of a target.
type PartFigure struct {
	Name       string
	IdleRSS    int64
	PeakRSS    int64         // VmHWM at the end of the load runs
	RSSAtRate  int64         // highest RSS sampled during the RSSRate run (0: not run)
	CPUPer1000 time.Duration // CPU time per 1,000 requests at the top concurrency
}

// TargetReport is everything measured for one target.
type TargetReport struct {
	Name    string
	Skipped string
	// Config says what an "other config" target runs (issue 10: rpm/tpm
	// limits on Redis, a translated Anthropic deployment); empty for the
	// main targets, which run the typical config. Other configs get the
	// latency and streaming figures, not the throughput search or RSS probe.
	Config  string
	Latency map[int]*LatencyFigure
	// MaxRPS is the highest rate of the search whose p99 stayed under
	// LatencyBound with no errors; MaxRPSCeiling means the search's upper
	// bound passed (the real limit is at least MaxRPS).
	MaxRPS        float64
	MaxRPSCeiling bool
	Stream        StreamFigure
	Parts         []*PartFigure
	// AtRate is the RSSRate open-loop run: achieved rate and p99.
	AtRateRPS float64
	AtRateP99 time.Duration
	// SpendLogs is the number of spend logs the target's PostgreSQL held
	// at the end of the run (llmgate-keys-pg).
	SpendLogs int64
}

// Report is one benchmark run.
type Report struct {
	Started  time.Time
	Elapsed  time.Duration
	Options  Options
	Targets  []*TargetReport
	Scale    []ScaleResult
	ScaleErr string
	Reloads  []time.Duration
}

// Target finds a target's report by name (nil when absent).
func (r *Report) Target(name string) *TargetReport {
	for _, t := range r.Targets {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// Run starts every target, measures, stops them and returns the report.
func Run(ctx context.Context, o Options) (*Report, error) {
	rep := &Report{Started: time.Now(), Options: o}
	if o.WorkDir == "" {
		d, err := os.MkdirTemp("", "llmbench-")
		if err != nil {
			return nil, err
		}
		defer os.RemoveAll(d)
		o.WorkDir = d
	}
	op := &o

	fake, err := StartFake(op)
	if err != nil {
		return nil, fmt.Errorf("fake provider: %w", err)
	}
	defer fake.Stop()
	op.logf("fake provider at %s", fake.FakeBase())

	cfgPath := filepath.Join(o.WorkDir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(TypicalConfig(fake.FakeBase(), "")), 0o600); err != nil {
		return nil, err
	}
	litePath := filepath.Join(o.WorkDir, "litellm-config.yaml")
	if err := os.WriteFile(litePath, []byte(TypicalConfig(fake.FakeBase(), "")), 0o600); err != nil {
		return nil, err
	}

	targets := []*Target{fake}
	rep.Targets = append(rep.Targets, &TargetReport{Name: "direct"})
	plain, err := StartPlainEnvoy(op, fake)
	if err != nil {
		return nil, fmt.Errorf("plain envoy: %w", err)
	}
	defer plain.Stop()
	targets = append(targets, plain)
	rep.Targets = append(rep.Targets, &TargetReport{Name: "envoy"})
	op.logf("plain envoy at %s", plain.URL)

	gate, err := StartLLMGate(op, cfgPath)
	if err != nil {
		return nil, fmt.Errorf("llmgate: %w", err)
	}
	defer gate.Stop()
	targets = append(targets, gate)
	rep.Targets = append(rep.Targets, &TargetReport{Name: "llmgate"})
	op.logf("llmgate at %s", gate.URL)

	liteRep := &TargetReport{Name: "litellm", Skipped: o.LiteLLMSkip}
	rep.Targets = append(rep.Targets, liteRep)
	if o.LiteLLMBin != "" {
		op.logf("starting LiteLLM (%s)", o.LiteLLMBin)
		lite, err := StartLiteLLM(op, litePath)
		if err != nil {
			liteRep.Skipped = "LiteLLM did not start: " + firstLine(err.Error())
			op.logf("skipping LiteLLM: %v", err)
		} else {
			defer lite.Stop()
			targets = append(targets, lite)
			op.logf("litellm at %s", lite.URL)
		}
	} else if liteRep.Skipped == "" {
		liteRep.Skipped = "not requested"
	}
	// The other configs: llmgate only (LiteLLM on them would add minutes).
	variants := map[*Target]bool{}
	if o.OtherConfigs {
		addVariant := func(name, desc, model, yaml string, args ...string) *Target {
			tr := &TargetReport{Name: name, Config: desc}
			rep.Targets = append(rep.Targets, tr)
			path := filepath.Join(o.WorkDir, name+".yaml")
			if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
				tr.Skipped = err.Error()
				return nil
			}
			v, err := StartLLMGateAs(op, path, name, model, args...)
			if err != nil {
				tr.Skipped = "did not start: " + firstLine(err.Error())
				op.logf("skipping %s: %v", name, err)
				return nil
			}
			op.logf("%s at %s", name, v.URL)
			targets = append(targets, v)
			variants[v] = true
			return v
		}
		redis, redisAddr, err := StartRedis(op)
		if err != nil {
			rep.Targets = append(rep.Targets, &TargetReport{Name: "llmgate-redis", Config: redisDesc, Skipped: err.Error()})
		} else {
			defer redis.Stop(time.Second)
			addVariant("llmgate-redis", redisDesc, RedisModelGroup, RedisConfig(fake.FakeBase(), redisAddr))
		}
		// The typical config with the ext_proc request filter alone (the
		// llmgate row runs the default, the module in Envoy: D53, D56).
		addVariant("llmgate-extproc", extprocDesc, ModelGroup, TypicalConfig(fake.FakeBase(), ""), "--request-filter=extproc")
		addVariant("llmgate-anthropic", anthropicDesc, AnthropicModelGroup, AnthropicConfig(fake.FakeBase()))
		if sink, err := startSink(); err != nil {
			rep.Targets = append(rep.Targets, &TargetReport{Name: "llmgate-observed", Config: observedDesc, Skipped: err.Error()})
		} else {
			defer sink.Close()
			addVariant("llmgate-observed", observedDesc, ModelGroup, ObservedConfig(fake.FakeBase(), sink.URL))
		}
		if v := addVariant("llmgate-keys", keysDesc, ModelGroup, TypicalConfig(fake.FakeBase(), "")); v != nil {
			if _, took, err := IssueKeys(v, KeysInStore); err != nil {
				rep.Target(v.Name).Skipped = "keys not issued: " + firstLine(err.Error())
				targets = slices.DeleteFunc(targets, func(t *Target) bool { return t == v })
			} else {
				op.logf("llmgate-keys: %d keys issued in %s", KeysInStore, took.Round(time.Millisecond))
			}
		}
		// The same with the keys, spend and spend logs in PostgreSQL (D123).
		if pg, dbURL, err := StartPostgres(op); err != nil {
			rep.Targets = append(rep.Targets, &TargetReport{Name: "llmgate-keys-pg", Config: keysPGDesc, Skipped: firstLine(err.Error())})
		} else {
			defer pg.Close()
			if v := addVariant("llmgate-keys-pg", keysPGDesc, ModelGroup, KeysPGConfig(fake.FakeBase(), dbURL)); v != nil {
				if _, took, err := IssueKeys(v, KeysInStore); err != nil {
					rep.Target(v.Name).Skipped = "keys not issued: " + firstLine(err.Error())
					targets = slices.DeleteFunc(targets, func(t *Target) bool { return t == v })
				} else {
					op.logf("llmgate-keys-pg: %d keys issued in %s", KeysInStore, took.Round(time.Millisecond))
					defer func() {
						if n, err := countSpendLogs(pg, dbURL, 2*time.Second); err == nil {
							rep.Target(v.Name).SpendLogs = n
						} else {
							op.logf("llmgate-keys-pg: counting spend logs: %v", err)
						}
					}()
				}
			}
		}
		for v := range variants {
			defer v.Stop()
		}
	}
	reportOf := func(t *Target) *TargetReport { return rep.Target(t.Name) }

	// Idle memory: after a few sequential requests, then a quiet moment.
	c := &http.Client{Timeout: 10 * time.Second}
	for _, t := range targets {
		for i := 0; i < 10; i++ {
			_, _, _ = postOnce(ctx, c, t.Endpoint)
		}
	}
	time.Sleep(500 * time.Millisecond)
	for _, t := range targets {
		tr := reportOf(t)
		tr.Latency = map[int]*LatencyFigure{}
		for _, p := range t.Parts {
			tr.Parts = append(tr.Parts, &PartFigure{Name: p.Name, IdleRSS: p.Sample().RSS})
		}
	}
	for _, t := range targets {
		op.logf("warm-up %s", t.Name)
		ClosedLoop(t.Endpoint, 16, o.Warmup)
	}
	// Memory at a fixed rate (the ext_proc RSS target is stated at 1,000
	// rps), after the warm-up and before the closed-loop phases, as
	// --rss-only measures it: a Go process keeps for minutes the heap it grew
	// at concurrency 64 (several times this rate), so measured after those
	// phases the figure was theirs, not this rate's.
	for _, t := range []*Target{plain, gate} {
		rssAtRate(op, t, reportOf(t))
	}

	// Closed-loop latency: runs × concurrencies × targets, interleaved so that
	// drift on a shared machine hits every target alike, in an order that
	// rotates from run to run (runOrder).
	top := slices.Max(o.Concurrencies)
	perRun := map[string]map[int][]Quantiles{}
	added := map[string]map[int][]Quantiles{}
	rps := map[string]map[int][]float64{}
	cpu := map[string][][]time.Duration{} // target → part → per-run CPU per 1,000
	for _, t := range targets {
		perRun[t.Name], added[t.Name], rps[t.Name] = map[int][]Quantiles{}, map[int][]Quantiles{}, map[int][]float64{}
		cpu[t.Name] = make([][]time.Duration, len(t.Parts))
	}
	for run := 1; run <= o.Runs; run++ {
		for _, conc := range o.Concurrencies {
			var direct Quantiles
			for _, t := range runOrder(targets, run, o.Runs) {
				before := make([]time.Duration, len(t.Parts))
				for i, p := range t.Parts {
					before[i] = p.Sample().CPU
				}
				r := ClosedLoop(t.Endpoint, conc, o.Duration)
				q := r.Quantiles()
				if t == fake {
					direct = q
				}
				perRun[t.Name][conc] = append(perRun[t.Name][conc], q)
				added[t.Name][conc] = append(added[t.Name][conc], q.Sub(direct))
				rps[t.Name][conc] = append(rps[t.Name][conc], r.Throughput())
				f := reportOf(t).Latency[conc]
				if f == nil {
					f = &LatencyFigure{}
					reportOf(t).Latency[conc] = f
				}
				f.Errors += r.Errors
				if f.FirstErr == "" {
					f.FirstErr = r.FirstErr
				}
				if conc == top && len(r.Latencies) > 0 {
					for i, p := range t.Parts {
						d := p.Sample().CPU - before[i]
						cpu[t.Name][i] = append(cpu[t.Name][i], d*1000/time.Duration(len(r.Latencies)))
					}
				}
				op.logf("run %d/%d c=%-3d %-8s p50 %-9s p99 %-9s %7.0f rps  errors %d", run, o.Runs, conc, t.Name, q.P50.Round(time.Microsecond), q.P99.Round(time.Microsecond), r.Throughput(), r.Errors)
			}
		}
	}
	for _, t := range targets {
		tr := reportOf(t)
		for _, conc := range o.Concurrencies {
			f := tr.Latency[conc]
			f.Latency = medianQuantiles(perRun[t.Name][conc])
			f.Added = medianQuantiles(added[t.Name][conc])
			f.Throughput = median(rps[t.Name][conc])
		}
		for i := range t.Parts {
			tr.Parts[i].CPUPer1000 = median(cpu[t.Name][i])
		}
	}

	// Throughput search: the highest open-loop rate with p99 under the bound.
	for _, t := range targets {
		if variants[t] {
			continue
		}
		tr := reportOf(t)
		tr.MaxRPS, tr.MaxRPSCeiling = searchThroughput(op, t, tr.Latency[top].Throughput)
		op.logf("%-8s max %.0f rps with p99 < %s", t.Name, tr.MaxRPS, o.LatencyBound)
	}

	// Streaming: time to first token and the gap between chunks.
	ttft, gap := map[string][]time.Duration{}, map[string][]time.Duration{}
	addT, addG := map[string][]time.Duration{}, map[string][]time.Duration{}
	refT, addD := map[string][]time.Duration{}, map[string][]time.Duration{}
	for run := 1; run <= o.Runs; run++ {
		var dT, dG time.Duration
		for _, t := range runOrder(targets, run, o.Runs) {
			sc := &http.Client{Timeout: 30 * time.Second}
			probe := func(one func() (StreamResult, error)) (time.Duration, time.Duration, int, error) {
				var ts, gs []time.Duration
				end := time.Now().Add(o.StreamDuration)
				for time.Now().Before(end) || len(ts) < 3 {
					r, err := one()
					if err != nil {
						return 0, 0, 0, err
					}
					ts, gs = append(ts, r.TTFT), append(gs, r.Gap)
				}
				return median(ts), median(gs), len(ts), nil
			}
			// A translated target's reference: the provider's own stream,
			// called directly right before it in the same run (streamref.go).
			rT, rG := dT, dG
			if ref, ok := streamReference(t, fake.FakeBase()); ok {
				var err error
				if rT, rG, _, err = probe(func() (StreamResult, error) { return ref(ctx, sc) }); err != nil {
					return nil, err
				}
				refT[t.Name] = append(refT[t.Name], rT)
				op.logf("stream run %d/%d %s (reference of %s) ttft %s gap %s", run, o.Runs, AnthropicDirectName, t.Name, rT.Round(time.Microsecond), rG.Round(time.Microsecond))
			}
			mt, mg, n, err := probe(func() (StreamResult, error) { return Stream(ctx, sc, t.Endpoint) })
			if err != nil {
				return nil, err
			}
			if t == fake {
				dT, dG, rT, rG = mt, mg, mt, mg
			}
			ttft[t.Name], gap[t.Name] = append(ttft[t.Name], mt), append(gap[t.Name], mg)
			addT[t.Name], addG[t.Name] = append(addT[t.Name], mt-rT), append(addG[t.Name], mg-rG)
			addD[t.Name] = append(addD[t.Name], mt-dT)
			reportOf(t).Stream.Streams += n
			op.logf("stream run %d/%d %-8s ttft %-9s gap %s (%d streams)", run, o.Runs, t.Name, mt.Round(time.Microsecond), mg.Round(time.Microsecond), n)
		}
	}
	for _, t := range targets {
		s := &reportOf(t).Stream
		s.TTFT, s.Gap, s.AddedTTFT, s.AddedGap = median(ttft[t.Name]), median(gap[t.Name]), median(addT[t.Name]), median(addG[t.Name])
		if len(refT[t.Name]) > 0 {
			s.Ref, s.RefTTFT, s.AddedOverDirect = AnthropicDirectName, median(refT[t.Name]), median(addD[t.Name])
		}
	}

	for _, t := range targets {
		tr := reportOf(t)
		for i, p := range t.Parts {
			tr.Parts[i].PeakRSS = p.Sample().HWM
		}
	}

	// Hot reload: config file change → the new api_base serving.
	if o.Reloads > 0 {
		rep.Reloads, err = ReloadTimes(ctx, gate, cfgPath, fake.FakeBase(), o.Reloads, 2500*time.Millisecond)
		if err != nil {
			return nil, fmt.Errorf("reload: %w", err)
		}
		op.logf("reload → serving: %v", rep.Reloads)
	}

	// The proxies are done; the control-plane figures get the machine alone
	// (the fake provider stays up: it is the api_base of every deployment).
	for _, t := range targets[1:] {
		t.Stop()
	}
	if len(o.ScaleSizes) > 0 {
		op.logf("control plane scale %v", o.ScaleSizes)
		rep.Scale, err = ControlPlaneScale(ctx, op, fake.FakeBase(), o.ScaleSizes)
		if err != nil {
			rep.ScaleErr = err.Error()
			op.logf("control plane scale: %v", err)
		}
		for _, s := range rep.Scale {
			op.logf("%s deployments: parse %s build %s push %s (Envoy CPU %s)", s.Name(), s.Parse.Round(time.Millisecond), s.Build.Round(time.Millisecond), s.Push.Round(time.Millisecond), s.EnvoyCPU)
		}
	}
	rep.Elapsed = time.Since(rep.Started)
	return rep, nil
}

// rssAtRate runs t open loop at o.RSSRate for o.RSSDuration and records in
// tr the highest RSS sampled of each of its parts, the rate achieved and the
// p99.
func rssAtRate(o *Options, t *Target, tr *TargetReport) {
	peaks, r := RSSAtRate(t, o.RSSRate, o.RSSDuration)
	for i := range t.Parts {
		tr.Parts[i].RSSAtRate = peaks[i]
	}
	tr.AtRateRPS, tr.AtRateP99 = float64(len(r.Latencies))/o.RSSDuration.Seconds(), r.Quantiles().P99
	o.logf("%-8s at %d rps: achieved %.0f rps, p99 %s, errors %d", t.Name, o.RSSRate, tr.AtRateRPS, tr.AtRateP99.Round(time.Microsecond), r.Errors)
}

// RSSAtRate runs t open loop at rate for d and returns the highest RSS
// sampled (every 50 ms) of each of its parts, and the run.
func RSSAtRate(t *Target, rate int, d time.Duration) ([]int64, LoadResult) {
	stop := make(chan struct{})
	peaks := make([]int64, len(t.Parts))
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			for i, p := range t.Parts {
				peaks[i] = max(peaks[i], p.Sample().RSS)
			}
			select {
			case <-stop:
				return
			case <-tick.C:
			}
		}
	}()
	r := OpenLoop(t.Endpoint, rate, d, 2*time.Second)
	close(stop)
	<-done
	return peaks, r
}

// runOrder is the order in which run (1…runs) measures the targets: the
// direct call first (every other target's added latency is taken against
// it, run by run), then the others in an order that changes from run to run
// (a target measured second read slower whatever it was, D88, and a fixed
// order put that on one target in every run and kept each pair of targets
// in one order). Runs go by twos: the others rotated to start at some
// target, then the same rotation reversed, so every pair of targets is
// measured in both orders; each two runs start further along the list. With
// an even number of others the starts are even, and then no target is
// measured at the same place in two runs (for as many runs as targets).
func runOrder(targets []*Target, run, runs int) []*Target {
	rest := targets[min(1, len(targets)):]
	n, k := len(rest), (runs+1)/2
	if n < 2 || runs < 2 {
		return targets
	}
	start := (run - 1) / 2 * n / k % n
	if n%2 == 0 {
		start &^= 1
	}
	out := append(append(slices.Clone(targets[:1]), rest[start:]...), rest[:start]...)
	if run%2 == 0 {
		slices.Reverse(out[1:])
	}
	return out
}

// searchThroughput finds the highest open-loop rate at which every request
// succeeds, p99 stays under the bound and the target keeps up. It climbs from
// a tenth of the closed-loop throughput, doubling, until a rate fails (or
// 1.3× the closed-loop rate passes), then bisects between the last pass and
// the first failure. After a failed step it waits until the target answers
// quickly again, so one overload does not spoil the next step.
func searchThroughput(o *Options, t *Target, closedLoop float64) (float64, bool) {
	ceiling := max(closedLoop*1.3, 10)
	pass := func(rate int) bool {
		r := OpenLoop(t.Endpoint, rate, o.ProbeDuration, 2*time.Second)
		ok := r.Errors == 0 && r.Quantiles().P99 < o.LatencyBound &&
			float64(len(r.Latencies)) >= 0.95*float64(rate)*o.ProbeDuration.Seconds()
		o.logf("  %-8s %5d rps: p99 %-9s errors %d ok=%v", t.Name, rate, r.Quantiles().P99.Round(time.Microsecond), r.Errors, ok)
		if ok {
			time.Sleep(200 * time.Millisecond)
		} else {
			settle(t)
		}
		return ok
	}
	lo, hi := 0.0, 0.0
	for rate := max(closedLoop/10, 1); ; rate *= 2 {
		rate = min(rate, ceiling)
		if !pass(int(rate)) {
			hi = rate
			break
		}
		lo = rate
		if rate >= ceiling {
			return float64(int(lo)), true
		}
	}
	for i := 0; i < o.ProbeSteps && hi-lo >= 2; i++ {
		mid := (lo + hi) / 2
		if pass(int(mid)) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return float64(int(lo)), false
}

// settle waits (up to 5 s) until three sequential requests each answer
// within 50 ms: an overloaded target has drained its queue.
func settle(t *Target) {
	c := &http.Client{Timeout: 2 * time.Second}
	deadline := time.Now().Add(5 * time.Second)
	for good := 0; good < 3 && time.Now().Before(deadline); {
		start := time.Now()
		code, _, err := postOnce(context.Background(), c, t.Endpoint)
		if err == nil && code == http.StatusOK && time.Since(start) < 50*time.Millisecond {
			good++
		} else {
			good = 0
			time.Sleep(100 * time.Millisecond)
		}
	}
	time.Sleep(300 * time.Millisecond)
}

const (
	redisDesc     = "rpm/tpm limits counted in Redis (usage-based-routing-v2, 3 deployments)"
	anthropicDesc = "Anthropic deployments, translated (3 deployments, simple-shuffle)"
	extprocDesc   = "the typical config with --request-filter=extproc: the gateway's ext_proc request filter serves every request, one ext_proc stream each (D46)"
	observedDesc  = "the typical config with callbacks prometheus, otel (every request traced) and generic_api, exporting to a local receiver"
)

func firstLine(s string) string {
	for i, r := range s {
		if r == '\n' {
			return s[:i]
		}
	}
	return s
}
