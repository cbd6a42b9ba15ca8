package extproc

import (
	"errors"
	"strconv"
	"sync"
	"time"

	extprocv3filter "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"google.golang.org/protobuf/types/known/durationpb"

	"github.com/llmgate/llmgate/translator"
)

// The request filter's pipelined exchange (docs/architecture.md D46).
//
// Envoy sends the request headers and then every body chunk as it arrives,
// without waiting for an answer (request_body_mode FULL_DUPLEX_STREAMED). The
// filter answers the headers at once only to refuse them (no key, a bad key,
// a management or unknown route, a declared body over the bound). Otherwise
// it reads every chunk up to the end of the body and then answers once: a
// HeadersResponse (the group header, content-length, clear_route_cache, the
// plan and context metadata) and the body, whole, in one BodyResponse — or
// one ImmediateResponse instead of all of it. Envoy waits on the filter once
// per request, where headers then a buffered body made it wait twice.
//
// An Envoy configured with request_body_mode STREAMED and
// send_body_without_waiting_for_header_response (the stream's
// protocol_config says which) gets one BodyResponse per chunk instead.

// stallExtension is the message timeout asked for when a client pauses in
// the middle of its body: each chunk Envoy sends restarts its message timer
// (ext_proc message_timeout, 5 s), which in the buffered mode never ran
// while a client uploaded. Envoy's max_message_timeout bounds it.
const stallExtension = 55 * time.Second

// stallAfter is how long the filter waits for the next chunk before it asks
// for stallExtension (well under the 5 s message timeout).
const stallAfter = 2 * time.Second

// pipelined is a request body read from the stream: its bytes and the number
// of body messages Envoy sent, each of which gets one answer.
type pipelined struct {
	body   []byte
	chunks int
	// last and lastAt: the index of the last chunk that carried bytes and
	// where its bytes start in body.
	last, lastAt int
	// duplex: Envoy runs the filter in FULL_DUPLEX_STREAMED mode (its
	// protocol_config says so): the filter owns the body and sends it back
	// whole in one answer, however many chunks came.
	duplex bool
	// trailers: the body ended with trailers (a duplex filter is sent them).
	trailers bool
}

// duplexMode reports whether the first message of a stream says Envoy runs
// the filter in FULL_DUPLEX_STREAMED mode.
func duplexMode(first *extprocv3.ProcessingRequest) bool {
	return first.GetProtocolConfig().GetRequestBodyMode() == extprocv3filter.ProcessingMode_FULL_DUPLEX_STREAMED
}

// errUnexpectedMessage: Envoy sent something other than a request body chunk
// while the filter read the body; the stream fails and Envoy answers 503
// (status_on_error, OpenAI JSON through local_reply_config).
var errUnexpectedMessage = errors.New("request filter: expected a request body chunk")

// tooLarge is the answer to a body over the bound (LiteLLM's
// max_request_size_mb answer: 413 with this message).
func tooLarge(limit int) *extprocv3.ProcessingResponse {
	mb := strconv.FormatFloat(float64(limit)/(1<<20), 'f', -1, 64)
	return errorReply(&translator.Error{Status: 413, Type: "invalid_request_error", Code: "413", Param: "content-length",
		Message: "Request size is too large. Max size is " + mb + " MB"}, nil)
}

// declaredTooLarge answers at once, before a byte of the body is read, when
// the request's content-length is over the bound.
func declaredTooLarge(h map[string]string, limit int) *extprocv3.ProcessingResponse {
	if cl := h["content-length"]; cl != "" {
		if n, err := strconv.ParseInt(cl, 10, 64); err == nil && n > int64(limit) {
			return tooLarge(limit)
		}
	}
	return nil
}

