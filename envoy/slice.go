package envoy

import (
	"fmt"
	"os/exec"
	"runtime"
	"time"

	"golang.org/x/sys/unix"
)

// The scheduler slice Envoy runs with (docs/architecture.md D94).
//
// Linux's fair scheduler (EEVDF, 6.6 and later) lets the task on a CPU run
// out its slice before a task that wakes up takes the CPU, unless the one
// waking has the shorter slice (PREEMPT_SHORT, 6.12 and later). The default
// slice is 0.7 ms × (1 + log2 of the CPUs), 1.4 ms on two: an Envoy worker
// woken by a request while the gateway (or anything else) is running on its
// CPU could wait that long. A slice asked with sched_setattr(2) changes when
// a task runs, not how much CPU it gets (that is its weight, the nice
// value). Envoy started with a short slice takes its CPU as soon as it
// wakes; a kernel without custom slices ignores the setting.

// MinSlice is the shortest slice Linux accepts (100 µs).
const MinSlice = 100 * time.Microsecond

// startWithSlice starts cmd with every thread of the new process on the
// given scheduler slice: the process inherits it from the thread that
// starts it, so cmd starts on a locked thread that asked for the slice and
// gives it back afterwards. That thread must live on (Envoy's Pdeathsig
// fires when the thread that started it ends, not llmgate), so if the slice
// cannot be given back the goroutine keeps it locked and waits forever. A
// slice the kernel refuses is returned as sliceErr, and cmd is started
// anyway.
func startWithSlice(cmd *exec.Cmd, slice time.Duration) (sliceErr, err error) {
	type result struct{ sliceErr, err error }
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		prev, serr := setSlice(0, slice)
		err := cmd.Start()
		if prev != nil {
			if rerr := unix.SchedSetAttr(0, prev, 0); rerr != nil {
				done <- result{fmt.Errorf("the slice not given back: %w", rerr), err}
				select {}
			}
		}
		runtime.UnlockOSThread()
		done <- result{serr, err}
	}()
	r := <-done
	return r.sliceErr, r.err
}

// setSlice asks for the slice for thread tid (0: the calling thread),
// keeping its policy and nice value (only the fair policies have a slice),
// and returns its attributes before (nil when nothing changed).
func setSlice(tid int, slice time.Duration) (*unix.SchedAttr, error) {
	a, err := unix.SchedGetAttr(tid, 0)
	if err != nil {
		return nil, fmt.Errorf("sched_getattr: %w", err)
	}
	if a.Policy != unix.SCHED_NORMAL && a.Policy != unix.SCHED_BATCH {
		return nil, fmt.Errorf("scheduling policy %d has no slice", a.Policy)
	}
	prev := *a
	a.Runtime = uint64(max(slice, MinSlice).Nanoseconds())
	if err := unix.SchedSetAttr(tid, a, 0); err != nil {
		return nil, fmt.Errorf("sched_setattr: %w", err)
	}
	return &prev, nil
}
