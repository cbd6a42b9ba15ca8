// Tiny ext_proc server for the spike. Role from gRPC initial metadata x-role:
//
//	req      request filter: auth, model → group header + plan metadata, clear route cache
//	attempt  today's attempt filter emulation: :path/:authority/credentials, x-litellm-* on response
//	obs      observability-mode response body reader (counts bytes, finds "usage")
package main

import (
	"bytes"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	typev3 "github.com/envoyproxy/go-control-plane/envoy/type/v3"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/types/known/structpb"
)

var (
	dumpN   = flag.Int("dump", 3, "dump the first N messages of each role/kind as JSON")
	dumpMu  sync.Mutex
	dumped  = map[string]int{}
	obsSeen atomic.Int64
	obsUsg  atomic.Int64
	obsByte atomic.Int64
)

func dumpMsg(role, kind string, b []byte) {
	dumpMu.Lock()
	defer dumpMu.Unlock()
	k := role + "/" + kind
	if dumped[k] >= *dumpN {
		return
	}
	dumped[k]++
	fmt.Fprintf(os.Stderr, "=== %s #%d\n%s\n", k, dumped[k], b)
}

type server struct {
	extprocv3.UnimplementedExternalProcessorServer
}

func (s *server) Process(stream extprocv3.ExternalProcessor_ProcessServer) error {
	md, _ := metadata.FromIncomingContext(stream.Context())
	role := first(md["x-role"])
	prefix := first(md["x-cluster-prefix"])
	var obsBuf bytes.Buffer
	var pipeBody bytes.Buffer
	var pipeChunks int
	var pipeAttrs *extprocv3.ProcessingRequest
	for {
		req, err := stream.Recv()
		if err == io.EOF {
			if role == "obs" {
				finishObs(&obsBuf)
			}
			return nil
		}
		if err != nil {
			if role == "obs" {
				finishObs(&obsBuf)
			}
			return err
		}
		if *dumpN > 0 {
			b, _ := protojson.MarshalOptions{Multiline: true}.Marshal(req)
			dumpMsg(role, kindOf(req), b)
		}
		var resp *extprocv3.ProcessingResponse
		switch role {
		case "pipe":
			// headers and body chunks arrive without waiting; answer nothing
			// until the last chunk, then the headers response (routing) and
			// one body response per chunk — or one ImmediateResponse.
			switch x := req.Request.(type) {
			case *extprocv3.ProcessingRequest_RequestHeaders:
				pipeAttrs = req
				if hdr(x.RequestHeaders.Headers, "authorization") == "" {
					// the headers alone show there is no key: answer now, before the body
					resp = unauthorized()
					break
				}
				if !x.RequestHeaders.EndOfStream {
					continue
				}
				resp = cont(req)
			case *extprocv3.ProcessingRequest_RequestBody:
				pipeBody.Write(x.RequestBody.Body)
				pipeChunks++
				if !x.RequestBody.EndOfStream {
					continue
				}
				fake := &extprocv3.ProcessingRequest{Attributes: pipeAttrs.GetAttributes(),
					Request: &extprocv3.ProcessingRequest_RequestBody{RequestBody: &extprocv3.HttpBody{Body: pipeBody.Bytes(), EndOfStream: true}}}
				if hh := pipeAttrs.GetRequestHeaders(); hh != nil && hdr(hh.Headers, "authorization") != "Bearer sk-good" {
					resp = unauthorized()
				} else {
					r := requestFilter(fake, prefix)
					if r.GetImmediateResponse() != nil {
						resp = r
					} else {
						hr := &extprocv3.ProcessingResponse{
							Response:        &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: r.GetRequestBody().GetResponse()}},
							DynamicMetadata: r.DynamicMetadata,
						}
						if err := stream.Send(hr); err != nil {
							return err
						}
						rewrite := bytes.Contains(pipeBody.Bytes()[:min(200, pipeBody.Len())], []byte("gpt-rewrite"))
						for i := 0; i < pipeChunks; i++ {
							r := cont(req)
							if rewrite {
								// D12 in STREAMED mode: the whole new body on the first chunk, the others cleared
								var bm *extprocv3.BodyMutation
								if i == 0 {
									nb := bytes.Replace(pipeBody.Bytes(), []byte("gpt-rewrite"), []byte("gpt-4o-2024-08-06-provider"), 1)
									bm = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: nb}}
								} else {
									bm = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}}
								}
								r = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: bm}}}}
							}
							if err := stream.Send(r); err != nil {
								return err
							}
						}
						pipeBody.Reset()
						pipeChunks = 0
						continue
					}
				}
			default:
				resp = cont(req)
			}
		case "err":
			// error-only attempt filter: mark retriable classes, classify the body
			switch x := req.Request.(type) {
			case *extprocv3.ProcessingRequest_ResponseHeaders:
				st := hdr(x.ResponseHeaders.Headers, ":status")
				resp = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
					HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{set("x-err-seen", first(md["x-llmgate-deployment"])+":"+st)}},
				}}}}
			default:
				resp = cont(req)
			}
		case "req", "reqbody":
			resp = requestFilter(req, prefix)
		case "attempt":
			resp = attemptFilter(req, md)
		case "obs":
			if b := req.GetResponseBody(); b != nil {
				obsBuf.Write(b.Body)
				if b.EndOfStream {
					finishObs(&obsBuf)
					return nil // close the stream: Envoy otherwise holds it up to deferred_close_timeout
				}
			}
			continue // observability mode: no responses
		default:
			resp = cont(req)
		}
		if err := stream.Send(resp); err != nil {
			return err
		}
	}
}

