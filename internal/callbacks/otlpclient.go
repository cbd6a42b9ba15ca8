package callbacks

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/url"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
)

// otlpClient posts OTLP export requests (D58: the spans and the log records
// are built as OTLP protobuf messages, not through the SDK's span
// pipeline): OTLP/HTTP protobuf to a URL, or an OTLP/gRPC connection. The
// sender batches and retries; the client itself does not.
type otlpClient struct {
	url     string // HTTP: the signal's URL
	headers map[string]string
	client  *http.Client
	conn    *grpc.ClientConn // gRPC
}

func newOTLPClient(protocol, endpoint string, headers map[string]string, client *http.Client) (*otlpClient, error) {
	c := &otlpClient{url: endpoint, headers: headers, client: client}
	if protocol != "grpc" {
		return c, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, err
	}
	host, creds := u.Host, insecure.NewCredentials()
	if host == "" { // "host:port" without a scheme
		host = endpoint
	}
	if u.Scheme == "https" {
		creds = credentials.NewTLS(&tls.Config{MinVersion: tls.VersionTLS12})
	}
	if c.conn, err = grpc.NewClient(host, grpc.WithTransportCredentials(creds)); err != nil {
		return nil, err
	}
	return c, nil
}

// outgoing is ctx with the headers as gRPC metadata.
func (c *otlpClient) outgoing(ctx context.Context) context.Context {
	if len(c.headers) == 0 {
		return ctx
	}
	md := metadata.MD{}
	for k, v := range c.headers {
		md.Set(k, v)
	}
	return metadata.NewOutgoingContext(ctx, md)
}

// post sends msg over OTLP/HTTP protobuf.
func (c *otlpClient) post(ctx context.Context, msg proto.Message) error {
	body, err := proto.Marshal(msg)
	if err != nil {
		return err
	}
	return c.postBytes(ctx, body)
}

// postBytes sends an encoded message over OTLP/HTTP protobuf.
func (c *otlpClient) postBytes(ctx context.Context, body []byte) error {
	return post(ctx, c.client, c.url, "application/x-protobuf", body, c.headers)
}

func (c *otlpClient) close() {
	if c.conn != nil {
		_ = c.conn.Close()
	}
}
