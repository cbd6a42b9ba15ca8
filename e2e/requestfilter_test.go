package e2e

import (
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// defaultFilterArgs start `llmgate run` with its default request filter
// (D56: the module when it can run, else ext_proc with a warning):
// no --request-filter (TestRequestFilterDefault clears
// $LLMGATE_REQUEST_FILTER).
var defaultFilterArgs []string

// fallbackWarning starts the one line a gateway logs when it runs ext_proc
// only because the module cannot run.
const fallbackWarning = "request filter: ext_proc only, llmgate's in-Envoy module is not used"

// otherABIModule is the module built to claim ABI v0.1.9, which Envoy 1.40
// loads with a warning only (built once per test binary).
func otherABIModule(t *testing.T) string {
	t.Helper()
	otherABI.once.Do(func() {
		dir, err := os.MkdirTemp("", "llmgate-otherabi-")
		if err != nil {
			otherABI.err = err
			return
		}
		otherABI.lib = filepath.Join(dir, "libllmgate.so")
		if out, err := exec.Command("go", "build", "-buildmode=c-shared", "-ldflags", "-X main.abiVersionString=v0.1.9", "-o", otherABI.lib, "../dynmod").CombinedOutput(); err != nil {
			otherABI.err = err
			otherABI.out = string(out)
		}
	})
	if otherABI.err != nil {
		t.Fatalf("build: %v\n%s", otherABI.err, otherABI.out)
	}
	return otherABI.lib
}

var otherABI struct {
	once     sync.Once
	lib, out string
	err      error
}

// loneBinary is a copy of llmgate in a directory without the module, as a
// `go install`ed llmgate is.
func loneBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "llmgate")
	if err := os.Link(llmgateBin, bin); err == nil {
		return bin
	}
	src, err := os.Open(llmgateBin)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	dst, err := os.OpenFile(bin, os.O_CREATE|os.O_WRONLY, 0o755)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.Copy(dst, src); err != nil {
		t.Fatal(err)
	}
	if err := dst.Close(); err != nil {
		t.Fatal(err)
	}
	return bin
}

// TestRequestFilterDefault (D56): by default `llmgate run` runs llmgate's
// module in Envoy when its file is found next to the binary and Envoy
// confirms its ABI; without the file (a lone binary, as `go install` leaves
// it), with a file that is no shared library, or with a module of another
// ABI version it serves with the ext_proc request filter and says so in one
// warning line.
func TestRequestFilterDefault(t *testing.T) {
	t.Setenv("LLMGATE_REQUEST_FILTER", "")
	t.Setenv("LLMGATE_DYNAMIC_MODULE", "")
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := moduleConfig(fake.URL(), "")
	served := func(t *testing.T, g *Gateway) (byModule bool) {
		t.Helper()
		before := requestFilterStreams(t, g)
		code, _, b := post(t, g.URL+"/v1/chat/completions", master, chatBody("gpt", "hi"))
		if code != 200 {
			t.Fatalf("chat: %d %s", code, b)
		}
		return requestFilterStreams(t, g) == before
	}
	warnings := func(g *Gateway) int { return strings.Count(g.Stderr(), fallbackWarning) }

	t.Run("module_found", func(t *testing.T) {
		g := startGatewayArgs(t, cfg, defaultFilterArgs)
		waitLog(t, g, "envoy loaded the request filter module")
		waitLog(t, g, "llmgate module: config")
		if !served(t, g) {
			t.Errorf("the module did not serve the request")
		}
		if n := warnings(g); n != 0 {
			t.Errorf("%d fallback warnings with the module found", n)
		}
	})
	fallback := func(t *testing.T, g *Gateway, why ...string) {
		t.Helper()
		g.start(t)
		g.waitReady()
		for i := 0; i < 2; i++ {
			if served(t, g) {
				t.Fatalf("a request was served without a request-filter stream")
			}
		}
		logs := g.Stderr()
		if n := warnings(g); n != 1 {
			t.Errorf("%d fallback warnings, want 1:\n%s", n, logs)
		}
		line := logs[strings.Index(logs, fallbackWarning):]
		line = line[:strings.IndexByte(line, '\n')]
		for _, w := range why {
			if !strings.Contains(line, w) {
				t.Errorf("the warning does not say %q: %s", w, line)
			}
		}
		if strings.Contains(logs, "envoy loaded the request filter module") {
			t.Errorf("the log says the module was loaded:\n%s", logs)
		}
	}
	t.Run("no_module", func(t *testing.T) {
		g := newGateway(t, cfg, defaultFilterArgs)
		bin := loneBinary(t)
		g.cmd.Path = bin
		fallback(t, g, filepath.Join(filepath.Dir(bin), "libllmgate.so")+" or ", "is missing", "make build")
	})
	t.Run("not_a_library", func(t *testing.T) {
		lib := filepath.Join(t.TempDir(), "libllmgate.so")
		must(t, os.WriteFile(lib, []byte("not a shared library\n"), 0o600))
		fallback(t, newGateway(t, cfg, append([]string{"--dynamic-module", lib}, defaultFilterArgs...)), "rejected the listener", "Failed to load dynamic module")
	})
	t.Run("other_abi", func(t *testing.T) {
		lib := otherABIModule(t)
		fallback(t, newGateway(t, cfg, append([]string{"--dynamic-module", lib}, defaultFilterArgs...)), "ABI version v0.2.0", "v0.1.9")
	})
}

// extProcArgs pin a gateway to the ext_proc request filter alone: the tests
// that count the ext_proc request filter's own streams and messages
// (TestPipelinedRequestFilter, TestFastPath*, TestOutcomeLogFastPath) assert
// what Envoy does per request on that path; the module serves the same
// requests with no request-filter stream (TestRequestModuleServes).
var extProcArgs = []string{"--request-filter=extproc"}

// startExtProcGateway is startGateway pinned to the ext_proc request filter.
func startExtProcGateway(t *testing.T, configYAML string, env ...string) *Gateway {
	t.Helper()
	return startGatewayArgs(t, configYAML, extProcArgs, env...)
}
