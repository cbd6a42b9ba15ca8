package extproc

import (
	"context"
	"fmt"
	"strings"
	"sync"

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

// rawFrame is one message of the stream: its bytes. A frame with owned
// set hands gRPC the buffer itself (sendOwned): gRPC gives it back to pool
// once written, and the sender no longer touches it.
type rawFrame struct {
	b     []byte
	owned *[]byte
	pool  mem.BufferPool
}

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
	if f.owned != nil {
		if len(*f.owned) == 0 {
			return nil, nil
		}
		return mem.BufferSlice{mem.NewBuffer(f.owned, f.pool)}, nil
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

// sendOwned sends *b as one message on a raw stream without copying it:
// the buffer is gRPC's from then on, given back to pool once written
// (docs/architecture.md D154: the outbox's messages of ≈ 100 KB were
// copied into gRPC's default pool, whose 1 MB tier clears the whole
// buffer on every Get).
func sendOwned(st msgStream, b *[]byte, pool mem.BufferPool) error {
	return st.SendMsg(&rawFrame{owned: b, pool: pool})
}

// wirePool is a buffer pool that hands its buffers back as they were
// (gRPC's default one clears each on Get): for messages the sender writes
// whole before it sends them (sendOwned).
type wirePool struct{ p sync.Pool }

// wirePoolMaxCap bounds the buffers kept (a burst's larger one is let go).
const wirePoolMaxCap = 4 << 20

// Get returns a buffer of length size (its bytes are whatever it held).
func (w *wirePool) Get(size int) *[]byte {
	if b, ok := w.p.Get().(*[]byte); ok {
		if cap(*b) >= size {
			*b = (*b)[:size]
			return b
		}
		w.p.Put(b)
	}
	b := make([]byte, size)
	return &b
}

// Put keeps a buffer for a later Get.
func (w *wirePool) Put(b *[]byte) {
	if cap(*b) <= wirePoolMaxCap {
		w.p.Put(b)
	}
}
