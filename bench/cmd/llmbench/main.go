package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/llmgate/llmgate/bench"
	"github.com/llmgate/llmgate/envoy"
)

const pinnedEnv = "LLMBENCH_PINNED"

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "llmbench:", err)
		os.Exit(1)
	}
}

func run() error {
	var (
		smoke        = flag.Bool("smoke", false, "tiny durations, one run, no LiteLLM: proves the tool works")
		llmgateBin   = flag.String("llmgate", "bin/llmgate", "llmgate binary")
		fakeBin      = flag.String("fakellm", "bin/fakellm", "fake provider binary")
		envoyBin     = flag.String("envoy", "", "Envoy binary (default: $ENVOY_BIN, envoy on PATH, .venv)")
		litellmBin   = flag.String("litellm", "", "LiteLLM proxy executable (empty: skip LiteLLM)")
		litellmSkip  = flag.String("litellm-skip", "", "reason LiteLLM is skipped, printed in the report")
		pin          = flag.Bool("pin", true, "pin the load generator and the system under test to different CPUs with taskset")
		doc          = flag.String("doc", "", "write the report into this Markdown file (between the llmbench markers)")
		pprofAddr    = flag.String("llmgate-pprof", "", "serve llmgate's pprof on this address (LLMGATE_PPROF_ADDR)")
		runs         = flag.Int("runs", 0, "override the number of runs")
		duration     = flag.Duration("duration", 0, "override the length of one closed-loop run")
		command      = flag.String("command", "", "the command to print in the report (default: this one)")
		rssOnly      = flag.Int("rss-only", 0, "only llmgate's memory: an open-loop run at this rate (requests per second) for --duration, RSS sampled; prints it, writes no doc")
		sotw         = flag.Bool("sotw", false, "with --scale-only: Envoy on state-of-the-world ADS instead of delta (for comparison)")
		scaleModule  = flag.Bool("scale-module", true, "with --scale-only: module mode, the default (the module loaded and fed its table, the router's shared upstream filters; D55, D62)")
		scaleExtProc = flag.Bool("scale-extproc", false, "with --scale-only or make bench: the control-plane figures in ext_proc mode (--request-filter=extproc) instead of module mode")
		scaleOnly    = flag.String("scale-only", "", "only the control-plane figures, for these comma-separated deployment counts (e.g. 1000,10000); prints them, writes no doc")
		keysOnly     = flag.Int("keys-only", 0, "only the virtual-key figure: this many keys in llmgate's store, the master key against one of them (closed loop, --duration per run); prints it, writes no doc")
		keysBefore   = flag.String("keys-before", "", "with --keys-only: also run this llmgate binary side by side, measured in the same runs (a before/after comparison)")
		keysFields   = flag.String("keys-fields", "", `with --keys-only: more /key/generate fields for every key, JSON members (e.g. '"rpm_limit":100000000,"tpm_limit":1000000000': keys with limits, D83)`)
		obsOnly      = flag.String("observed-only", "", "only issue 12's cost of observing: for each comma-separated request filter (module,extproc) the typical config and llmgate-observed side by side in the same runs (closed loop, --duration per run); prints it, writes no doc")
		obsBefore    = flag.String("observed-before", "", "with --observed-only: also run this llmgate binary's llmgate-observed, measured in the same runs")
		varOnly      = flag.String("variants-only", "", "only the other configs (issue 10: must not regress), side by side: comma-separated config@request-filter (redis, anthropic, typical @ module, extproc; keys: the typical config with 1,000 virtual keys issued, every request with one of them, as make bench's llmgate-keys; keys-master: the same keys in the store, the master key; plain: plain Envoy; plain-module: plain Envoy with the module's two filters and no table, the floor of D81), e.g. redis@module,redis@extproc; prints them, writes no doc")
		varStreams   = flag.Bool("variants-streams", false, "with --variants-only: also time to first token, every side streamed in the same runs after the closed-loop ones (the direct call first in each run; added TTFT paired by run)")
		varBefore    = flag.String("variants-before", "", "with --variants-only: also run each side with these llmgate binaries (comma-separated, each with its libllmgate.so beside it; labelled before:, before2:, …), measured in the same runs")
		concList     = flag.String("concurrencies", "", "override the closed-loop concurrencies, comma-separated (e.g. 1,64)")
		obsEnv       = flag.String("observed-env", "", "with --observed-only: extra environment_variables of the observed config, k=v,k=v (e.g. OTEL_TRACES_SAMPLER=always_off)")
	)
	flag.Parse()

	cmdline := *command
	if cmdline == "" {
		argv0 := os.Args[0]
		if wd, err := os.Getwd(); err == nil {
			if rel, err := filepath.Rel(wd, argv0); err == nil && !strings.HasPrefix(rel, "..") {
				argv0 = rel
			}
		}
		cmdline = strings.Join(append([]string{argv0}, os.Args[1:]...), " ")
	}
	pinning := bench.Pinning{}
	if *pin {
		p, err := setupPinning()
		if err != nil {
			return err
		}
		pinning = p
	}

	o := bench.DefaultOptions()
	if *smoke {
		o = bench.SmokeOptions()
	}
	if *runs > 0 {
		o.Runs = *runs
	}
	if *duration > 0 {
		o.Duration = *duration
	}
	if *concList != "" {
		o.Concurrencies = nil
		for _, c := range strings.Split(*concList, ",") {
			n, err := strconv.Atoi(strings.TrimSpace(c))
			if err != nil || n < 1 {
				return fmt.Errorf("--concurrencies: %q is not a positive number", c)
			}
			o.Concurrencies = append(o.Concurrencies, n)
		}
	}
	o.LLMGateBin, o.FakeLLMBin, o.Pin, o.PprofAddr = *llmgateBin, *fakeBin, pinning, *pprofAddr
	o.EnvoyBin = *envoyBin
	if o.EnvoyBin == "" {
		b, err := envoy.FindBinary()
		if err != nil {
			return err
		}
		o.EnvoyBin = b
	}
	switch {
	case *smoke:
		o.LiteLLMSkip = "smoke run"
	case *litellmSkip != "":
		o.LiteLLMSkip = *litellmSkip
	case *litellmBin == "":
		o.LiteLLMSkip = "no --litellm given"
	default:
		if _, err := os.Stat(*litellmBin); err != nil {
			o.LiteLLMSkip = fmt.Sprintf("%s not found (%v)", *litellmBin, err)
		} else {
			o.LiteLLMBin = *litellmBin
		}
	}
	if o.LiteLLMSkip != "" && !*smoke {
		fmt.Fprintln(os.Stderr, "llmbench: skipping LiteLLM:", o.LiteLLMSkip)
	}
	o.Log = os.Stderr
	fmt.Fprintf(os.Stderr, "llmbench: %s\n", pinning)

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if *rssOnly > 0 {
		return rssOnlyRun(o, *rssOnly)
	}
	o.ScaleExtProc = *scaleExtProc || !*scaleModule
	if *scaleOnly != "" {
		o.ScaleSotW = *sotw
		return scaleOnlyRun(ctx, o, *scaleOnly)
	}
	if *keysOnly > 0 {
		bench.KeyFields = *keysFields
		return keysOnlyRun(o, *keysOnly, *keysBefore)
	}
	if *varOnly != "" {
		o.VariantStreams = *varStreams
		return variantsOnlyRun(o, *varOnly, *varBefore)
	}
	if *obsOnly != "" {
		return observedOnlyRun(o, *obsOnly, *obsBefore, *obsEnv)
	}
	rep, err := bench.Run(ctx, o)
	if err != nil {
		return err
	}
	md := rep.Markdown(bench.Environment{Commit: commit(), Machine: machine(), Command: cmdline, Versions: versions(o)})
	fmt.Println(md)
	if *doc != "" {
		if err := bench.WriteDoc(*doc, md); err != nil {
			return err
		}
		fmt.Fprintf(os.Stderr, "llmbench: wrote %s\n", *doc)
	}
	if probs := rep.Problems(); len(probs) > 0 {
		for _, p := range probs {
			fmt.Fprintln(os.Stderr, "llmbench: problem:", p)
		}
		if *smoke {
			return fmt.Errorf("%d problem(s)", len(probs))
		}
	}
	fmt.Fprintf(os.Stderr, "llmbench: done in %s\n", rep.Elapsed.Round(time.Second))
	return nil
}

