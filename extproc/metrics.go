package extproc

import (
	"bytes"
	"net/http"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
)

// metricsReply is /metrics on the gateway port, as LiteLLM serves it: only
// when the config names the prometheus callback (or service_callback's
// prometheus_system), and behind the master key
// or a virtual key unless require_auth_for_metrics_endpoint is false. nil:
// not served here (404).
func (s *Server) metricsReply(st *State, h map[string]string) *extprocv3.ProcessingResponse {
	hp := s.metrics.Load()
	if hp == nil || (!st.Cfg.LiteLLM.Prometheus() && !st.Cfg.LiteLLM.PrometheusSystem) {
		return nil
	}
	if !st.Cfg.LiteLLM.MetricsAuthOff {
		if _, e := st.authenticate(h, true); e != nil {
			return errorReply(e, nil)
		}
	}
	req, err := http.NewRequest(http.MethodGet, "/metrics", nil)
	if err != nil {
		return nil
	}
	if a := h["accept"]; a != "" {
		req.Header.Set("Accept", a)
	}
	w := &bufferWriter{header: http.Header{}}
	(*hp).ServeHTTP(w, req)
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return immediate(w.status, w.header.Get("Content-Type"), w.body.Bytes(), nil, "llmgate_metrics")
}

// bufferWriter is an http.ResponseWriter that keeps the response.
type bufferWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (w *bufferWriter) Header() http.Header { return w.header }
func (w *bufferWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
}
func (w *bufferWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}
