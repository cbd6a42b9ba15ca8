package extproc

import (
	"context"
	"net/url"
	"os"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/filesapi"
	"github.com/llmgate/llmgate/translator"
)

// LiteLLM's Files and Batches API routes (D147, internal/filesapi): the
// request filter checks the key, reads the body (bounded by
// max_request_size_mb), calls the provider's own Files or Batches API with
// the credentials files_settings (else the environment) gives the
// request's custom_llm_provider, and answers the client itself. The
// provider's credentials never reach the client.

// filesService is the state's Files and Batches service, made at its
// first use.
func (st *State) filesService() *filesapi.Service {
	st.filesOnce.Do(func() {
		env := st.Cfg.EnvVars
		getenv := func(name string) string {
			if v, ok := env[name]; ok {
				return v
			}
			return os.Getenv(name)
		}
		st.files = filesapi.New(st.Cfg, getenv, nil, st.maxBody)
		st.files.ModelCreds = func(model string) (filesapi.Creds, *translator.Error) {
			// LiteLLM's registry().credentials: the group's first
			// deployment, or the deployment of that model_info.id.
			for i := range st.Cfg.Models {
				d := &st.Cfg.Models[i]
				if d.ModelName != model && d.ID != model {
					continue
				}
				// The deployment's effective api_base, as the model compiled it.
				base := ""
				if md, ok := st.Router.Model().Deployment(d.ID); ok {
					base = md.APIBase
				}
				fs := &config.FilesSetting{Provider: d.Provider, APIKey: d.Params.APIKey, APIBase: base, APIVersion: d.Params.APIVersion, Organization: d.Params.Organization}
				return filesapi.Resolve(filesapi.FileGet, d.Provider, fs, getenv)
			}
			return filesapi.Creds{}, nil
		}
	})
	return st.files
}

// filesRoute answers a Files or Batches route.
func (s *Server) filesRoute(stream extprocv3.ExternalProcessor_ProcessServer, st *State, first *extprocv3.ProcessingRequest, h map[string]string, op filesapi.Op) error {
	rh := first.GetRequestHeaders()
	if e := headerLimitError(rh.GetHeaders()); e != nil {
		return stream.Send(errorReply(e, nil))
	}
	id, e := st.authenticateRoute(h)
	if e != nil {
		return stream.Send(errorReply(e, nil))
	}
	if op.Kind == 0 {
		m := methodNotAllowed(h[":method"])
		m.Message = "Method Not Allowed"
		return stream.Send(errorReply(m, map[string]string{"allow": op.Allow}))
	}
	var body []byte
	if !rh.GetEndOfStream() {
		if reply := declaredTooLarge(h, st.maxBody); reply != nil {
			return stream.Send(reply)
		}
		in, reply, err := readBody(stream, st.maxBody, false)
		if err != nil {
			return err
		}
		if reply != nil {
			return stream.Send(reply)
		}
		if in.trailers {
			return stream.Send(trailersRefused())
		}
		body = in.body
	}
	// The provider may take longer than the default message timeout.
	if err := stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(filesapi.CallTimeout + 5*time.Second)}); err != nil {
		return err
	}
	q := url.Values{}
	if _, raw, ok := strings.Cut(h[":path"], "?"); ok {
		q, _ = url.ParseQuery(raw)
	}
	req := &filesapi.Request{Op: op, Query: q, Header: h, Body: body}
	if id.token != "" && st.keys != nil {
		// LiteLLM's authorize_model_for_key of a model the request routes by.
		req.CheckModel = func(model string) *translator.Error {
			if ke := st.keys.CheckKeyModel(id.token, id.presented, model); ke != nil {
				return keyError(ke)
			}
			return nil
		}
	}
	ans, te := st.filesService().Serve(context.Background(), req)
	callID := map[string]string{"x-litellm-call-id": h["x-request-id"]}
	if te != nil {
		return stream.Send(errorReply(te, callID))
	}
	return stream.Send(immediate(ans.Status, ans.ContentType, ans.Body, callID, "llmgate_files"))
}
