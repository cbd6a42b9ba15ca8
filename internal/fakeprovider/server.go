package fakeprovider

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"
)

// Default test credentials for Bedrock SigV4 verification, used when
// Options leaves them empty.
const (
	DefaultAWSAccessKeyID     = "AKIAFAKEPROVIDER0000"
	DefaultAWSSecretAccessKey = "fake-secret-access-key"
	DefaultAWSRegion          = "us-east-1"
)

// Options configures a Server. The zero value is usable.
type Options struct {
	// APIKeys, when non-empty, are the only keys accepted, whatever header
	// the provider reads them from (Authorization: Bearer, api-key,
	// x-api-key, x-goog-api-key or ?key=). Empty accepts any key; Anthropic
	// still requires an x-api-key header to be present, as it does.
	APIKeys []string

	// AWSAccessKeyID / AWSSecretAccessKey are the credentials Bedrock
	// requests must be signed with. Empty means the Default* constants.
	AWSAccessKeyID     string
	AWSSecretAccessKey string
	// AWSRegion is the region Bedrock requests must be signed for, as the
	// real endpoint (bedrock-runtime.<region>.amazonaws.com) requires; empty
	// means DefaultAWSRegion. AWSModelRegions overrides it per model id, for
	// tests whose deployments of different regions share one fake. The
	// service in the credential scope must be "bedrock".
	AWSRegion       string
	AWSModelRegions map[string]string

	// ResponseHeaders are sent with every provider answer, success or error
	// (the x-ratelimit-*, openai-processing-ms, x-request-id … a real
	// provider sends).
	ResponseHeaders map[string]string

	// Latency is waited before the first byte of every provider response.
	Latency time.Duration
	// ChunkDelay is waited between stream chunks/events.
	ChunkDelay time.Duration
	// StreamChunks is the number of content chunks a streamed reply is
	// split into (default 10).
	StreamChunks int

	// Reply, when set, is the reply text for every request instead of
	// "fake response to: <last user text>".
	Reply string
	// Thinking, when set, is the thinking text of an Anthropic answer to a
	// request that enables thinking ({"thinking": {"type": "enabled"}}): a
	// thinking block (with a signature) before the text, streamed as
	// thinking_delta events.
	Thinking string
	// ReplySize, when > 0, pads or truncates the reply text to exactly this
	// many bytes (benchmarks use ~1 KB).
	ReplySize int
	// ToolArguments is the JSON object sent as the arguments of a fake tool
	// call (default {"query":"fake"}).
	ToolArguments string
	// EmbeddingDims is the length of fake embedding vectors (default 8,
	// overridden by a request's "dimensions").
	EmbeddingDims int
	// Models are listed by GET /v1/models (default a few fake names).
	Models []string

	// NoRecord turns off request recording (counters are still kept).
	NoRecord bool
	// Logger, when set, receives one debug line per request. Nil logs
	// nothing.
	Logger *slog.Logger
}

// Server is a fake LLM provider. Create it with New, then Start it.
type Server struct {
	opts Options

	srv      *http.Server
	listener net.Listener
	url      string

	rules rules
	rec   recorder
	// tokens issued by the fake OAuth endpoint, accepted as Vertex bearers.
	tokens sync.Map
	// promptCache holds the Anthropic prompt prefixes written so far.
	promptCache sync.Map
	// files holds the Files and Batches APIs' objects (files.go).
	files filesStore
}

// New returns a Server with opts, not yet listening.
func New(opts Options) *Server {
	if opts.StreamChunks <= 0 {
		opts.StreamChunks = 10
	}
	if opts.EmbeddingDims <= 0 {
		opts.EmbeddingDims = 8
	}
	if opts.ToolArguments == "" {
		opts.ToolArguments = `{"query":"fake"}`
	}
	if len(opts.Models) == 0 {
		opts.Models = []string{"gpt-4o", "gpt-4o-mini", "text-embedding-3-small"}
	}
	if opts.AWSAccessKeyID == "" {
		opts.AWSAccessKeyID = DefaultAWSAccessKeyID
	}
	if opts.AWSSecretAccessKey == "" {
		opts.AWSSecretAccessKey = DefaultAWSSecretAccessKey
	}
	if opts.AWSRegion == "" {
		opts.AWSRegion = DefaultAWSRegion
	}
	s := &Server{opts: opts}
	s.rec.noRecord = opts.NoRecord
	return s
}

// Start listens on addr ("127.0.0.1:0" when empty) and serves HTTP/1.1 and
// cleartext HTTP/2 (prior knowledge, as Envoy speaks it) in the background.
func (s *Server) Start(addr string) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("fake provider: listen %s: %w", addr, err)
	}
	var protocols http.Protocols
	protocols.SetHTTP1(true)
	protocols.SetUnencryptedHTTP2(true)
	s.listener = ln
	s.url = "http://" + ln.Addr().String()
	s.srv = &http.Server{
		Handler:           s,
		Protocols:         &protocols,
		ReadHeaderTimeout: 30 * time.Second,
		ErrorLog:          discardLog,
	}
	go func() {
		if err := s.srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) && s.opts.Logger != nil {
			s.opts.Logger.Error("fake provider stopped", "err", err)
		}
	}()
	return nil
}

// URL is the base URL ("http://127.0.0.1:PORT"), valid after Start.
func (s *Server) URL() string { return s.url }

// Close stops the server and drops open connections.
func (s *Server) Close() {
	if s.srv == nil {
		return
	}
	// Not Shutdown: idle HTTP/2 client connections would hold it up, and
	// a fake has nothing to drain.
	_ = s.srv.Close()
}

// StartT starts a Server on 127.0.0.1:0 for a test and closes it when the
// test ends.
func StartT(t testing.TB, opts Options) *Server {
	t.Helper()
	s := New(opts)
	if err := s.Start(""); err != nil {
		t.Fatalf("start fake provider: %v", err)
	}
	t.Cleanup(s.Close)
	return s
}

// maxBody bounds request bodies the fake reads.
const maxBody = 64 << 20

// ServeHTTP answers one request: control API, or a provider endpoint.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/_fake/") {
		s.serveControl(w, r)
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, maxBody))
	if err != nil {
		http.Error(w, "read body: "+err.Error(), http.StatusBadRequest)
		return
	}
	s.rec.record(r, body)
	if isRealtime(r) {
		s.serveRealtime(w, r) // realtime.go
		return
	}
	if s.opts.Logger != nil {
		s.opts.Logger.Debug("fake provider request", "method", r.Method, "path", r.URL.Path)
	}
	c := &call{s: s, w: w, r: r, body: body, start: time.Now()}
	ep, ok := route(r)
	if !ok {
		c.provider = providerOpenAI
		c.fail(http.StatusNotFound, "Unknown request URL: "+r.Method+" "+r.URL.Path)
		return
	}
	c.provider = ep.provider
	c.model = ep.model
	c.extra = ep.extra
	defer func() {
		if v := recover(); v != nil && v != errStreamEnded { //nolint:errorlint // sentinel identity
			panic(v)
		}
	}()
	ep.handle(c)
}

var discardLog = newDiscardLog()
