package extproc

import (
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"

	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/router"
	"github.com/llmgate/llmgate/translator"
)

// OpenAI's Responses API, /v1/responses (D137). POST is planned like chat
// (model groups, aliases, keys, budgets, retries, fallbacks, cooldowns) and
// served by the ext_proc filters, as /v1/messages is (messages.go): each
// try takes the endpoint's translator (translator.ForResponses), native for
// OpenAI and Azure deployments, LiteLLM's chat bridge for the others. The
// by-id routes (GET and DELETE /v1/responses/{id}, GET …/input_items, POST
// …/cancel) carry no body: the id LiteLLM encodes names the deployment, the
// request filter plans one try on it, and the attempt filter sends the
// provider its own id.

// responsesByIDMethod reports whether a by-id route takes the method
// (GET and DELETE on the response, GET on its input items, POST to cancel;
// the provider answers a wrong pairing).
func responsesByIDMethod(rt route, method string) bool {
	return rt.responseID != "" && (method == "GET" || method == "DELETE" || method == "POST")
}

// responseDeployment is the deployment a by-id route goes to: the one the
// id LiteLLM encoded names (its model_info.id), which must still be in the
// config and serve the Responses API itself.
func (st *State) responseDeployment(id string) (*configDeployment, *translator.Error) {
	_, depID, _ := translator.DecodeResponseID(id)
	if depID == "" {
		return nil, translator.NewError(400, "invalid_request_error", "llmgate: response id "+id+" names no deployment of this gateway (LiteLLM's ids encode the deployment that answered)", "")
	}
	d, ok := st.Router.Deployment(depID)
	if !ok {
		return nil, translator.NewError(404, "not_found_error", "llmgate: the deployment that answered response "+id+" is no longer in the config", "")
	}
	if !translator.ResponsesNative(d.Provider) || d.Params.UseChatCompletionsAPI {
		return nil, translator.NewError(400, "invalid_request_error", "llmgate: "+d.Provider+" deployments answer the Responses API through chat completions and keep no responses to read by id", "")
	}
	return d, nil
}

// pinnedPlan is a by-id route's plan: one try on the deployment d.
func pinnedPlan(res router.Resolution, d *configDeployment) (*router.Plan, []*llmgatev1.Attempt) {
	return &router.Plan{Resolution: res}, []*llmgatev1.Attempt{{DeploymentId: d.ID, ModelGroup: d.ModelName, Model: d.Model, Provider: d.Provider}}
}

// byIDRequest is the provider request of a by-id try: the method and the
// client's path turned into the deployment's (translator.ResponsesByID).
func (t *try) byIDRequest() (*translator.UpstreamRequest, *translator.Error) {
	return translator.ResponsesByID(t.reqHdr[":method"], t.rc.OriginalPath, t.target)
}

// byIDPairs is requestPairs for a by-id try: the provider's path and
// method, no body (withLength: the client sent one, which is dropped).
func (t *try) byIDPairs(withLength bool) ([]byte, [][2]string, []string, *translator.Error) {
	up, e := t.byIDRequest()
	if e != nil {
		return nil, nil, nil, e
	}
	set, remove, e := t.upstreamHeaderPairs(up, withLength)
	if e != nil {
		return nil, nil, nil, e
	}
	return []byte{}, set, remove, nil
}

// byIDHeaders answers the request headers of a by-id try that has no body.
func (t *try) byIDHeaders() (*extprocv3.ProcessingResponse, *translator.Error) {
	_, set, remove, e := t.byIDPairs(false)
	if e != nil {
		return nil, e
	}
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
		HeaderMutation: headerMutation(set, remove),
	}}}}, nil
}
