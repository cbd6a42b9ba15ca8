package extproc

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/llmgate/llmgate/internal/awscreds"
	"github.com/llmgate/llmgate/internal/backendauth"
)

// awsAuth caches one credentials provider per Bedrock deployment whose keys
// come from STS or a profile (by id and settings): kept warm off the request
// path (keepWarm), so a request signs with cached keys.
var awsAuth sync.Map // key string → *aws.CredentialsCache

// awsSettings are a deployment's AWS authentication parameters.
func awsSettings(d *configDeployment, region string) awscreds.Settings {
	p := &d.Params
	return awscreds.Settings{
		AccessKeyID: p.AWSAccessKeyID, SecretAccessKey: p.AWSSecretAccessKey, SessionToken: p.AWSSessionToken,
		Region: region, RoleName: p.AWSRoleName, SessionName: p.AWSSessionName, WebIdentityToken: p.AWSWebIdentityToken,
		STSEndpoint: p.AWSSTSEndpoint, ProfileName: p.AWSProfileName, ExternalID: p.AWSExternalID,
	}
}

// federatedSigV4 signs with the temporary keys of a role, web identity or
// profile.
type federatedSigV4 struct {
	creds  *aws.CredentialsCache
	region string
}

// federatedInjector is the injector of a Bedrock deployment whose settings
// are federated (awscreds.Settings.Federated).
func federatedInjector(d *configDeployment, st awscreds.Settings) backendauth.Injector {
	key := d.ID + "\x00" + st.AccessKeyID + "\x00" + st.SecretAccessKey + "\x00" + st.SessionToken + "\x00" + st.Region + "\x00" +
		st.RoleName + "\x00" + st.SessionName + "\x00" + st.WebIdentityToken + "\x00" + st.STSEndpoint + "\x00" + st.ProfileName + "\x00" + st.ExternalID
	if c, ok := awsAuth.Load(key); ok {
		return federatedSigV4{c.(*aws.CredentialsCache), st.Region}
	}
	c, loaded := awsAuth.LoadOrStore(key, awscreds.Provider(st, nil))
	cache := c.(*aws.CredentialsCache)
	if !loaded {
		keepWarm(func() {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, _ = cache.Retrieve(ctx)
		})
	}
	return federatedSigV4{cache, st.Region}
}

// Headers signs with the cached keys; only the first request of a
// deployment (or one after STS failed for an hour) waits for STS, at most
// 10 s.
func (f federatedSigV4) Headers(r backendauth.Request) (map[string]string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c, err := f.creds.Retrieve(ctx)
	if err != nil {
		// The SDK's error names the operation and status, never a secret;
		// it is not wrapped so that no token text can reach a client.
		return nil, errors.New("aws credentials: no temporary credentials (STS or profile failed)")
	}
	return backendauth.SigV4{Region: f.region, Service: "bedrock", Credentials: backendauth.AWSCredentials{
		AccessKeyID: c.AccessKeyID, SecretAccessKey: backendauth.Secret(c.SecretAccessKey), SessionToken: backendauth.Secret(c.SessionToken),
	}}.Headers(r)
}

// keepWarm runs refresh now and then every minute for the life of the
// process, off the request path: cached temporary credentials and tokens
// are renewed inside their early-expiry windows (5 minutes) before a
// request needs them.
func keepWarm(refresh func()) {
	go func() {
		for {
			refresh()
			time.Sleep(time.Minute)
		}
	}()
}
