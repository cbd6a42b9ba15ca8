package extproc

import (
	"context"
	"sync"

	"github.com/llmgate/llmgate/internal/backendauth"
)

// vertexAuth caches one token source per deployment (by id and credentials):
// the service-account token is fetched once and reused until it nears expiry,
// never per request.
var vertexAuth sync.Map // key string → *backendauth.Vertex

// vertexInjector authenticates Vertex AI with an OAuth access token from the
// deployment's vertex_credentials (JSON or a path), else GOOGLE_APPLICATION_CREDENTIALS.
func vertexInjector(d *configDeployment) backendauth.Injector {
	key := d.ID + "\x00" + d.Params.VertexCredentials
	if v, ok := vertexAuth.Load(key); ok {
		return v.(*backendauth.Vertex)
	}
	sa, err := backendauth.LoadVertexCredentials(d.Params.VertexCredentials)
	if err != nil {
		return failingInjector{err}
	}
	v, err := backendauth.NewVertex(context.Background(), sa)
	if err != nil {
		return failingInjector{err}
	}
	actual, _ := vertexAuth.LoadOrStore(key, v)
	return actual.(*backendauth.Vertex)
}

// failingInjector reports a credential problem on every request (the error
// never holds the secret).
type failingInjector struct{ err error }

func (f failingInjector) Headers(backendauth.Request) (map[string]string, error) { return nil, f.err }
