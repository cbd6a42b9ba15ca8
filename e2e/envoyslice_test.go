package e2e

import (
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestEnvoySlice (D94): llmgate starts its Envoy on a 100 µs scheduler
// slice — every Envoy thread, its workers and the module's Go threads
// created later included — so that a worker woken by a request takes its
// CPU from the gateway's background work at once; the gateway's own threads
// keep the kernel's default; LLMGATE_ENVOY_SLICE=0 leaves Envoy on the
// default too. And (D106) the module puts the Go runtime's sysmon, and no
// other thread, on SCHED_IDLE with the default slice, so that its polls
// never take the CPU from a worker; LLMGATE_SYSMON_IDLE=0 leaves it alone.
// A thread the runtime starts from sysmon's (it inherits SCHED_IDLE: seen
// in CI, a few ms after start) is back on Envoy's policy and slice within a
// second (D172).
func TestEnvoySlice(t *testing.T) {
	requireCustomSlices(t)
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, moduleConfig(fake.URL(), ""), moduleArgs)
	waitLog(t, g, "llmgate module: config")
	if code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt", "hi")); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	sysmon := "llmgate module: the Go runtime's sysmon (thread "
	waitLog(t, g, sysmon)
	logs := g.Stderr()
	tid, _, _ := strings.Cut(logs[strings.Index(logs, sysmon)+len(sysmon):], ")")
	envoyDir := envoyProc(t, g.cmd.Process.Pid)
	// A thread the runtime starts from sysmon's inherits SCHED_IDLE; the
	// module puts it back within a second (D172).
	policies := threadSched(t, envoyDir, "policy")
	for end := time.Now().Add(3 * time.Second); time.Now().Before(end); {
		var idleThreads []string
		for name, p := range policies {
			if p == "5" {
				idleThreads = append(idleThreads, name)
			}
		}
		if len(idleThreads) == 1 && strings.HasPrefix(idleThreads[0], tid+" ") {
			break
		}
		time.Sleep(100 * time.Millisecond)
		policies = threadSched(t, envoyDir, "policy")
	}
	envoy := threadSched(t, envoyDir, "se.slice")
	idle := 0
	for name, p := range policies {
		if p != "5" {
			continue
		}
		idle++
		if !strings.HasPrefix(name, tid+" ") {
			t.Errorf("Envoy thread %s on SCHED_IDLE, want only sysmon (thread %s)", name, tid)
		}
		if s := envoy[name]; s == "100000" {
			t.Errorf("sysmon (thread %s) on the 100 µs slice, want the default", name)
		}
		delete(envoy, name)
	}
	if idle != 1 {
		t.Errorf("%d Envoy threads on SCHED_IDLE, want 1 (sysmon, thread %s)", idle, tid)
	}
	workers := 0
	for name, s := range envoy {
		if s != "100000" {
			t.Errorf("Envoy thread %s: slice %s ns, want 100000", name, s)
		}
		if strings.Contains(name, "wrk:") {
			workers++
		}
	}
	if workers == 0 || len(envoy) < 5 {
		t.Errorf("Envoy's threads: %v, want its workers and the module's threads among them", envoy)
	}
	for name, s := range threadSched(t, filepath.Join("/proc", strconv.Itoa(g.cmd.Process.Pid)), "se.slice") {
		if s == "100000" {
			t.Errorf("llmgate's thread %s runs on Envoy's slice", name)
		}
	}

	off := startGatewayArgs(t, moduleConfig(fake.URL(), ""), moduleArgs, "LLMGATE_ENVOY_SLICE=0", "LLMGATE_SYSMON_IDLE=0")
	waitLog(t, off, "llmgate module: config")
	if code, _, b := post(t, off.URL+"/v1/chat/completions", master, chatBody("gpt", "hi")); code != 200 {
		t.Fatalf("%d %s", code, b)
	}
	offDir := envoyProc(t, off.cmd.Process.Pid)
	for name, s := range threadSched(t, offDir, "se.slice") {
		if s == "100000" {
			t.Errorf("LLMGATE_ENVOY_SLICE=0: Envoy thread %s on a 100 µs slice", name)
		}
	}
	for name, p := range threadSched(t, offDir, "policy") {
		if p == "5" {
			t.Errorf("LLMGATE_SYSMON_IDLE=0: Envoy thread %s on SCHED_IDLE", name)
		}
	}
}

// threadSched is every thread of the process at dir, by "tid comm", with
// the value of one line of its sched file (se.slice: its slice in ns, ""
// on SCHED_IDLE; policy: 0 normal, 3 batch, 5 idle).
func threadSched(t *testing.T, dir, field string) map[string]string {
	t.Helper()
	tasks, err := filepath.Glob(filepath.Join(dir, "task", "*"))
	if err != nil || len(tasks) == 0 {
		t.Fatalf("threads of %s: %v", dir, err)
	}
	out := map[string]string{}
	for _, task := range tasks {
		sched, err := os.ReadFile(filepath.Join(task, "sched"))
		if err != nil {
			continue // ended meanwhile
		}
		comm, _ := os.ReadFile(filepath.Join(task, "comm"))
		name := filepath.Base(task) + " " + strings.TrimSpace(string(comm))
		for _, line := range strings.Split(string(sched), "\n") {
			if k, v, ok := strings.Cut(line, ":"); ok && strings.TrimSpace(k) == field {
				out[name] = strings.TrimSpace(v)
			}
		}
		if _, ok := out[name]; !ok {
			out[name] = "" // a SCHED_IDLE thread's has no se.slice
		}
	}
	return out
}

// requireCustomSlices fails (skips with -short outside CI) on a kernel
// without custom scheduler slices (Linux 6.12): it asks for one on a
// thread of its own and reads it back.
func requireCustomSlices(t *testing.T) {
	t.Helper()
	ok := make(chan bool)
	go func() {
		runtime.LockOSThread() // the thread ends with this goroutine
		a, err := unix.SchedGetAttr(0, 0)
		if err != nil {
			ok <- false
			return
		}
		a.Runtime = 100000
		if unix.SchedSetAttr(0, a, 0) != nil {
			ok <- false
			return
		}
		sched, _ := os.ReadFile("/proc/thread-self/sched")
		ok <- strings.Contains(string(sched), "se.slice") && strings.Contains(string(sched), " 100000\n")
	}()
	if <-ok {
		return
	}
	if os.Getenv("CI") == "true" || !testing.Short() {
		t.Fatal("this kernel has no custom scheduler slices (Linux 6.12 and later)")
	}
	t.Skip("no custom scheduler slices on this kernel (-short outside CI; otherwise the test fails)")
}
