package extproc

import (
	"context"
	"sync"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/backendauth"
)

// entraAuth caches one Entra ID token source per Azure deployment (by id and
// settings), kept warm off the request path (keepWarm).
var entraAuth sync.Map // key string → *backendauth.Entra

// azureInjector is the credential of an Azure deployment, in LiteLLM's
// order (config.LiteLLMParams.AzureAuthKind): a static azure_ad_token as a
// bearer token, the api key, or an Entra ID token.
func azureInjector(d *configDeployment) backendauth.Injector {
	p := &d.Params
	switch p.AzureAuthKind() {
	case config.AzureStaticToken:
		return backendauth.Bearer{Key: backendauth.Secret(p.AzureADToken)}
	case config.AzureClientSecret, config.AzureUserPassword:
	default:
		return backendauth.AzureAPIKey(backendauth.Secret(p.APIKey))
	}
	s := backendauth.EntraSettings{AuthorityHost: p.AzureAuthorityHost, TenantID: p.TenantID, ClientID: p.ClientID, Scope: p.AzureScope}
	if p.AzureAuthKind() == config.AzureClientSecret {
		s.ClientSecret = backendauth.Secret(p.ClientSecret)
	} else {
		s.Username, s.Password = p.AzureUsername, backendauth.Secret(p.AzurePassword)
	}
	key := d.ID + "\x00" + s.AuthorityHost + "\x00" + s.TenantID + "\x00" + s.ClientID + "\x00" + string(s.ClientSecret) + "\x00" +
		s.Username + "\x00" + string(s.Password) + "\x00" + s.Scope
	if e, ok := entraAuth.Load(key); ok {
		return e.(*backendauth.Entra)
	}
	e, loaded := entraAuth.LoadOrStore(key, backendauth.NewEntra(context.Background(), s))
	entra := e.(*backendauth.Entra)
	if !loaded {
		keepWarm(func() { _ = entra.Refresh() })
	}
	return entra
}
