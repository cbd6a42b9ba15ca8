package extproc

import (
	"context"
	"encoding/json"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/internal/keys"
	"github.com/llmgate/llmgate/internal/search"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's search API (D150, internal/search): POST /v1/search/{tool}
// (also /search/{tool}, and /v1/search, /search with search_tool_name in
// the body) and GET /v1/search/tools, answered by the request filter.

// searchRoute says whether path is a search route: tool is the path's
// tool name ("" when the body names it), list the tools listing.
func searchRoute(path string) (tool string, list, ok bool) {
	p := strings.TrimRight(clientPath(path), "/")
	rest, ok := strings.CutPrefix(strings.TrimPrefix(p, "/v1"), "/search")
	if !ok || (rest != "" && rest[0] != '/') {
		return "", false, false
	}
	if rest == "" {
		return "", false, true
	}
	name := rest[1:]
	if name == "" || strings.Contains(name, "/") {
		return "", false, false
	}
	return name, name == "tools", true
}

// searchTools is the state's search tools' caller, made at its first use.
func (st *State) searchTools() *search.Searcher {
	st.searchOnce.Do(func() { st.search = search.New(st.Cfg) })
	return st.search
}

// searchAPI answers a search route.
func (s *Server) searchAPI(stream extprocv3.ExternalProcessor_ProcessServer, st *State, h map[string]string, tool string, list, endOfStream bool) error {
	method := h[":method"]
	if list && method == "GET" {
		if _, e := st.authenticate(h, true); e != nil {
			return stream.Send(errorReply(e, nil))
		}
		type info struct {
			Name        string `json:"search_tool_name"`
			Provider    string `json:"search_provider"`
			Description string `json:"description,omitempty"`
		}
		out := struct {
			Object string `json:"object"`
			Data   []info `json:"data"`
		}{"list", []info{}}
		for _, t := range st.Cfg.SearchTools {
			out.Data = append(out.Data, info{t.Name, t.Provider, t.Description})
		}
		b, _ := json.Marshal(out)
		return stream.Send(immediate(200, "application/json", b, nil, "llmgate_search_tools"))
	}
	if method != "POST" {
		allow := "POST"
		if list {
			allow = "GET, POST"
		}
		return stream.Send(errorReply(methodNotAllowed(method), map[string]string{"allow": allow}))
	}
	start := s.now()
	body, ok, err := managementBodyUnless(stream, endOfStream)
	if !ok {
		return err
	}
	id, e := st.authenticateRoute(h)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	var req map[string]any
	if len(body) == 0 || json.Unmarshal(body, &req) != nil {
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "Invalid JSON payload: the body must be a JSON object", ""), nil))
	}
	if tool == "" {
		tool, _ = req["search_tool_name"].(string)
	}
	if tool == "" {
		tool, _ = req["model"].(string)
	}
	if tool == "" {
		// LiteLLM's ProxyMissingRequiredParamError.
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "/search: Missing required parameter 'search_tool_name'", "search_tool_name"), nil))
	}
	// The key's budget and limits, as on every LiteLLM route (a search names
	// no model: the key's model list does not apply).
	g, e := st.authorizeKey(id, nil, "", "", "", "", nil)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	if g != nil && g.Parallel {
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), keys.LimitTimeout)
			defer cancel()
			if g.Token != "" {
				st.keys.End(ctx, g.Token)
			} else {
				st.keys.EndFor(ctx, "", g.TeamID, g.UserID)
			}
		}()
	}
	if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(search.Timeout + 5*time.Second)}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(stream.Context(), search.Timeout)
	defer cancel()
	res, se := st.searchTools().Search(ctx, tool, req)
	if se != nil {
		return stream.Send(errorReply(se, nil))
	}
	if g != nil && st.keys != nil {
		st.keys.Record(keys.SpendEvent{RequestID: h["x-request-id"], CallType: "asearch", KeyToken: g.Token, TeamID: g.TeamID, UserID: g.UserID,
			Model: tool, ModelGroup: tool, Provider: res.Provider, Cost: res.Cost, Start: start, End: s.now()})
	}
	hd := map[string]string{"x-litellm-response-cost": strconv.FormatFloat(res.Cost, 'g', -1, 64)}
	return stream.Send(immediate(200, "application/json", res.Body, hd, "llmgate_search"))
}
