package extproc

import (
	"github.com/llmgate/llmgate/internal/backendauth"
)

// vertexInjector authenticates Vertex AI with an OAuth access token.
func vertexInjector(d *configDeployment) backendauth.Injector {
	return backendauth.Bearer{}
}
