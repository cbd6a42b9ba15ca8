package awscreds

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
)

// Settings are the AWS authentication parameters, resolved (os.environ/
// references and AWS_* fallbacks already applied by the config).
type Settings struct {
	AccessKeyID, SecretAccessKey, SessionToken string // static keys (secret)
	Region                                     string
	RoleName                                   string // a role ARN: STS AssumeRole
	SessionName                                string // the role session's name
	WebIdentityToken                           string // the OIDC token's value (secret)
	STSEndpoint                                string // "" is AWS's
	ProfileName                                string // a profile of the shared config files
	ExternalID                                 string // AssumeRole's ExternalId
}

// Federated reports whether the settings need more than the static keys: a
// role, a web identity or a profile.
func (s Settings) Federated() bool {
	return s.RoleName != "" || s.ProfileName != "" || s.WebIdentityToken != ""
}

// Provider is the settings' credentials provider, cached: a web identity
// token with a role and a session name → STS AssumeRoleWithWebIdentity; a
// role → STS AssumeRole (its source: the static keys, else the profile, else
// the SDK's default chain; session name LiteLLM's litellm-session-<unix
// time> when none); a profile → the shared config files' profile; else the
// static keys. hc carries the STS calls (nil: the SDK's client).
func Provider(st Settings, hc *http.Client) *aws.CredentialsCache {
	static := func() aws.CredentialsProvider {
		return credentials.NewStaticCredentialsProvider(st.AccessKeyID, st.SecretAccessKey, st.SessionToken)
	}
	profile := func() aws.CredentialsProvider {
		opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(st.Region)}
		if st.ProfileName != "" {
			opts = append(opts, awsconfig.WithSharedConfigProfile(st.ProfileName))
		}
		cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
		if err != nil {
			return failed{err}
		}
		return cfg.Credentials
	}
	stsClient := func(src aws.CredentialsProvider) *sts.Client {
		o := sts.Options{Region: stsRegion(st.STSEndpoint, st.Region), Credentials: src, Retryer: aws.NopRetryer{}}
		if hc != nil {
			o.HTTPClient = hc
		}
		if st.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(st.STSEndpoint)
		}
		return sts.New(o)
	}
	early := func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = ExpiryWindow }
	switch {
	case st.WebIdentityToken != "" && st.RoleName != "" && st.SessionName != "":
		p := stscreds.NewWebIdentityRoleProvider(stsClient(nil), st.RoleName, tokenValue(st.WebIdentityToken),
			func(o *stscreds.WebIdentityRoleOptions) {
				o.RoleSessionName = st.SessionName
				o.Duration = time.Hour // LiteLLM's DurationSeconds
			})
		return aws.NewCredentialsCache(p, early)
	case st.RoleName != "":
		var src aws.CredentialsProvider
		switch {
		case st.AccessKeyID != "" && st.SecretAccessKey != "":
			src = static()
		default:
			src = profile()
		}
		session := st.SessionName
		if session == "" {
			session = "litellm-session-" + strconv.FormatInt(time.Now().Unix(), 10)
		}
		p := stscreds.NewAssumeRoleProvider(stsClient(src), st.RoleName, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = session
			if st.ExternalID != "" {
				o.ExternalID = aws.String(st.ExternalID)
			}
		})
		return aws.NewCredentialsCache(p, early)
	case st.ProfileName != "":
		return aws.NewCredentialsCache(profile(), early)
	}
	return aws.NewCredentialsCache(static())
}

// ExpiryWindow is how long before temporary credentials expire the cache
// takes them as expired, so that a caller retrieving them every minute off
// the request path renews them before requests need them.
const ExpiryWindow = 5 * time.Minute

// tokenValue is a web identity token given as its value (LiteLLM reads
// aws_web_identity_token as the token, an os.environ/ reference resolved by
// the config).
type tokenValue string

func (t tokenValue) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

// failed reports why no credentials could be loaded (a missing profile).
type failed struct{ err error }

func (f failed) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, f.err
}

var stsHostRegion = regexp.MustCompile(`(?:^|\.)sts(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|vpce\.amazonaws\.com)$`)

// stsRegion is the region STS requests are signed for: the one in a
// regional STS endpoint's host name, else the settings' region.
func stsRegion(endpoint, region string) string {
	if u, err := url.Parse(endpoint); err == nil && endpoint != "" {
		if m := stsHostRegion.FindStringSubmatch(u.Hostname()); m != nil {
			return m[1]
		}
	}
	return region
}

// Chain is the AWS SDK's default credential chain (config.LoadDefaultConfig:
// the environment's keys, the shared files' profile — profile, else
// AWS_PROFILE's, else "default" — web identity, SSO, the container's and
// the instance's role), as boto3's session finds credentials for LiteLLM.
// Its cache takes credentials as expired ExpiryWindow early, so a caller
// retrieving them every minute renews them before a request needs them.
func Chain(region, profile string) aws.CredentialsProvider {
	opts := []func(*awsconfig.LoadOptions) error{awsconfig.WithRegion(region),
		awsconfig.WithCredentialsCacheOptions(func(o *aws.CredentialsCacheOptions) { o.ExpiryWindow = ExpiryWindow })}
	if profile != "" {
		opts = append(opts, awsconfig.WithSharedConfigProfile(profile))
	}
	cfg, err := awsconfig.LoadDefaultConfig(context.Background(), opts...)
	if err != nil {
		return failed{err}
	}
	if cfg.Credentials == nil {
		return failed{errors.New("no credentials in the default chain")}
	}
	return cfg.Credentials
}
