package fakeqdrant

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"net/http/httptest"
	"regexp"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// Server is a running fake Qdrant (URL).
type Server struct {
	URL    string
	apiKey string

	mu          sync.Mutex
	collections map[string]*collection
	requests    []string
	version     int
}

type collection struct {
	size         int
	distance     string
	quantization json.RawMessage
	points       map[string]point // by the id's JSON text
	order        []string         // ids by first insertion (search ties)
}

type point struct {
	id      json.RawMessage
	vector  []float64 // normalized (Cosine)
	payload map[string]any
	version int
}

// Start serves a fake Qdrant until the test ends; apiKey "" takes any
// request, else each must carry it in the api-key header.
func Start(t testing.TB, apiKey string) *Server {
	t.Helper()
	s := &Server{apiKey: apiKey, collections: map[string]*collection{}}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Requests returns "METHOD path" of every request so far.
func (s *Server) Requests() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.requests...)
}

// Points returns the payloads of a collection's points (nil: no such
// collection).
func (s *Server) Points(name string) []map[string]any {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.collections[name]
	if c == nil {
		return nil
	}
	out := []map[string]any{}
	for _, id := range c.order {
		if p, ok := c.points[id]; ok {
			out = append(out, p.payload)
		}
	}
	return out
}

// Collection returns a collection's vector size, distance and quantization
// config as created (ok false: none).
func (s *Server) Collection(name string) (size int, distance string, quantization json.RawMessage, ok bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.collections[name]
	if c == nil {
		return 0, "", nil, false
	}
	return c.size, c.distance, c.quantization, true
}