// setupPinning re-executes llmbench under `taskset -c 0` (once) and returns
// the pinning for the processes it starts; no pinning on one CPU or without
// taskset.
func setupPinning() (bench.Pinning, error) {
	if cpuCount() < 2 {
		fmt.Fprintln(os.Stderr, "llmbench: one CPU: not pinning")
		return bench.Pinning{}, nil
	}
	ts, err := exec.LookPath("taskset")
	if err != nil {
		fmt.Fprintln(os.Stderr, "llmbench: taskset not found (util-linux): not pinning")
		return bench.Pinning{}, nil
	}
	if os.Getenv(pinnedEnv) != "1" {
		self, err := os.Executable()
		if err != nil {
			return bench.Pinning{}, err
		}
		argv := append([]string{ts, "-c", "0", self}, os.Args[1:]...)
		return bench.Pinning{}, syscall.Exec(ts, argv, append(os.Environ(), pinnedEnv+"=1"))
	}
	return bench.Pinning{Taskset: ts, LoadCPU: "0", SUTCPU: "1"}, nil
}

// cpuCount counts the machine's processors (not this process's affinity).
func cpuCount() int {
	n := 0
	for _, l := range cpuinfo() {
		if strings.HasPrefix(l, "processor") {
			n++
		}
	}
	return n
}

