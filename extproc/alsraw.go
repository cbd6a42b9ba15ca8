package extproc

import (
	"context"
	"fmt"
	"strings"

	"google.golang.org/grpc/encoding"
	"google.golang.org/grpc/mem"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/types/known/emptypb"
)

// The module's outcome stream carries its messages as their bytes
// (docs/architecture.md D88). Both ends only ever read and write the wire
// form (alswire.go, AppendOutcomes), but gRPC's proto codec made each message
// an emptypb.Empty whose unknown fields held it: the gateway's receive parsed
// every record's field into those unknown fields, growing them one append at
// a time (≈ 14 % of the gateway's CPU at concurrency 1, a third of its
// allocations), and the module marshalled them back. The raw codec hands gRPC
// the bytes and takes them back as they came, one copy each way.
//
// The bytes are the same in both codecs: a module or gateway of an earlier
// release (proto) talks to this one (the gateway answers in the codec the
// stream was opened with; an earlier gateway falls back to proto for a
// subtype it does not know).

// rawCodecName is the content subtype of the module's outcome stream.
const rawCodecName = "llmgate-raw"

// rawFrame is one message of the stream: its bytes.
type rawFrame struct{ b []byte }

type rawCodec struct{}

func init() { encoding.RegisterCodecV2(rawCodec{}) }

func (rawCodec) Name() string { return rawCodecName }

// Marshal copies the bytes into a pooled buffer: gRPC may write it after
// SendMsg returned, and the senders reuse their slices.
func (rawCodec) Marshal(v any) (mem.BufferSlice, error) {
	f, ok := v.(*rawFrame)
	if !ok {
		return nil, fmt.Errorf("llmgate-raw codec: cannot marshal %T", v)
	}
	if len(f.b) == 0 {
		return nil, nil
	}
	pool := mem.DefaultBufferPool()
	buf := pool.Get(len(f.b))
	copy(*buf, f.b)
	return mem.BufferSlice{mem.NewBuffer(buf, pool)}, nil
}

func (rawCodec) Unmarshal(data mem.BufferSlice, v any) error {
	f, ok := v.(*rawFrame)
	if !ok {
		return fmt.Errorf("llmgate-raw codec: cannot unmarshal into %T", v)
	}
	f.b = data.Materialize()
	return nil
}

// rawStream reports whether a served stream was opened with the raw codec.
func rawStream(ctx context.Context) bool {
	for _, ct := range metadata.ValueFromIncomingContext(ctx, "content-type") {
		if strings.HasSuffix(ct, "+"+rawCodecName) {
			return true
		}
	}
	return false
}

// msgStream is a gRPC stream of either side.
type msgStream interface {
	SendMsg(m any) error
	RecvMsg(m any) error
}

// recvBytes receives one message's bytes in the stream's codec.
func recvBytes(st msgStream, raw bool) ([]byte, error) {
	if raw {
		var f rawFrame
		err := st.RecvMsg(&f)
		return f.b, err
	}
	var m emptypb.Empty
	err := st.RecvMsg(&m)
	return m.ProtoReflect().GetUnknown(), err
}

// sendBytes sends b as one message in the stream's codec.
func sendBytes(st msgStream, raw bool, b []byte) error {
	if raw {
		return st.SendMsg(&rawFrame{b: b})
	}
	var m emptypb.Empty
	m.ProtoReflect().SetUnknown(b)
	return st.SendMsg(&m)
}