func finishObs(b *bytes.Buffer) {
	if b.Len() == 0 {
		return
	}
	obsSeen.Add(1)
	obsByte.Add(int64(b.Len()))
	if i := bytes.LastIndex(b.Bytes(), []byte(`"usage":`)); i >= 0 {
		obsUsg.Add(1)
	}
	b.Reset()
}

func kindOf(r *extprocv3.ProcessingRequest) string {
	switch r.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return "request_headers"
	case *extprocv3.ProcessingRequest_RequestBody:
		return "request_body"
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return "response_headers"
	case *extprocv3.ProcessingRequest_ResponseBody:
		return "response_body"
	}
	return "other"
}

func first(v []string) string {
	if len(v) > 0 {
		return v[0]
	}
	return ""
}

func cont(r *extprocv3.ProcessingRequest) *extprocv3.ProcessingResponse {
	switch r.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{}}}
	case *extprocv3.ProcessingRequest_RequestBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{}}}
	case *extprocv3.ProcessingRequest_ResponseBody:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseBody{ResponseBody: &extprocv3.BodyResponse{}}}
	}
	return &extprocv3.ProcessingResponse{}
}

func hdr(h *corev3.HeaderMap, name string) string {
	for _, kv := range h.GetHeaders() {
		if kv.Key == name {
			if kv.Value != "" {
				return kv.Value
			}
			return string(kv.RawValue)
		}
	}
	return ""
}

func set(k, v string) *corev3.HeaderValueOption {
	return &corev3.HeaderValueOption{Header: &corev3.HeaderValue{Key: k, RawValue: []byte(v)}, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD}
}

func unauthorized() *extprocv3.ProcessingResponse {
	return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ImmediateResponse{ImmediateResponse: &extprocv3.ImmediateResponse{
		Status:  &typev3.HttpStatus{Code: typev3.StatusCode_Unauthorized},
		Headers: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{set("content-type", "application/json")}},
		Body:    []byte(`{"error":{"message":"bad key","type":"auth_error","param":null,"code":"401"}}`),
	}}}
}

// authFromAttributes reads request.headers from ProcessingRequest.attributes
// (key "envoy.filters.http.ext_proc", a Struct whose "request.headers" is a
// Struct of header → string).
func authFromAttributes(r *extprocv3.ProcessingRequest) (string, bool) {
	a, ok := r.GetAttributes()["envoy.filters.http.ext_proc"]
	if !ok {
		return "", false
	}
	if v, ok := a.GetFields()["auth"]; ok { // mapped_attribute_builder: request.headers['authorization']
		return v.GetStringValue(), true
	}
	hv, ok := a.GetFields()["request.headers"]
	if !ok || hv.GetStructValue() == nil { // Envoy 1.40 sends the map as the string "CelMap value"
		return "", false
	}
	return hv.GetStructValue().GetFields()["authorization"].GetStringValue(), true
}

