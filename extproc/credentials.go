package extproc

import (
	"strings"
	"time"

	"github.com/llmgate/llmgate/internal/backendauth"
	"github.com/llmgate/llmgate/internal/provider"
	"github.com/llmgate/llmgate/translator"
)

// injector is the credential kind of a deployment's provider
// (internal/provider declares it).
func injector(d *configDeployment) backendauth.Injector {
	key := backendauth.Secret(d.Params.APIKey)
	p, _ := provider.Lookup(d.Provider)
	switch p.Auth {
	case provider.AuthAzureKey:
		if d.Provider == "azure" {
			return azureInjector(d)
		}
		return backendauth.AzureAPIKey(key)
	case provider.AuthAnthropic:
		return backendauth.AnthropicAPIKey(key)
	case provider.AuthGoogleKey:
		return backendauth.GoogleAPIKey(key)
	case provider.AuthSigV4:
		region := d.Params.AWSRegionName
		if region == "" {
			region = "us-east-1"
		}
		if st := awsSettings(d, region); st.Federated() {
			return federatedInjector(d, st)
		}
		return backendauth.SigV4{Region: region, Service: "bedrock", Credentials: backendauth.AWSCredentials{
			AccessKeyID:     d.Params.AWSAccessKeyID,
			SecretAccessKey: backendauth.Secret(d.Params.AWSSecretAccessKey),
			SessionToken:    backendauth.Secret(d.Params.AWSSessionToken),
		}}
	case provider.AuthGoogleADC:
		return vertexInjector(d)
	}
	return backendauth.Bearer{Key: key, Organization: d.Params.Organization}
}

// credentials are the headers that authenticate this try with the provider.
// SigV4 signs the request exactly as it will be sent: host, path, query, the
// translator's headers and the body.
func (t *try) credentials(up *translator.UpstreamRequest) (map[string]string, *translator.Error) {
	path, query := up.Path, ""
	if i := strings.IndexByte(path, '?'); i >= 0 {
		path, query = path[:i], path[i+1:]
	}
	var signed map[string]string // only SigV4 reads the headers (D116: a map per try)
	if p, _ := provider.Lookup(t.d.Provider); p.Auth == provider.AuthSigV4 {
		signed = make(map[string]string, len(up.Headers))
		for k, v := range up.Headers {
			signed[strings.ToLower(k)] = v
		}
	}
	method := up.Method
	if method == "" {
		method = "POST"
	}
	h, err := injector(t.d).Headers(backendauth.Request{
		Method: method, Host: t.base.Authority(), Path: path, Query: query,
		Headers: signed, Body: up.Body, Time: time.Now().UTC(),
	})
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "deployment "+t.d.ID+": "+err.Error(), "")
	}
	return h, nil
}
