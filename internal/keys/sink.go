package keys

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/llmgate/llmgate/internal/outcome"
)

// SpendSink is the spend sink's name on the outcome bus.
const SpendSink = "spend"

// SinkQueue is the spend sink's queue on the outcome bus: large, so that a
// burst never drops spend (a drop is counted in the bus stats).
const SinkQueue = 1 << 16

// MaySpend reports whether a try of a request with this key hash, team
// and end user can carry spend (a cheap test before the try's event is
// built). A team without a key is a JWT caller's (D97).
func MaySpend(keyHash, teamID, endUser string) bool {
	return keyHash != "" || teamID != "" || trackEndUser(endUser)
}

// Spends reports whether the spend sink writes t's spend (a write-ahead
// line): a success with a known cost, of a virtual key or a tracked end
// user. The attempt filter holds such an answer's last bytes until the sink
// has consumed it (docs/architecture.md D92).
func Spends(t *outcome.Try) bool {
	return MaySpend(t.KeyHash, t.TeamID, t.EndUser) && t.CostKnown && t.Status >= 200 && t.Status < 300
}

// OnTry is the spend sink of the outcome bus: a try with a known cost adds
// to its key's, team's and user's spend; its tokens count towards the key's
// tpm_limit. It runs on the bus's goroutine, off the request path. A try
// whose spend was added already (its request id remembered: the module's
// record sent again after a lost acknowledgement, D63) counts neither its
// spend nor its tokens again (D155: its tokens were counted twice).
func (s *Service) OnTry(t outcome.Try) {
	if !MaySpend(t.KeyHash, t.TeamID, t.EndUser) {
		return
	}
	// The spend is logged under these (D136: without a database a keyless
	// caller's try is logged without its api_key); the tokens count under
	// the try's own.
	logKey, logUser := t.KeyHash, t.UserID
	if IsCaller(t.KeyHash) && !s.o.CallerSpendLogs {
		if t.KeyHash == MasterKeyAlias {
			logUser = ""
		}
		logKey = ""
	}
	spends := MaySpend(logKey, t.TeamID, t.EndUser) && t.CostKnown && t.Status >= 200 && t.Status < 300
	var e SpendEvent
	if spends {
		end := t.Start.Add(t.Overhead + t.Latency)
		if t.Start.IsZero() {
			end = s.now()
		}
		id := t.CallID
		if t.CacheHit {
			// LiteLLM's spend log id of a cache hit (its request id repeats the
			// cached answer's): "<id>_cache_hit<unix seconds>".
			id += "_cache_hit" + strconv.FormatFloat(float64(end.UnixNano())/1e9, 'f', -1, 64)
		}
		if id != "" && !s.remember(id) {
			return
		}
		e = SpendEvent{RequestID: id, CallType: outcome.CallType(t.Endpoint), KeyToken: logKey, TeamID: t.TeamID, UserID: logUser,
			EndUser: t.EndUser, Model: t.Model, ModelGroup: t.ModelGroup, ModelID: t.DeploymentID, Provider: t.Provider,
			Cost: t.Cost, PromptTokens: int64(t.PromptTokens), CompletionTokens: int64(t.CompletionTokens), Start: t.Start, End: end,
			Tags: s.requestTags(&t), CacheHit: t.CacheHit, CacheKey: t.CacheKey}
	}
	if t.TotalTokens > 0 && s.o.Counters != nil {
		// A context with a timer only when some tpm_limit counts them (D84:
		// it was made for every answer).
		if ids := s.tpmIDs(t.KeyHash, t.TeamID, t.UserID, t.EndUser, t.ModelGroup); len(ids) > 0 {
			if !spends && t.CallID != "" && !s.rememberTokens(t.CallID, t.Attempt) {
				return // a try without spend (no price) sent again: its tokens counted already (D166)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			s.recordTokens(ctx, ids, int64(t.TotalTokens))
			cancel()
		}
	}
	if !spends {
		return
	}
	if s.prompts.used.Load() {
		e.Request, e.Response = s.takePrompts(t.CallID)
	}
	s.record(e, true)
}

// requestTags are a spend log's request_tags (D84), in LiteLLM's order
// (litellm_pre_call_utils.py, the router, get_request_tags): the request's
// own early tags (body metadata.tags, x-litellm-tags), its key's metadata.tags
// (the active key for a regenerated key's old value), its key's team's
// metadata.tags, the late ones (the body's tags, the deployment's
// litellm_params.tags), each once; then "User-Agent: <product>" and
// "User-Agent: <whole value>" (not deduplicated, as LiteLLM appends them).
func (s *Service) requestTags(t *outcome.Try) []string {
	ua := s.ua.tags(t.UserAgent)
	var out []string
	if len(t.Tags)+len(t.LateTags) > 0 {
		out = make([]string, 0, len(t.Tags)+len(t.LateTags)+len(ua)+4)
	}
	add := func(tags []string) {
		for _, x := range tags {
			if !slices.Contains(out, x) {
				out = append(out, x)
			}
		}
	}
	add(t.Tags)
	if t.KeyHash != "" {
		s.keyTagLists(t.KeyHash, add)
	}
	add(t.LateTags)
	if len(out) == 0 {
		return ua // shared, read only (capacity cut: an append copies)
	}
	return append(out, ua...)
}

// keyTagLists calls f with the metadata.tags of a key (the active key for a
// regenerated key's old token), then with those of its team.
func (s *Service) keyTagLists(token string, f func([]string)) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	k := s.keys[token]
	if k == nil {
		if a := s.activeTokenLocked(token); a != "" {
			k = s.keys[a]
		}
	}
	if k == nil {
		return
	}
	f(metadataTags(k.Metadata))
	if tm := s.teams[k.TeamID]; tm != nil && k.TeamID != "" {
		f(metadataTags(tm.Metadata))
	}
}

// KeyTags appends to tags, each once, the metadata.tags of a key and of its
// team: what LiteLLM's proxy merges into a request's metadata.tags before
// its router filters by tag (enable_tag_filtering, D89).
func (s *Service) KeyTags(tags []string, token string) []string {
	s.keyTagLists(token, func(l []string) {
		for _, x := range l {
			if !slices.Contains(tags, x) {
				tags = append(tags, x)
			}
		}
	})
	return tags
}

// uaTagCache keeps the "User-Agent: …" tags of the User-Agents seen (D84:
// two string concatenations per answer otherwise; a client sends the same
// one every time): at most maxUATags values, emptied when full.
type uaTagCache struct {
	mu sync.Mutex
	m  map[string][]string
}

const maxUATags = 256

// tags are LiteLLM's tags of a User-Agent: "User-Agent: <part before the
// first "/">" when it has one, then "User-Agent: <value>"; none for "".
func (c *uaTagCache) tags(ua string) []string {
	if ua == "" {
		return nil
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if v, ok := c.m[ua]; ok {
		return v
	}
	var v []string
	if product, _, ok := strings.Cut(ua, "/"); ok {
		v = append(v, "User-Agent: "+product)
	}
	v = append(v, "User-Agent: "+ua)
	v = v[:len(v):len(v)]
	if c.m == nil || len(c.m) >= maxUATags {
		c.m = map[string][]string{}
	}
	c.m[ua] = v
	return v
}

// metadataTags are the strings of a metadata's tags list (as /key/generate
// and /team/new keep them).
func metadataTags(md map[string]any) []string {
	switch v := md["tags"].(type) {
	case []string:
		return v
	case []any:
		out := make([]string, 0, len(v))
		for _, x := range v {
			if str, ok := x.(string); ok {
				out = append(out, str)
			}
		}
		return out
	}
	return nil
}
