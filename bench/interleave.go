package bench

import (
	"slices"
	"time"
)

// interleavedFigure is one gate at one concurrency of an interleaved run:
// its median run and the median CPU per request of each of its parts.
type interleavedFigure struct {
	Gate        int // index into the gates
	Concurrency int
	Figure      LatencyFigure
	CPU         map[string]time.Duration
	// Pooled is every run's requests together (tail.go).
	Pooled Tail
	// EnvoyRuns is Envoy's CPU per request of each run, in run order (the
	// runs of all gates are interleaved: run i of two gates is a pair).
	EnvoyRuns []time.Duration
	// RunQ is each run's percentiles, in run order.
	RunQ []Quantiles
	// RunRPS is each run's throughput, in run order.
	RunRPS []float64
	// SumRuns is each run's CPU per request of all parts together.
	SumRuns []time.Duration
}

// interleaved measures every gate in turn at each concurrency, closed
// loop: a warm-up each, then o.Runs rounds in which every gate runs
// o.Duration (so that a shared machine's drift hits them alike), each round
// starting one gate later than the last. The
// figures come by concurrency, then by gate.
func interleaved(o *Options, concs []int, gates []*Target) []interleavedFigure {
	rs := make([][]LoadResult, len(gates))
	cpu := make([]map[string][]time.Duration, len(gates))
	var out []interleavedFigure
	for _, conc := range concs {
		for i, g := range gates {
			ClosedLoop(g.Endpoint, conc, o.Warmup)
			rs[i], cpu[i] = nil, map[string][]time.Duration{}
		}
		for run := 0; run < o.Runs; run++ {
			// Each run starts one gate later: the gate measured second read
			// slower whatever it was (D88), so no gate keeps one place.
			for k := range gates {
				i := (k + run) % len(gates)
				g := gates[i]
				rs[i] = append(rs[i], cpuPerRequest(g, cpu[i], func() LoadResult { return ClosedLoop(g.Endpoint, conc, o.Duration) }))
			}
		}
		for i := range gates {
			runs := slices.Clone(cpu[i]["envoy"]) // before medianCPU sorts them
			var sums []time.Duration
			for _, part := range cpu[i] {
				for k, d := range part {
					if k >= len(sums) {
						sums = append(sums, 0)
					}
					sums[k] += d
				}
			}
			q := make([]Quantiles, len(rs[i])) // before medianFigure sorts the runs
			rps := make([]float64, len(rs[i]))
			for k, r := range rs[i] {
				q[k], rps[k] = r.Quantiles(), r.Throughput()
			}
			out = append(out, interleavedFigure{Gate: i, Concurrency: conc, Figure: medianFigure(rs[i]), CPU: medianCPU(cpu[i]), Pooled: PooledTail(rs[i]), EnvoyRuns: runs, RunQ: q, RunRPS: rps, SumRuns: sums})
		}
	}
	return out
}
