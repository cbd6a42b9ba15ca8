package bench

import (
	"fmt"
	"os"
	"path/filepath"
	"time"
)

// ObservedSide is one gateway of an observability comparison: a binary, a
// config (the typical one, or ObservedConfig) and `llmgate run` flags.
type ObservedSide struct {
	Label    string
	Bin      string
	Observed bool
	Args     []string
	// Env are extra environment variables of the observed config
	// (environment_variables), e.g. OTEL_TRACES_SAMPLER.
	Env map[string]string
}

// ObservedResult is one side at one concurrency: the median run and the
// median CPU per request of llmgate and its Envoy.
type ObservedResult struct {
	Side        ObservedSide
	Concurrency int
	Figure      LatencyFigure
	CPU         map[string]time.Duration
}

// ObservedOverhead measures issue 12's cost of observing: every side's
// llmgate runs at once on the same fake provider and export sink, and
// every run measures all of them in turn at each concurrency (so that a
// shared machine's drift hits them alike), closed loop, o.Runs runs of
// o.Duration.
func ObservedOverhead(o *Options, fakeURL string, concs []int, sides []ObservedSide) ([]ObservedResult, error) {
	sink, err := startSink()
	if err != nil {
		return nil, err
	}
	defer sink.Close()
	type running struct {
		side ObservedSide
		gate *Target
		rs   []LoadResult
		cpu  map[string][]time.Duration
	}
	var rr []*running
	for i, sd := range sides {
		so := *o
		so.WorkDir = filepath.Join(o.WorkDir, fmt.Sprintf("observed-%d", i))
		if sd.Bin != "" {
			so.LLMGateBin = sd.Bin
		}
		if !sd.Observed || sd.Bin != "" || i != 1 {
			so.PprofAddr = "" // pprof (--llmgate-pprof) on the first observed side only
		}
		if err := os.MkdirAll(so.WorkDir, 0o700); err != nil {
			return nil, err
		}
		yaml := TypicalConfig(fakeURL, "")
		if sd.Observed {
			yaml = ObservedConfigEnv(fakeURL, sink.URL, sd.Env)
		}
		path := filepath.Join(so.WorkDir, "config.yaml")
		if err := os.WriteFile(path, []byte(yaml), 0o600); err != nil {
			return nil, err
		}
		gate, err := StartLLMGateAs(&so, path, sd.Label, ModelGroup, sd.Args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", sd.Label, err)
		}
		defer gate.Stop()
		rr = append(rr, &running{side: sd, gate: gate})
	}
	var out []ObservedResult
	for _, conc := range concs {
		for _, r := range rr {
			ClosedLoop(r.gate.Endpoint, conc, o.Warmup)
			r.rs, r.cpu = nil, map[string][]time.Duration{}
		}
		for run := 0; run < o.Runs; run++ {
			for _, r := range rr {
				r.rs = append(r.rs, cpuPerRequest(r.gate, r.cpu, func() LoadResult { return ClosedLoop(r.gate.Endpoint, conc, o.Duration) }))
			}
		}
		for _, r := range rr {
			out = append(out, ObservedResult{Side: r.side, Concurrency: conc, Figure: medianFigure(r.rs), CPU: medianCPU(r.cpu)})
		}
	}
	return out, nil
}
