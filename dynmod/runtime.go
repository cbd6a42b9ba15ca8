package main

import (
	"fmt"
	"os"
	"runtime"
	"time"

	"github.com/llmgate/llmgate/internal/modrt"
)

// The module's Go runtime settings (docs/architecture.md D66): one P more
// than Envoy has workers, so that a worker's P left in "syscall" between two
// hooks is not taken back by sysmon and the worker never waits for a P on
// the request path (modrt.Procs). And sysmon itself on SCHED_IDLE, so that
// its polls never take the CPU from a worker (D106, modrt.SysmonIdle), and
// the threads started from it off SCHED_IDLE (D172, modrt.Idle). And a
// heap floor that keeps the GC's pace without a scan of globals (D115,
// modrt.KeepHeapFloor).
func init() {
	modrt.KeepHeapFloor(os.Getenv("GOGC"), os.Getenv("GOMEMLIMIT"))
	if n := modrt.Procs(os.Getenv("GOMAXPROCS"), runtime.GOMAXPROCS(0), runtime.NumCPU()); n > 0 {
		runtime.GOMAXPROCS(n)
	}
	if os.Getenv(modrt.SysmonIdleEnv) != "0" {
		go func() {
			idle, err := modrt.SysmonIdle(time.Second)
			if err != nil {
				envoyLog(logWarn, "llmgate module: the Go runtime's sysmon left as it is: "+err.Error())
				return
			}
			envoyLog(logInfo, fmt.Sprintf("llmgate module: the Go runtime's sysmon (thread %d) on SCHED_IDLE", idle.Tid))
			mendSysmonChildren(idle)
		}()
	}
}

// mendSysmonChildren puts back on Envoy's policy, within a second, each
// thread the runtime starts from sysmon's (it inherits SCHED_IDLE:
// modrt.Idle), for the module's life.
func mendSysmonChildren(idle *modrt.Idle) {
	for range time.Tick(time.Second) {
		mended, err := idle.Mend()
		for _, tid := range mended {
			envoyLog(logInfo, fmt.Sprintf("llmgate module: thread %d, started from sysmon's, back off SCHED_IDLE", tid))
		}
		if err != nil {
			envoyLog(logWarn, "llmgate module: "+err.Error())
		}
	}
}
