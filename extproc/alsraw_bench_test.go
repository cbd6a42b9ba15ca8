package extproc

import (
	"context"
	"net"
	"path/filepath"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
)

// BenchmarkOutboxSend sends outbox-sized messages (200 records of 480
// bytes: 20 ms of a keyed load at 10,000 requests a second) on a raw
// stream to a server that drops them, as the shipper did before D154
// ("copied": its reused slice copied into gRPC's default pool, the 1 MB
// tier cleared on each Get) and does now ("owned": the buffer handed over).
func BenchmarkOutboxSend(b *testing.B) {
	sock := filepath.Join(b.TempDir(), "s.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		b.Fatal(err)
	}
	srv := grpc.NewServer(grpc.UnknownServiceHandler(func(_ any, st grpc.ServerStream) error {
		for {
			var f rawFrame
			if err := st.RecvMsg(&f); err != nil {
				return nil
			}
		}
	}))
	go func() { _ = srv.Serve(l) }()
	defer srv.Stop()
	conn, err := grpc.NewClient("unix://"+sock, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	msg := make([]byte, 200*480)
	for i := range msg {
		msg[i] = byte(i)
	}
	for _, mode := range []string{"copied", "owned"} {
		b.Run(mode, func(b *testing.B) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			st, err := conn.NewStream(ctx, &ModuleOutcomesStream, ModuleOutcomesMethod, grpc.CallContentSubtype(rawCodecName))
			if err != nil {
				b.Fatal(err)
			}
			var wire []byte
			b.SetBytes(int64(len(msg)))
			b.ReportAllocs()
			for b.Loop() {
				if mode == "copied" {
					wire = append(wire[:0], msg...)
					err = sendBytes(st, true, wire)
				} else {
					wb := outboxWire.Get(len(msg))
					*wb = append((*wb)[:0], msg...)
					err = sendOwned(st, wb, &outboxWire)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
