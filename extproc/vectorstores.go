package extproc

import (
	"context"
	"encoding/json"
	"net/url"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/internal/search"
	"github.com/llmgate/llmgate/internal/vectorstores"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's vector stores (D150, internal/vectorstores):
// POST /v1/vector_stores/{id}/search (and /vector_stores/{id}/search)
// answered by the request filter, and chat completions that name a
// registered store searched first, the results put in as a context message.

// vectorStoreSearchID is the store id of a search route ("", false: not one).
// The id may hold '/' (LiteLLM's {vector_store_id:path}).
func vectorStoreSearchID(path string) (string, bool) {
	p := strings.TrimRight(clientPath(path), "/")
	rest, ok := strings.CutPrefix(strings.TrimPrefix(p, "/v1"), "/vector_stores/")
	if !ok {
		return "", false
	}
	id, ok := strings.CutSuffix(rest, "/search")
	if !ok || id == "" {
		return "", false
	}
	if u, err := url.PathUnescape(id); err == nil {
		id = u
	}
	return id, true
}

// vectorStores is the state's searcher, made at its first use.
func (st *State) vectorStores() *vectorstores.Searcher {
	st.vsOnce.Do(func() { st.vs = vectorstores.New(st.Cfg) })
	return st.vs
}

// vectorStoreSearch answers a search route: the master key or a virtual
// key (LiteLLM's user_api_key_auth), the body's query and OpenAI's search
// parameters, the store's answer as OpenAI's search page.
func (s *Server) vectorStoreSearch(stream extprocv3.ExternalProcessor_ProcessServer, st *State, h map[string]string, id string, endOfStream bool) error {
	if h[":method"] != "POST" {
		return stream.Send(errorReply(methodNotAllowed(h[":method"]), map[string]string{"allow": "POST"}))
	}
	body, ok, err := managementBodyUnless(stream, endOfStream)
	if !ok {
		return err
	}
	if _, e := st.authenticateRoute(h); e != nil {
		return stream.Send(errorReply(e, nil))
	}
	var req map[string]any
	if len(body) == 0 || json.Unmarshal(body, &req) != nil {
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "Invalid JSON payload: the body must be a JSON object", ""), nil))
	}
	for _, k := range []string{"embedding_model", "litellm_embedding_model", "litellm_embedding_config", "litellm_credential_name"} {
		if _, ok := req[k]; ok {
			// LiteLLM's reject_caller_embedding_selection_params.
			return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "'"+k+"' cannot be set in the search request body. Embedding configuration comes from the vector store's server-side registration.", ""), nil))
		}
	}
	q, ok := req["query"]
	if !ok || q == nil || !search.ValidQuery(q) {
		return stream.Send(errorReply(translator.NewError(400, "invalid_request_error", "query is required: a string or a list of strings", "query"), nil))
	}
	if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(vectorstores.Timeout + 5*time.Second)}); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(stream.Context(), vectorstores.Timeout)
	defer cancel()
	out, se := st.vectorStores().Search(ctx, id, vectorstores.Request{Query: q, Params: req})
	if se != nil {
		return stream.Send(errorReply(se, nil))
	}
	return stream.Send(immediate(200, "application/json", out, nil, "llmgate_vector_store_search"))
}

// augmentChat runs LiteLLM's vector store hook on a chat body that names a
// registered store: the new body, or nil when nothing changed, and what
// the searches found.
func (s *Server) augmentChat(stream extprocv3.ExternalProcessor_ProcessServer, st *State, rt route, body []byte) ([]byte, *vectorstores.Augmented, error) {
	if len(st.Cfg.VectorStores) == 0 || rt.endpoint != translator.Chat || !st.vectorStores().Wanted(body) {
		return nil, nil, nil
	}
	if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(vectorstores.Timeout + 5*time.Second)}); err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithTimeout(stream.Context(), vectorstores.Timeout)
	defer cancel()
	out, aug := st.vectorStores().Augment(ctx, body, st.log)
	return out, aug, nil
}

// annotating is aug when the answer to an augmented request is read to
// add the search results (a non-streamed answer the provider gives), else
// nil.
func annotating(aug *vectorstores.Augmented, resp *extprocv3.ProcessingResponse) *vectorstores.Augmented {
	if aug == nil || aug.Stream || (len(aug.Results) == 0 && len(aug.Failures) == 0) || resp.GetRequestBody() == nil {
		return nil
	}
	return aug
}

// withBody makes a request answer carry body (a changed request body) when
// routing did not replace the body itself.
func withBody(resp *extprocv3.ProcessingResponse, body []byte) {
	rb := resp.GetRequestBody()
	if rb == nil {
		return
	}
	cr := rb.GetResponse()
	if cr == nil {
		cr = &extprocv3.CommonResponse{}
		rb.Response = cr
	}
	if cr.BodyMutation != nil {
		return // the prepared body was built from body
	}
	cr.BodyMutation = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: body}}
	if cr.HeaderMutation == nil {
		cr.HeaderMutation = &extprocv3.HeaderMutation{}
	}
	cr.HeaderMutation.SetHeaders = append(cr.HeaderMutation.SetHeaders, hdr("content-length", strconv.Itoa(len(body))))
}
