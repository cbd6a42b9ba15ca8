package bench

import (
	"io"
	"net"
	"net/http"
	"time"
)

// sink is a local receiver for the observed variant's exports (OTLP over
// HTTP, the generic_api logger): it reads each body and answers 200.
type sink struct {
	URL string
	srv *http.Server
}

func startSink() (*sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &sink{URL: "http://" + l.Addr().String(), srv: &http.Server{ReadHeaderTimeout: 5 * time.Second,
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.Copy(io.Discard, r.Body)
			w.WriteHeader(http.StatusOK)
		})}}
	go func() { _ = s.srv.Serve(l) }()
	return s, nil
}

func (s *sink) Close() { _ = s.srv.Close() }
