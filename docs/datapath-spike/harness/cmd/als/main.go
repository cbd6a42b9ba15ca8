// Tiny gRPC access-log service: dumps the first N entries as JSON, counts the rest.
package main

import (
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"time"

	alsv3 "github.com/envoyproxy/go-control-plane/envoy/service/accesslog/v3"
	"google.golang.org/grpc"
	"google.golang.org/protobuf/encoding/protojson"
)

var (
	dumpN   = flag.Int("dump", 6, "dump the first N entries")
	mu      sync.Mutex
	dumped  int
	entries atomic.Int64
	msgs    atomic.Int64
)

type srv struct {
	alsv3.UnimplementedAccessLogServiceServer
}

func (srv) StreamAccessLogs(s alsv3.AccessLogService_StreamAccessLogsServer) error {
	for {
		m, err := s.Recv()
		if err == io.EOF {
			return s.SendAndClose(&alsv3.StreamAccessLogsResponse{})
		}
		if err != nil {
			return err
		}
		msgs.Add(1)
		if id := m.GetIdentifier(); id != nil {
			mu.Lock()
			fmt.Fprintf(os.Stderr, "=== identifier log_name=%s node=%s\n", id.LogName, id.GetNode().GetId())
			mu.Unlock()
		}
		for _, e := range m.GetHttpLogs().GetLogEntry() {
			entries.Add(1)
			mu.Lock()
			if dumped < *dumpN {
				dumped++
				b, _ := protojson.MarshalOptions{Multiline: true}.Marshal(e)
				fmt.Fprintf(os.Stderr, "=== entry #%d\n%s\n", dumped, b)
			}
			mu.Unlock()
		}
	}
}

func main() {
	sock := flag.String("sock", "/work/spike10/run/als.sock", "unix socket")
	flag.Parse()
	os.Remove(*sock)
	l, err := net.Listen("unix", *sock)
	if err != nil {
		log.Fatal(err)
	}
	g := grpc.NewServer()
	alsv3.RegisterAccessLogServiceServer(g, srv{})
	go func() {
		var last int64
		for range time.Tick(2 * time.Second) {
			if n := entries.Load(); n != last {
				last = n
				log.Printf("als: entries=%d messages=%d", n, msgs.Load())
			}
		}
	}()
	log.Printf("als ready on %s", *sock)
	log.Fatal(g.Serve(l))
}