// readBody reads the body chunks Envoy streams, up to end_of_stream. A body
// that grows over limit is answered 413 at once (reply), so no more than
// limit plus one chunk is ever held here. While it waits, a client that
// pauses for stallAfter gets its message timeout extended once per pause.
func readBody(stream extprocv3.ExternalProcessor_ProcessServer, limit int, duplex bool) (p *pipelined, reply *extprocv3.ProcessingResponse, err error) {
	p = &pipelined{duplex: duplex}
	g := newStallGuard(stream)
	defer g.stop()
	for {
		g.arm()
		msg, err := recv(stream)
		g.disarm()
		if err != nil {
			return nil, nil, err
		}
		rb := msg.GetRequestBody()
		if rb == nil {
			if msg.GetRequestTrailers() != nil {
				p.trailers = true
				return p, nil, nil
			}
			return nil, nil, errUnexpectedMessage
		}
		p.chunks++
		if len(p.body)+len(rb.GetBody()) > limit {
			return nil, tooLarge(limit), nil
		}
		if b := rb.GetBody(); len(b) > 0 {
			p.last, p.lastAt = p.chunks-1, len(p.body)
			if p.body == nil {
				p.body = b // the message is not used again: no copy
			} else {
				p.body = append(p.body, b...)
			}
		}
		if rb.GetEndOfStream() {
			return p, nil, nil
		}
	}
}

// managementBodyUnless is managementBody, or no body when the headers ended
// the request (endOfStream).
func managementBodyUnless(stream extprocv3.ExternalProcessor_ProcessServer, endOfStream bool) ([]byte, bool, error) {
	if endOfStream {
		return nil, true, nil
	}
	return managementBody(stream)
}

// managementBody reads the body of a request the request filter answers
// itself (a management route): every chunk up to end_of_stream. ok is false
// when the stream has been answered or failed: a body over
// maxManagementBody is answered 413 without reading the rest.
func managementBody(stream extprocv3.ExternalProcessor_ProcessServer) (body []byte, ok bool, err error) {
	p, reply, err := readBody(stream, maxManagementBody, false)
	if err != nil {
		return nil, false, err
	}
	if reply != nil {
		return nil, false, stream.Send(reply)
	}
	return p.body, true, nil
}

// answer sends the pipelined answer to resp, a body response built for the
// whole body (routeRequest): its header mutation, route cache clearing and
// dynamic metadata go on one HeadersResponse, then each chunk gets a
// BodyResponse. An ImmediateResponse is sent as it is.
//
// Envoy passes the end of the body on only with bytes: an answer without
// bytes to the last chunk — HTTP/1.1 ends every body with an empty one —
// would leave the request open upstream. So the last chunk's answer always
// carries bytes: a new body (D12) goes there whole and every earlier chunk
// is cleared; an unchanged body whose last chunk is empty has its last chunk
// with bytes moved there. A new body's content-length is in the header
// mutation (allow_content_length_header keeps it; an unchanged body keeps
// the client's), so the provider gets a sized body, not a chunked one.
func (p *pipelined) answer(stream extprocv3.ExternalProcessor_ProcessServer, resp *extprocv3.ProcessingResponse) error {
	rb := resp.GetRequestBody()
	if rb == nil {
		return stream.Send(resp)
	}
	cr := rb.GetResponse()
	var tail *extprocv3.BodyMutation
	if cr != nil {
		tail, cr.BodyMutation = cr.BodyMutation, nil
	}
	if p.duplex {
		body := p.body
		if tail != nil {
			body = tail.GetBody()
		}
		cr = withLength(cr, len(body))
	}
	if err := stream.Send(&extprocv3.ProcessingResponse{
		Response:        &extprocv3.ProcessingResponse_RequestHeaders{RequestHeaders: &extprocv3.HeadersResponse{Response: cr}},
		DynamicMetadata: resp.DynamicMetadata,
	}); err != nil {
		return err
	}
	if p.duplex {
		return p.answerDuplex(stream, tail)
	}
	// Chunks before from are kept, from up to the last are cleared, the last
	// is replaced by tail.
	from := 0
	switch {
	case tail != nil:
	case p.last < p.chunks-1 && len(p.body) > 0:
		from = p.last
		tail = &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_Body{Body: p.body[p.lastAt:]}}
	default:
		from = p.chunks
	}
	keep := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{}}}
	clear := &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
		BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_ClearBody{ClearBody: true}},
	}}}}
	for i := 0; i < p.chunks; i++ {
		r := keep
		switch {
		case i < from:
		case i < p.chunks-1:
			r = clear
		default:
			r = &extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{BodyMutation: tail}}}}
		}
		if err := stream.Send(r); err != nil {
			return err
		}
	}
	return nil
}