var (
	collectionPath = regexp.MustCompile(`^/collections/([^/]+)(/exists|/points|/points/search|/points/delete)?$`)
	uuidRE         = regexp.MustCompile(`^[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}$`)
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	s.mu.Lock()
	s.requests = append(s.requests, r.Method+" "+r.URL.Path)
	s.mu.Unlock()
	ok := func(result any) {
		w.Header().Set("content-type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"result": result, "status": "ok", "time": time.Since(start).Seconds()})
	}
	fail := func(code int, format string, args ...any) {
		w.Header().Set("content-type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{"status": map[string]any{"error": fmt.Sprintf(format, args...)}, "time": time.Since(start).Seconds()})
	}
	if s.apiKey != "" && r.Header.Get("api-key") != s.apiKey {
		fail(http.StatusUnauthorized, "Must provide an API key or an Authorization bearer token")
		return
	}
	m := collectionPath.FindStringSubmatch(r.URL.Path)
	if m == nil {
		fail(http.StatusNotFound, "Not found")
		return
	}
	name, sub := m[1], m[2]
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.collections[name]
	missing := func() { fail(http.StatusNotFound, "Not found: Collection `%s` doesn't exist!", name) }
	switch {
	case sub == "/exists" && r.Method == http.MethodGet:
		ok(map[string]any{"exists": c != nil})
	case sub == "" && r.Method == http.MethodGet:
		if c == nil {
			missing()
			return
		}
		ok(map[string]any{"status": "green", "optimizer_status": "ok", "indexed_vectors_count": 0,
			"points_count": len(c.points), "segments_count": 1, "payload_schema": map[string]any{},
			"config": map[string]any{
				"params":              map[string]any{"vectors": map[string]any{"size": c.size, "distance": c.distance}, "shard_number": 1, "replication_factor": 1, "write_consistency_factor": 1, "on_disk_payload": true},
				"quantization_config": c.quantization,
			}})
	case sub == "" && r.Method == http.MethodPut:
		var req struct {
			Vectors struct {
				Size     int    `json:"size"`
				Distance string `json:"distance"`
			} `json:"vectors"`
			Quantization json.RawMessage `json:"quantization_config"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(http.StatusBadRequest, "Format error in JSON body: %v", err)
			return
		}
		if c != nil {
			fail(http.StatusConflict, "Wrong input: Collection `%s` already exists!", name)
			return
		}
		if req.Vectors.Size <= 0 || req.Vectors.Distance != "Cosine" && req.Vectors.Distance != "Dot" && req.Vectors.Distance != "Euclid" {
			fail(http.StatusBadRequest, "Format error in JSON body: vectors: size and distance required")
			return
		}
		s.collections[name] = &collection{size: req.Vectors.Size, distance: req.Vectors.Distance, quantization: req.Quantization, points: map[string]point{}}
		ok(true)
	case sub == "" && r.Method == http.MethodDelete:
		delete(s.collections, name)
		ok(c != nil)
	case sub == "/points" && r.Method == http.MethodPut:
		if c == nil {
			missing()
			return
		}
		var req struct {
			Points []struct {
				ID      json.RawMessage `json:"id"`
				Vector  []float64       `json:"vector"`
				Payload map[string]any  `json:"payload"`
			} `json:"points"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(http.StatusBadRequest, "Format error in JSON body: %v", err)
			return
		}
		for _, p := range req.Points {
			if !validID(p.ID) {
				fail(http.StatusBadRequest, "Format error in JSON body: value %s is not a valid point ID, valid values are either an unsigned integer or a UUID", p.ID)
				return
			}
			if len(p.Vector) != c.size {
				fail(http.StatusBadRequest, "Wrong input: Vector dimension error: expected dim: %d, got %d", c.size, len(p.Vector))
				return
			}
		}
		s.version++
		for _, p := range req.Points {
			key := idKey(p.ID)
			if _, ok := c.points[key]; !ok {
				c.order = append(c.order, key)
			}
			v := p.Vector
			if c.distance == "Cosine" {
				v = normalize(v)
			}
			c.points[key] = point{id: p.ID, vector: v, payload: p.Payload, version: s.version}
		}
		ok(updateResult(r, s.version))
	case sub == "/points/delete" && r.Method == http.MethodPost:
		if c == nil {
			missing()
			return
		}
		var req struct {
			Points []json.RawMessage `json:"points"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(http.StatusBadRequest, "Format error in JSON body: %v", err)
			return
		}
		s.version++
		for _, id := range req.Points {
			delete(c.points, idKey(id))
		}
		ok(updateResult(r, s.version))
	case sub == "/points/search" && r.Method == http.MethodPost:
		if c == nil {
			missing()
			return
		}
		var req struct {
			Vector      []float64 `json:"vector"`
			Limit       int       `json:"limit"`
			WithPayload bool      `json:"with_payload"`
			Filter      *struct {
				Must []struct {
					Key   string `json:"key"`
					Match struct {
						Value any `json:"value"`
					} `json:"match"`
				} `json:"must"`
			} `json:"filter"`
		}
		if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
			fail(http.StatusBadRequest, "Format error in JSON body: %v", err)
			return
		}
		if len(req.Vector) != c.size {
			fail(http.StatusBadRequest, "Wrong input: Vector dimension error: expected dim: %d, got %d", c.size, len(req.Vector))
			return
		}
		q := req.Vector
		if c.distance == "Cosine" {
			q = normalize(q)
		}
		type hit struct {
			p     point
			score float64
			at    int
		}
		var hits []hit
		for i, id := range c.order {
			p, ok := c.points[id]
			if !ok || !matches(p.payload, req.Filter) {
				continue
			}
			var dot float64
			for j := range q {
				dot += q[j] * p.vector[j]
			}
			hits = append(hits, hit{p, dot, i})
		}
		sort.SliceStable(hits, func(i, j int) bool { return hits[i].score > hits[j].score })
		if req.Limit <= 0 {
			req.Limit = 10
		}
		if len(hits) > req.Limit {
			hits = hits[:req.Limit]
		}
		out := []map[string]any{}
		for _, h := range hits {
			m := map[string]any{"id": h.p.id, "version": h.p.version, "score": h.score}
			if req.WithPayload {
				m["payload"] = h.p.payload
			}
			out = append(out, m)
		}
		ok(out)
	default:
		fail(http.StatusNotFound, "Not found")
	}
}

// matches applies a filter's must conditions (match value on a payload key).
func matches(payload map[string]any, f *struct {
	Must []struct {
		Key   string `json:"key"`
		Match struct {
			Value any `json:"value"`
		} `json:"match"`
	} `json:"must"`
}) bool {
	if f == nil {
		return true
	}
	for _, c := range f.Must {
		if fmt.Sprint(payload[c.Key]) != fmt.Sprint(c.Match.Value) {
			return false
		}
	}
	return true
}

func updateResult(r *http.Request, version int) map[string]any {
	st := "acknowledged"
	if r.URL.Query().Get("wait") == "true" {
		st = "completed"
	}
	return map[string]any{"operation_id": version, "status": st}
}

func validID(id json.RawMessage) bool {
	var n uint64
	if json.Unmarshal(id, &n) == nil {
		return true
	}
	var s string
	return json.Unmarshal(id, &s) == nil && uuidRE.MatchString(s)
}

func idKey(id json.RawMessage) string {
	var s string
	if json.Unmarshal(id, &s) == nil {
		return strings.ToLower(strings.ReplaceAll(s, "-", ""))
	}
	return string(id)
}

func normalize(v []float64) []float64 {
	var n float64
	for _, x := range v {
		n += x * x
	}
	n = math.Sqrt(n)
	out := make([]float64, len(v))
	for i, x := range v {
		if n > 0 {
			out[i] = x / n
		}
	}
	return out
}
