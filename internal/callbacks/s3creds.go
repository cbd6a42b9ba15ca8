package callbacks

import (
	"context"
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

// s3Credentials is the credentials provider of the s3 callback, in LiteLLM's
// order (BaseAWSLLM.get_credentials): a web identity token with a role and
// a session name → STS AssumeRoleWithWebIdentity; a role → STS AssumeRole
// (its source: the static keys, else the profile, else the SDK's default
// chain; session name LiteLLM's litellm-session-<unix time> when none); a
// profile → the shared config files' profile; else the static keys. The
// SDK signs, caches and refreshes (stscreds); nothing is signed here.
func s3Credentials(st *S3Settings, hc *http.Client) aws.CredentialsProvider {
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
			return failedCredentials{err}
		}
		return cfg.Credentials
	}
	stsClient := func(src aws.CredentialsProvider) *sts.Client {
		o := sts.Options{Region: stsRegion(st.STSEndpoint, st.Region), HTTPClient: hc, Credentials: src, Retryer: aws.NopRetryer{}}
		if st.STSEndpoint != "" {
			o.BaseEndpoint = aws.String(st.STSEndpoint)
		}
		return sts.New(o)
	}
	switch {
	case st.WebIdentityToken != "" && st.RoleName != "" && st.SessionName != "":
		p := stscreds.NewWebIdentityRoleProvider(stsClient(nil), st.RoleName, tokenValue(st.WebIdentityToken),
			func(o *stscreds.WebIdentityRoleOptions) {
				o.RoleSessionName = st.SessionName
				o.Duration = time.Hour // LiteLLM's DurationSeconds
			})
		return aws.NewCredentialsCache(p)
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
		})
		return aws.NewCredentialsCache(p)
	case st.ProfileName != "":
		return aws.NewCredentialsCache(profile())
	}
	return aws.NewCredentialsCache(static())
}

// tokenValue is a web identity token given as its value (LiteLLM reads
// s3_aws_web_identity_token as the token, an os.environ/ reference
// resolved by the config).
type tokenValue string

func (t tokenValue) GetIdentityToken() ([]byte, error) { return []byte(t), nil }

// failedCredentials reports why no credentials could be loaded (a missing
// profile): each put fails with it, counted as the callback's failures.
type failedCredentials struct{ err error }

func (f failedCredentials) Retrieve(context.Context) (aws.Credentials, error) {
	return aws.Credentials{}, f.err
}

var stsHostRegion = regexp.MustCompile(`(?:^|\.)sts(?:-fips)?\.([a-z0-9-]+)\.(?:amazonaws\.com(?:\.cn)?|vpce\.amazonaws\.com)$`)

// stsRegion is the region STS requests are signed for: the one in a
// regional STS endpoint's host name, else the callback's region.
func stsRegion(endpoint, region string) string {
	if u, err := url.Parse(endpoint); err == nil && endpoint != "" {
		if m := stsHostRegion.FindStringSubmatch(u.Hostname()); m != nil {
			return m[1]
		}
	}
	return region
}
