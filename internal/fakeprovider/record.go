package fakeprovider

import (
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Recorded is one request the fake received.
type Recorded struct {
	Method string      `json:"method"`
	Path   string      `json:"path"`
	Query  string      `json:"query,omitempty"`
	Header http.Header `json:"header"`
	Body   []byte      `json:"-"`
	Time   time.Time   `json:"time"`
	Proto  string      `json:"proto"`
}

// MarshalJSON writes Body as text rather than base64.
func (r Recorded) MarshalJSON() ([]byte, error) {
	type plain Recorded
	return json.Marshal(struct {
		plain
		Body string `json:"body"`
	}{plain(r), string(r.Body)})
}

// UnmarshalJSON reads what MarshalJSON wrote.
func (r *Recorded) UnmarshalJSON(b []byte) error {
	type plain Recorded
	var v struct {
		plain
		Body string `json:"body"`
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*r = Recorded(v.plain)
	r.Body = []byte(v.Body)
	return nil
}

// JSON decodes the recorded body into v.
func (r Recorded) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("recorded %s %s: decode body: %w", r.Method, r.Path, err)
	}
	return nil
}

type recorder struct {
	noRecord bool
	mu       sync.Mutex
	reqs     []Recorded
	counts   sync.Map // path -> *atomic.Int64
}

func (rc *recorder) record(r *http.Request, body []byte) {
	if n, ok := rc.counts.Load(r.URL.Path); ok {
		n.(*atomic.Int64).Add(1)
	} else {
		n, _ := rc.counts.LoadOrStore(r.URL.Path, new(atomic.Int64))
		n.(*atomic.Int64).Add(1)
	}
	if rc.noRecord {
		return
	}
	rec := Recorded{
		Method: r.Method,
		Path:   r.URL.Path,
		Query:  r.URL.RawQuery,
		Header: r.Header.Clone(),
		Body:   body,
		Time:   time.Now(),
		Proto:  r.Proto,
	}
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, rec)
	rc.mu.Unlock()
}

// Requests returns a copy of every recorded request, oldest first.
func (s *Server) Requests() []Recorded {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	return append([]Recorded(nil), s.rec.reqs...)
}

// Last returns the most recent recorded request.
func (s *Server) Last() (Recorded, bool) {
	s.rec.mu.Lock()
	defer s.rec.mu.Unlock()
	if len(s.rec.reqs) == 0 {
		return Recorded{}, false
	}
	return s.rec.reqs[len(s.rec.reqs)-1], true
}

// Reset forgets the recorded requests and zeroes the counters.
func (s *Server) Reset() {
	s.rec.mu.Lock()
	s.rec.reqs = nil
	s.rec.mu.Unlock()
	s.rec.counts.Range(func(k, _ any) bool {
		s.rec.counts.Delete(k)
		return true
	})
}

// Count is the number of requests whose URL path starts with pathPrefix
// (counted even when recording is off). Count("") counts all.
func (s *Server) Count(pathPrefix string) int64 {
	var total int64
	s.rec.counts.Range(func(k, v any) bool {
		if strings.HasPrefix(k.(string), pathPrefix) {
			total += v.(*atomic.Int64).Load()
		}
		return true
	})
	return total
}

// Counts is the number of requests per URL path.
func (s *Server) Counts() map[string]int64 {
	out := map[string]int64{}
	s.rec.counts.Range(func(k, v any) bool {
		out[k.(string)] = v.(*atomic.Int64).Load()
		return true
	})
	return out
}

// serveControl answers the /_fake/ control API.
func (s *Server) serveControl(w http.ResponseWriter, r *http.Request) {
	switch r.Method + " " + r.URL.Path {
	case "GET /_fake/requests":
		writeJSON(w, http.StatusOK, s.Requests())
	case "DELETE /_fake/requests":
		s.Reset()
		w.WriteHeader(http.StatusNoContent)
	case "GET /_fake/counts":
		prefix := r.URL.Query().Get("prefix")
		counts := s.Counts()
		if prefix != "" {
			writeJSON(w, http.StatusOK, map[string]int64{"count": s.Count(prefix)})
			return
		}
		writeJSON(w, http.StatusOK, counts)
	case "GET /_fake/rules":
		writeJSON(w, http.StatusOK, s.Rules())
	case "DELETE /_fake/rules":
		s.ClearRules()
		w.WriteHeader(http.StatusNoContent)
	case "POST /_fake/rules":
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
			return
		}
		var list []Rule
		if trimmed := strings.TrimSpace(string(body)); strings.HasPrefix(trimmed, "[") {
			err = json.Unmarshal(body, &list)
		} else {
			var one Rule
			err = json.Unmarshal(body, &one)
			list = append(list, one)
		}
		if err != nil {
			writeJSON(w, http.StatusBadRequest, map[string]string{"error": "decode rules: " + err.Error()})
			return
		}
		for _, rule := range list {
			if err := s.AddRule(rule); err != nil {
				writeJSON(w, http.StatusBadRequest, map[string]string{"error": err.Error()})
				return
			}
		}
		writeJSON(w, http.StatusOK, s.Rules())
	case "GET /_fake/health":
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	default:
		writeJSON(w, http.StatusNotFound, map[string]string{"error": "unknown control endpoint " + r.Method + " " + r.URL.Path})
	}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func newDiscardLog() *log.Logger { return log.New(io.Discard, "", 0) }