func cpuinfo() []string {
	f, err := os.Open("/proc/cpuinfo")
	if err != nil {
		return nil
	}
	defer f.Close()
	var out []string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		out = append(out, sc.Text())
	}
	return out
}

func machine() string {
	model := "unknown CPU"
	for _, l := range cpuinfo() {
		if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
			model = strings.TrimSpace(v)
			break
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if f := strings.Fields(strings.SplitN(string(b), "\n", 2)[0]); len(f) >= 2 {
			var kb int64
			fmt.Sscan(f[1], &kb)
			mem = fmt.Sprintf(", %.0f GB RAM", float64(kb)/(1<<20))
		}
	}
	return fmt.Sprintf("nproc %d, %s%s", cpuCount(), model, mem)
}

func commit() string {
	out, err := exec.Command("git", "rev-parse", "--short=12", "HEAD").Output()
	if err != nil {
		return "unknown"
	}
	return strings.TrimSpace(string(out))
}

// versions names the Envoy and LiteLLM that were measured.
func versions(o bench.Options) string {
	v := "Envoy " + firstWord(runOut(o.EnvoyBin, "--version"), "version:")
	if o.LiteLLMBin != "" {
		py := filepath.Join(filepath.Dir(o.LiteLLMBin), "python")
		v += ", LiteLLM " + strings.TrimSpace(runOut(py, "-c", "import importlib.metadata as m; print(m.version('litellm'))"))
	}
	return v + ", " + runtime.Version()
}

func runOut(name string, args ...string) string {
	out, err := exec.Command(name, args...).Output()
	if err != nil {
		return "unknown"
	}
	return string(out)
}

// firstWord returns the word after key in s ("… version: 1.40.0/…" → "1.40.0/…").
func firstWord(s, key string) string {
	if _, rest, ok := strings.Cut(s, key); ok {
		if f := strings.Fields(rest); len(f) > 0 {
			return f[0]
		}
	}
	return strings.TrimSpace(s)
}

// withFake gives o a temporary work dir and starts the fake provider in it;
// done stops the fake and removes the dir.
func withFake(o *bench.Options) (fake *bench.Target, done func(), err error) {
	dir, err := os.MkdirTemp("", "llmbench-")
	if err != nil {
		return nil, nil, err
	}
	o.WorkDir = dir
	fake, err = bench.StartFake(o)
	if err != nil {
		os.RemoveAll(dir)
		return nil, nil, err
	}
	return fake, func() { fake.Stop(); os.RemoveAll(dir) }, nil
}