// trailersRefused answers a request whose body ended with trailers (HTTP/2;
// Envoy drops HTTP/1.1 request trailers itself): forwarded, they left
// Envoy's HTTP/1.1 connection to the provider unusable for the next request
// on it. No OpenAI client sends request trailers.
func trailersRefused() *extprocv3.ProcessingResponse {
	return errorReply(translator.NewError(400, "invalid_request_error", "request trailers are not supported", ""), nil)
}

// withLength makes the request carry content-length n (and no
// transfer-encoding): the provider gets a sized body however the client sent
// it (chunked, h2c without a length).
func withLength(cr *extprocv3.CommonResponse, n int) *extprocv3.CommonResponse {
	if cr == nil {
		cr = &extprocv3.CommonResponse{}
	}
	if cr.HeaderMutation == nil {
		cr.HeaderMutation = &extprocv3.HeaderMutation{}
	}
	m := cr.HeaderMutation
	for _, h := range m.SetHeaders {
		if h.GetHeader().GetKey() == "content-length" {
			h.Header.RawValue = []byte(strconv.Itoa(n))
			m.RemoveHeaders = append(m.RemoveHeaders, "transfer-encoding")
			return cr
		}
	}
	m.SetHeaders = append(m.SetHeaders, hdr("content-length", strconv.Itoa(n)))
	m.RemoveHeaders = append(m.RemoveHeaders, "transfer-encoding")
	return cr
}

// answerDuplex sends the body back whole in one answer (FULL_DUPLEX_STREAMED):
// the new body when there is one, else the body as received; then the
// trailers' answer when the body ended with trailers.
func (p *pipelined) answerDuplex(stream extprocv3.ExternalProcessor_ProcessServer, tail *extprocv3.BodyMutation) error {
	body := p.body
	if tail != nil {
		body = tail.GetBody()
	}
	if err := stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestBody{RequestBody: &extprocv3.BodyResponse{Response: &extprocv3.CommonResponse{
		BodyMutation: &extprocv3.BodyMutation{Mutation: &extprocv3.BodyMutation_StreamedResponse{StreamedResponse: &extprocv3.StreamedBodyResponse{Body: body, EndOfStream: !p.trailers}}},
	}}}}); err != nil {
		return err
	}
	if p.trailers {
		return stream.Send(&extprocv3.ProcessingResponse{Response: &extprocv3.ProcessingResponse_RequestTrailers{RequestTrailers: &extprocv3.TrailersResponse{}}})
	}
	return nil
}

// stallGuard asks Envoy for a longer message timeout when the next body
// chunk is slow to come (see stallExtension). It sends only while the
// filter is blocked in Recv, so the stream never has two senders at once.
type stallGuard struct {
	stream  extprocv3.ExternalProcessor_ProcessServer
	mu      sync.Mutex
	waiting bool
	t       *time.Timer
}

func newStallGuard(stream extprocv3.ExternalProcessor_ProcessServer) *stallGuard {
	g := &stallGuard{stream: stream}
	g.t = time.AfterFunc(time.Hour, g.fire)
	g.t.Stop()
	return g
}

func (g *stallGuard) arm() {
	g.mu.Lock()
	g.waiting = true
	g.mu.Unlock()
	g.t.Reset(stallAfter)
}

func (g *stallGuard) disarm() {
	g.mu.Lock()
	g.waiting = false
	g.mu.Unlock()
	g.t.Stop()
}

func (g *stallGuard) stop() { g.disarm() }

func (g *stallGuard) fire() {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.waiting {
		return
	}
	// Honoured once per chunk Envoy sends; an error here shows in Recv.
	_ = g.stream.Send(&extprocv3.ProcessingResponse{OverrideMessageTimeout: durationpb.New(stallExtension)})
}
