package keys

import (
	"bytes"
	"encoding/json"
	"strconv"
	"sync"
	"sync/atomic"
	"unicode/utf8"
)

// store_prompts_in_spend_logs (docs/architecture.md D117): LiteLLM writes a
// request's body (proxy_server_request) and its answer (response) into its
// spend log, every string longer than MAX_STRING_LENGTH_PROMPT_IN_DB (2048
// characters) cut to its first 35 % and last 65 % around a marker. The
// ext_proc request filter keeps the body (KeepRequest), the attempt filter
// the answer that reached the client (KeepResponse), both by the request's
// call id; the spend sink takes them for the request's spend log, off the
// request path. Bounded: at most promptsMax requests are held (the oldest
// dropped), only while the setting is on.

// promptsMax bounds the requests whose bodies wait for their spend log.
const promptsMax = 4096

// maxStringInDB is LiteLLM's MAX_STRING_LENGTH_PROMPT_IN_DB.
const maxStringInDB = 2048

type promptPair struct{ req, resp []byte }

type promptStore struct {
	used  atomic.Bool // something was kept (the sink looks only then)
	mu    sync.Mutex
	m     map[string]*promptPair
	order []string // insertion order (a ring of promptsMax)
	next  int
}

func (p *promptStore) pair(id string) *promptPair {
	if p.m == nil {
		p.m = map[string]*promptPair{}
		p.order = make([]string, promptsMax)
	}
	if x := p.m[id]; x != nil {
		return x
	}
	if old := p.order[p.next]; old != "" {
		delete(p.m, old)
	}
	p.order[p.next] = id
	p.next = (p.next + 1) % promptsMax
	x := &promptPair{}
	p.m[id] = x
	p.used.Store(true)
	return x
}

// KeepRequest keeps a request's body for its spend log (call id id).
func (s *Service) KeepRequest(id string, body []byte) {
	if id == "" {
		return
	}
	c := bytes.Clone(body)
	s.prompts.mu.Lock()
	s.prompts.pair(id).req = c
	s.prompts.mu.Unlock()
}

// KeepResponse keeps the answer the client got for its spend log.
func (s *Service) KeepResponse(id string, body []byte) {
	if id == "" {
		return
	}
	c := bytes.Clone(body)
	s.prompts.mu.Lock()
	s.prompts.pair(id).resp = c
	s.prompts.mu.Unlock()
}

// takePrompts takes a request's kept bodies as its spend log's
// proxy_server_request and response (nil: none kept).
func (s *Service) takePrompts(id string) (req, resp json.RawMessage) {
	s.prompts.mu.Lock()
	x := s.prompts.m[id]
	if x != nil {
		delete(s.prompts.m, id)
	}
	s.prompts.mu.Unlock()
	if x == nil {
		return nil, nil
	}
	return dbJSON(x.req), dbJSON(x.resp)
}

// dbJSON is a body as LiteLLM stores it in a spend log: its JSON with every
// long string cut (truncateForDB); nil for an empty or invalid body.
func dbJSON(b []byte) json.RawMessage {
	if len(b) == 0 || !json.Valid(b) {
		return nil
	}
	if len(b) <= maxStringInDB {
		var c bytes.Buffer
		if json.Compact(&c, b) != nil {
			return nil
		}
		return c.Bytes()
	}
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if d.Decode(&v) != nil {
		return nil
	}
	out, err := json.Marshal(truncateForDB(v))
	if err != nil {
		return nil
	}
	return out
}

// truncateForDB cuts every string longer than maxStringInDB characters to
// its first 35 % and last 65 % of that length with LiteLLM's marker between.
func truncateForDB(v any) any {
	switch x := v.(type) {
	case string:
		n := utf8.RuneCountInString(x)
		if n <= maxStringInDB {
			return x
		}
		r := []rune(x)
		start := maxStringInDB * 35 / 100
		end := maxStringInDB - start
		return string(r[:start]) + "... (litellm_truncated skipped " + strconv.Itoa(n-start-end) + " chars) ..." + string(r[n-end:])
	case []any:
		for i := range x {
			x[i] = truncateForDB(x[i])
		}
	case map[string]any:
		for k, e := range x {
			x[k] = truncateForDB(e)
		}
	}
	return v
}