// scaleOnlyRun measures only the control plane (compile and push of large
// configs to one Envoy): the narrow run for work on the control plane.
func scaleOnlyRun(ctx context.Context, o bench.Options, sizes string) error {
	var ns []int
	for _, f := range strings.Split(sizes, ",") {
		var n int
		if _, err := fmt.Sscan(strings.TrimSpace(f), &n); err != nil || n <= 0 {
			return fmt.Errorf("--scale-only %q: want comma-separated positive counts", sizes)
		}
		ns = append(ns, n)
	}
	dir, err := os.MkdirTemp("", "llmbench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	o.WorkDir = dir
	res, err := bench.ControlPlaneScale(ctx, &o, "http://127.0.0.1:9", ns)
	for _, r := range res {
		mod := ""
		if r.Module > 0 {
			mod = fmt.Sprintf(" (module table ACKed after %s)", r.Module.Round(time.Millisecond))
		}
		fmt.Printf("%-34s: parse %-10s build %-10s push %-10s total %-10s envoy CPU %-8s envoy RSS %.1f MB%s\n", r.Name()+" deployments",
			r.Parse.Round(time.Millisecond), r.Build.Round(time.Millisecond), r.Push.Round(time.Millisecond), r.Total().Round(time.Millisecond), r.EnvoyCPU, float64(r.EnvoyRSS)/(1<<20), mod)
	}
	return err
}

// rssOnlyRun measures only llmgate's memory under an open-loop rate (the
// narrow run for work on the llmgate process's RSS).
func rssOnlyRun(o bench.Options, rate int) error {
	fake, cleanup, err := withFake(&o)
	if err != nil {
		return err
	}
	defer cleanup()
	cfgPath := filepath.Join(o.WorkDir, "config.yaml")
	if err := os.WriteFile(cfgPath, []byte(bench.TypicalConfig(fake.FakeBase(), "")), 0o600); err != nil {
		return err
	}
	gate, err := bench.StartLLMGate(&o, cfgPath)
	if err != nil {
		return err
	}
	defer gate.Stop()
	idle := gate.Parts[0].Sample().RSS
	bench.ClosedLoop(gate.Endpoint, 16, o.Warmup)
	warm := gate.Parts[0].Sample().RSS
	peaks, r := bench.RSSAtRate(gate, rate, o.Duration)
	peak := peaks[0]
	mb := func(b int64) float64 { return float64(b) / (1 << 20) }
	fmt.Printf("llmgate RSS: idle %.1f MB, after warm-up %.1f MB, peak at %d rps %.1f MB (HWM %.1f MB); achieved %.0f rps, p99 %s, errors %d\n",
		mb(idle), mb(warm), rate, mb(peak), mb(gate.Parts[0].Sample().HWM), float64(len(r.Latencies))/o.Duration.Seconds(), r.Quantiles().P99.Round(time.Microsecond), r.Errors)
	return nil
}

// keysOnlyRun measures the request path with n virtual keys in the store
// against the master key (issue 11's figure).
func keysOnlyRun(o bench.Options, n int, before string) error {
	fake, stop, err := withFake(&o)
	if err != nil {
		return err
	}
	defer stop()
	bins := []string{o.LLMGateBin}
	if before != "" {
		bins = []string{before, o.LLMGateBin}
	}
	rs, err := bench.KeysOverhead(&o, fake.FakeBase(), n, o.Concurrencies, bins...)
	for _, r := range rs {
		if before != "" {
			fmt.Printf("%s:\n", r.Binary)
		}
		fmt.Printf("c=%-3d %d keys (generated in %s): master key p50 %s p99 %s %.0f rps | virtual key p50 %s p99 %s %.0f rps | added p50 %s, throughput %+.1f %% (errors %d/%d)\n",
			r.Concurrency, r.Keys, r.Generate.Round(time.Millisecond), r.Master.Latency.P50.Round(time.Microsecond), r.Master.Latency.P99.Round(time.Microsecond), r.Master.Throughput,
			r.Virtual.Latency.P50.Round(time.Microsecond), r.Virtual.Latency.P99.Round(time.Microsecond), r.Virtual.Throughput,
			(r.Virtual.Latency.P50 - r.Master.Latency.P50).Round(time.Microsecond), 100*(r.Virtual.Throughput/r.Master.Throughput-1), r.Master.Errors, r.Virtual.Errors)
		for _, part := range []string{"llmgate", "envoy"} {
			fmt.Printf("      CPU per request, %s: master key %s, virtual key %s (%+.1f %%)\n", part,
				r.MasterCPU[part].Round(time.Microsecond/10), r.VirtualCPU[part].Round(time.Microsecond/10), 100*(float64(r.VirtualCPU[part])/float64(r.MasterCPU[part])-1))
		}
	}
	return err
}

// observedOnlyRun prints issue 12's cost of observing: llmgate-observed
// against the typical config, per request filter, in the same runs.
func observedOnlyRun(o bench.Options, modes, before, envList string) error {
	fake, stop, err := withFake(&o)
	if err != nil {
		return err
	}
	defer stop()
	env := map[string]string{}
	for _, kv := range strings.Split(envList, ",") {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	var sides []bench.ObservedSide
	for _, m := range strings.Split(modes, ",") {
		args := []string{"--request-filter=" + m}
		sides = append(sides, bench.ObservedSide{Label: "llmgate@" + m, Args: args},
			bench.ObservedSide{Label: "llmgate-observed@" + m, Observed: true, Args: args, Env: env})
		if before != "" {
			sides = append(sides, bench.ObservedSide{Label: "before-observed@" + m, Bin: before, Observed: true, Args: args, Env: env})
		}
	}
	rs, err := bench.ObservedOverhead(&o, fake.FakeBase(), o.Concurrencies, sides)
	base := map[string]bench.ObservedResult{}
	for _, r := range rs {
		if !r.Side.Observed {
			base[fmt.Sprintf("%s@%d", strings.TrimPrefix(r.Side.Label, "llmgate@"), r.Concurrency)] = r
		}
	}
	for _, r := range rs {
		_, mode, _ := strings.Cut(r.Side.Label, "@")
		b := base[fmt.Sprintf("%s@%d", mode, r.Concurrency)]
		f := r.Figure
		fmt.Printf("c=%-3d %-26s p50 %-9s p99 %-9s %6.0f rps | vs llmgate@%s: p50 %s, rps %+.1f %% | CPU/request llmgate %s envoy %s (+%s) | errors %d\n",
			r.Concurrency, r.Side.Label, f.Latency.P50.Round(time.Microsecond), f.Latency.P99.Round(time.Microsecond), f.Throughput, mode,
			fmtSigned(f.Latency.P50-b.Figure.Latency.P50), 100*(f.Throughput/b.Figure.Throughput-1),
			r.CPU["llmgate"].Round(time.Microsecond/10), r.CPU["envoy"].Round(time.Microsecond/10),
			(r.CPU["llmgate"] + r.CPU["envoy"] - b.CPU["llmgate"] - b.CPU["envoy"]).Round(time.Microsecond/10), f.Errors)
		if r.Side.Observed && len(r.RunRPS) == len(b.RunRPS) {
			// The paired runs: this side's run against the base's same run.
			lower, diffs := 0, make([]float64, len(r.RunRPS))
			for i := range r.RunRPS {
				diffs[i] = 100 * (r.RunRPS[i]/b.RunRPS[i] - 1)
				if diffs[i] < 0 {
					lower++
				}
			}
			slices.Sort(diffs)
			fmt.Printf("      paired runs: median %+.1f %%, %d of %d runs lower than llmgate@%s\n", diffs[len(diffs)/2], lower, len(diffs), mode)
		}
	}
	return err
}

// beforeLabel is the label prefix of the i-th --variants-before binary.
func beforeLabel(i int) string {
	if i == 0 {
		return "before:"
	}
	return fmt.Sprintf("before%d:", i+1)
}

func fmtSigned(d time.Duration) string {
	if d < 0 {
		return "-" + (-d).Round(time.Microsecond).String()
	}
	return "+" + d.Round(time.Microsecond).String()
}

// variantsOnlyRun prints the other configs (rpm/tpm in Redis, Anthropic)
// side by side: each config@request-filter (or plain Envoy: "plain"), and
// with before (comma-separated llmgate binaries) the same llmgate sides on
// each of those binaries, in the same runs.
func variantsOnlyRun(o bench.Options, list, before string) error {
	fake, stop, err := withFake(&o)
	if err != nil {
		return err
	}
	defer stop()
	var sides []bench.VariantSide
	for _, s := range strings.Split(list, ",") {
		cfg, mode, ok := strings.Cut(strings.TrimSpace(s), "@")
		if !ok {
			mode = "module"
		}
		args := []string{"--request-filter=" + mode}
		if cfg != "plain" {
			for i, b := range strings.Split(before, ",") {
				if b = strings.TrimSpace(b); b != "" {
					sides = append(sides, bench.VariantSide{Label: beforeLabel(i) + cfg + "@" + mode, Bin: b, Config: cfg, Args: args})
				}
			}
		}
		label := cfg + "@" + mode
		if cfg == "plain" {
			label = "plain-envoy"
		}
		sides = append(sides, bench.VariantSide{Label: label, Config: cfg, Args: args})
	}
	rs, err := bench.VariantsOverhead(&o, fake.FakeBase(), o.Concurrencies, sides)
	for _, r := range rs {
		f := r.Figure
		fmt.Printf("c=%-3d %-28s p50 %-9s p99 %-9s %6.0f rps | CPU/request llmgate %s envoy %s sum %s | errors %d %s\n",
			r.Concurrency, r.Side.Label, f.Latency.P50.Round(time.Microsecond), f.Latency.P99.Round(time.Microsecond), f.Throughput,
			r.CPU["llmgate"].Round(time.Microsecond/10), r.CPU["envoy"].Round(time.Microsecond/10),
			(r.CPU["llmgate"] + r.CPU["envoy"]).Round(time.Microsecond/10), f.Errors, f.FirstErr)
		p := r.Pooled
		fmt.Printf("      %-28s all runs pooled (%d requests): p50 %s p90 %s p99 %s p99.9 %s\n", "", p.N,
			p.P50.Round(time.Microsecond), p.P90.Round(time.Microsecond), p.P99.Round(time.Microsecond), p.P999.Round(time.Microsecond))
		runs := make([]string, len(r.EnvoyRuns))
		for i, d := range r.EnvoyRuns {
			runs[i] = d.Round(time.Microsecond).String()
		}
		fmt.Printf("      %-28s Envoy CPU/request by run: %s\n", "", strings.Join(runs, " "))
		if gr := gatewayRuns(r); gr != nil {
			runs = runs[:0]
			for _, d := range gr {
				runs = append(runs, d.Round(time.Microsecond/10).String())
			}
			fmt.Printf("      %-28s llmgate CPU/request by run: %s\n", "", strings.Join(runs, " "))
		}
	}
	// Time to first token (--variants-streams): each side once, its added
	// TTFT over the direct call's in the same run, and against the binary
	// under test's side and plain Envoy's, paired by run.
	if o.VariantStreams && len(rs) > 0 {
		c0 := rs[0].Concurrency
		var plain *bench.VariantResult
		for i := range rs {
			if rs[i].Concurrency == c0 && rs[i].Side.Config == "plain" {
				plain = &rs[i]
			}
		}
		for i, r := range rs {
			if r.Concurrency != c0 {
				continue
			}
			runs := make([]string, len(r.TTFTRuns))
			for k, d := range r.TTFTRuns {
				runs[k] = fmtSigned(d - r.DirectTTFT[k])
			}
			fmt.Printf("stream %-28s added TTFT (over direct, paired by run) median %s; by run: %s\n", r.Side.Label, fmtSigned(r.AddedTTFT()), strings.Join(runs, " "))
			if plain != nil && r.Side.Config != "plain" {
				d, lower, n := bench.PairedTTFTDelta(r, *plain)
				fmt.Printf("stream %-28s TTFT minus %s's, paired by run: median %s (lower in %d of %d runs)\n", r.Side.Label, plain.Side.Label, fmtSigned(d), lower, n)
			}
			for j := len(rs) - 1; j > i; j-- {
				if rs[j].Concurrency == c0 && rs[j].Side.Config == r.Side.Config && slices.Equal(rs[j].Side.Args, r.Side.Args) && rs[j].Side.Bin == "" {
					d, lower, n := bench.PairedTTFTDelta(r, rs[j])
					fmt.Printf("stream %-28s TTFT minus %s's, paired by run: median %s (lower in %d of %d runs)\n", r.Side.Label, rs[j].Side.Label, fmtSigned(d), lower, n)
					break
				}
			}
		}
	}
	// A keys side against the typical side of the same binary (issue 11's
	// target, D127): the runs' paired throughput and CPU differences.
	for _, r := range rs {
		if r.Side.Config != "keys" {
			continue
		}
		for _, t := range rs {
			if t.Side.Config == "typical" && t.Side.Bin == r.Side.Bin && t.Concurrency == r.Concurrency && slices.Equal(t.Side.Args, r.Side.Args) {
				n := min(len(r.RunRPS), len(t.RunRPS))
				var pct []float64
				lower := 0
				for i := range n {
					pct = append(pct, 100*(r.RunRPS[i]/t.RunRPS[i]-1))
					if r.RunRPS[i] < t.RunRPS[i] {
						lower++
					}
				}
				if n == 0 {
					break
				}
				slices.Sort(pct)
				d, cl, cn := bench.PairedDelta(r.SumRuns, t.SumRuns)
				fmt.Printf("c=%-3d %-28s against %s, paired by run: throughput median %+.1f %% (lower in %d of %d runs); CPU/request llmgate+envoy median %s (lower in %d of %d)\n",
					r.Concurrency, r.Side.Label, t.Side.Label, pct[n/2], lower, n, fmtSigned(d), cl, cn)
			}
		}
	}
	// Each side against the last llmgate side of its concurrency (the
	// binary under test): the median of the runs' paired differences.
	for i, r := range rs {
		if r.Side.Config == "plain" {
			continue
		}
		for j := len(rs) - 1; j > i; j-- {
			if rs[j].Concurrency == r.Concurrency && rs[j].Side.Config == r.Side.Config && slices.Equal(rs[j].Side.Args, r.Side.Args) && rs[j].Side.Bin == "" {
				d, lower, n := bench.PairedEnvoyDelta(r, rs[j])
				fmt.Printf("c=%-3d %-28s Envoy CPU/request minus %s's, paired by run: median %s (lower in %d of %d runs)\n",
					r.Concurrency, r.Side.Label, rs[j].Side.Label, d.Round(time.Microsecond), lower, n)
				if a, b := gatewayRuns(r), gatewayRuns(rs[j]); a != nil && b != nil {
					d, lower, n := bench.PairedDelta(a, b)
					fmt.Printf("c=%-3d %-28s llmgate CPU/request minus %s's, paired by run: median %s (lower in %d of %d runs)\n",
						r.Concurrency, r.Side.Label, rs[j].Side.Label, d.Round(time.Microsecond/10), lower, n)
				}
				for _, q := range []struct {
					name string
					of   func(bench.Quantiles) time.Duration
				}{{"p50", func(q bench.Quantiles) time.Duration { return q.P50 }}, {"p99", func(q bench.Quantiles) time.Duration { return q.P99 }}} {
					d, lower, n := bench.PairedLatencyDelta(r, rs[j], q.of)
					fmt.Printf("c=%-3d %-28s %s minus %s's, paired by run: median %s (lower in %d of %d runs)\n",
						r.Concurrency, r.Side.Label, q.name, rs[j].Side.Label, d.Round(time.Microsecond), lower, n)
				}
				break
			}
		}
	}
	return err
}

// gatewayRuns is the CPU per request of each run of r's parts but Envoy
// (llmgate's, on the configs without Redis or PostgreSQL); nil when the
// runs do not pair.
func gatewayRuns(r bench.VariantResult) []time.Duration {
	if len(r.SumRuns) == 0 || len(r.SumRuns) != len(r.EnvoyRuns) {
		return nil
	}
	out := make([]time.Duration, len(r.SumRuns))
	for i := range out {
		out[i] = r.SumRuns[i] - r.EnvoyRuns[i]
	}
	return out
}
