package bench

import (
	"fmt"
	"time"
)

// overheadChecks read target x against ref, measured in the same runs:
// ≤ 0.1 ms p50 added at the lowest concurrency (titled t1) and ≤ 5 %
// throughput lost at the highest (t2; note is appended to its figure and
// extraOK must hold too). Either missing: nothing to check.
func (r *Report) overheadChecks(x, ref *TargetReport, t1, t2, note string, extraOK bool) []Check {
	if x == nil || ref == nil {
		return nil
	}
	lo, top := r.lowConc(), r.topConc()
	if x.Skipped != "" || ref.Skipped != "" || x.Latency[lo] == nil || x.Latency[top] == nil || ref.Latency[lo] == nil || ref.Latency[top] == nil {
		m := "not measured"
		if x.Skipped != "" {
			m = "skipped: " + x.Skipped
		}
		return []Check{{t1, m, "n/a"}, {t2, m, "n/a"}}
	}
	added := x.Latency[lo].Latency.P50 - ref.Latency[lo].Latency.P50
	xt, rt := x.Latency[top].Throughput, ref.Latency[top].Throughput
	return []Check{
		{t1, fmt.Sprintf("%s (p50 %s vs %s)", fmtSigned(added), fmtDur(x.Latency[lo].Latency.P50), fmtDur(ref.Latency[lo].Latency.P50)), verdict(added <= 100*time.Microsecond)},
		{t2, fmt.Sprintf("%+.1f%% (%.0f vs %.0f rps)%s", 100*(xt/rt-1), xt, rt, note), verdict(xt >= 0.95*rt && extraOK)},
	}
}