func requestFilter(r *extprocv3.ProcessingRequest, prefix string) *extprocv3.ProcessingResponse {
	switch x := r.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		if hdr(x.RequestHeaders.Headers, "authorization") != "Bearer sk-good" {
			return unauthorized()
		}
		return cont(r)
	case *extprocv3.ProcessingRequest_RequestBody:
		if auth, ok := authFromAttributes(r); ok && auth != "Bearer sk-good" {
			return unauthorized()
		}
		var b struct {
			Model string `json:"model"`
		}
		_ = json.Unmarshal(x.RequestBody.Body, &b)
		plan := []string{prefix + "dep_a"}
		if strings.Contains(b.Model, "failfirst") {
			plan = []string{prefix + "dep_f", prefix + "dep_b"}
		}
		if strings.Contains(b.Model, "transform") {
			plan = []string{prefix + "dep_f", prefix + "dep_b"}
		}
		if strings.Contains(b.Model, "nokey") {
			plan = []string{"dep_nokey", "dep_a"}
		}
		if strings.Contains(b.Model, "dead") {
			plan = []string{prefix + "dep_dead", prefix + "dep_f", prefix + "dep_a"}
		}
		groups := make([]*structpb.Value, 0, len(plan))
		for i, c := range plan {
			groups = append(groups, structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
				"name": structpb.NewStringValue(fmt.Sprintf("attempt%d", i)),
				"clusters": structpb.NewListValue(&structpb.ListValue{Values: []*structpb.Value{structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
					"cluster_name": structpb.NewStringValue(c), "weight": structpb.NewNumberValue(1)}})}}),
			}}))
		}
		dm := &structpb.Struct{Fields: map[string]*structpb.Value{
			"llmgate.plan": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
				"priority_groups": structpb.NewListValue(&structpb.ListValue{Values: groups}),
			}}),
			"llmgate.ctx": structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{
				"ctx": structpb.NewStringValue("model=" + b.Model),
			}}),
		}}
		return &extprocv3.ProcessingResponse{
			Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
				HeaderMutation: &extprocv3.HeaderMutation{
					SetHeaders: []*corev3.HeaderValueOption{
						set("x-llmgate-group", "gpt"),
						set("x-envoy-max-retries", fmt.Sprint(len(plan)-1)),
					},
					RemoveHeaders: []string{"authorization"},
				},
				ClearRouteCache: true,
			}}},
			DynamicMetadata: dm,
		}
	}
	return cont(r)
}

func attemptFilter(r *extprocv3.ProcessingRequest, md metadata.MD) *extprocv3.ProcessingResponse {
	dep := first(md["x-llmgate-deployment"])
	switch r.Request.(type) {
	case *extprocv3.ProcessingRequest_RequestHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
			HeaderMutation: &extprocv3.HeaderMutation{
				SetHeaders: []*corev3.HeaderValueOption{
					set(":path", "/v1/chat/completions"),
					set(":authority", "api."+dep+".local"),
					set("authorization", "Bearer sk-provider-"+dep),
				},
				RemoveHeaders: []string{"x-llmgate-group"},
			},
		}}}}
	case *extprocv3.ProcessingRequest_ResponseHeaders:
		return &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_ResponseHeaders{ResponseHeaders: &extprocv3.HeadersResponse{Response: &extprocv3.CommonResponse{
			HeaderMutation: &extprocv3.HeaderMutation{SetHeaders: []*corev3.HeaderValueOption{
				set("x-litellm-model-id", dep),
				set("x-litellm-model-api-base", "http://api."+dep+".local"),
			}},
		}}}}
	}
	return cont(r)
}

func main() {
	sock := flag.String("sock", "/work/spike10/run/extproc.sock", "unix socket")
	flag.Parse()
	os.Remove(*sock)
	l, err := net.Listen("unix", *sock)
	if err != nil {
		log.Fatal(err)
	}
	g := grpc.NewServer(grpc.MaxRecvMsgSize(64<<20), grpc.MaxSendMsgSize(64<<20), grpc.NumStreamWorkers(4))
	extprocv3.RegisterExternalProcessorServer(g, &server{})
	go func() {
		for range time.Tick(5 * time.Second) {
			if n := obsSeen.Load(); n > 0 {
				log.Printf("obs: bodies=%d with_usage=%d bytes=%d", n, obsUsg.Load(), obsByte.Load())
			}
		}
	}()
	log.Printf("extproc ready on %s", *sock)
	log.Fatal(g.Serve(l))
}
