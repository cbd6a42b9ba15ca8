package secrets

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager"
	"github.com/aws/aws-sdk-go-v2/service/secretsmanager/types"
	"github.com/aws/smithy-go"

	"github.com/llmgate/llmgate/internal/awscreds"
)

// awsReader reads secrets with GetSecretValue (AWS JSON 1.1, SigV4).
type awsReader struct {
	c *secretsmanager.Client
}

// newAWS builds the Secrets Manager client as LiteLLM's AWSSecretsManagerV2
// resolves it (awsClient), the endpoint from AWS_BEDROCK_RUNTIME_ENDPOINT
// with bedrock-runtime replaced by secretsmanager (LiteLLM's rule), else the
// SDK's (AWS_ENDPOINT_URL_SECRETS_MANAGER, AWS_ENDPOINT_URL, else AWS's
// regional endpoint).
func newAWS(st Settings, getenv func(string) (string, bool), hc *http.Client) (*awsReader, error) {
	c, err := awsClient(AWSSecretManager, st, getenv, hc)
	if err != nil {
		return nil, err
	}
	o := secretsmanager.Options{Region: c.region, HTTPClient: hc, Retryer: aws.NopRetryer{}, Credentials: c.creds}
	if ep := c.env("AWS_BEDROCK_RUNTIME_ENDPOINT"); ep != "" {
		o.BaseEndpoint = aws.String(strings.Replace(ep, "bedrock-runtime", "secretsmanager", 1))
	} else if ep := firstNonEmpty(c.env("AWS_ENDPOINT_URL_SECRETS_MANAGER"), c.env("AWS_ENDPOINT_URL")); ep != "" {
		o.BaseEndpoint = aws.String(ep)
	}
	return &awsReader{c: secretsmanager.New(o)}, nil
}

// awsClientConfig is what an AWS client of a secret manager is made from.
type awsClientConfig struct {
	region string
	creds  aws.CredentialsProvider
	env    func(string) string
}

// awsClient resolves an AWS client's region and credentials: the region
// from aws_region_name, else AWS_REGION_NAME, AWS_REGION,
// AWS_DEFAULT_REGION; credentials from the aws_* settings (role, web
// identity, profile), else AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY,
// else the SDK's default chain. system names the manager in errors.
func awsClient(system string, st Settings, getenv func(string) (string, bool), hc *http.Client) (awsClientConfig, error) {
	env := func(k string) string { v, _ := getenv(k); return strings.TrimSpace(v) }
	a := st.AWS
	if a.Region == "" {
		for _, k := range []string{"AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION"} {
			if a.Region = env(k); a.Region != "" {
				break
			}
		}
	}
	if a.Region == "" {
		return awsClientConfig{}, fmt.Errorf("%s needs a region: key_management_settings.aws_region_name, or AWS_REGION_NAME / AWS_REGION / AWS_DEFAULT_REGION", system)
	}
	if a.AccessKeyID == "" {
		a.AccessKeyID, a.SecretAccessKey, a.SessionToken = env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), env("AWS_SESSION_TOKEN")
	}
	c := awsClientConfig{region: a.Region, env: env}
	switch {
	case a.Federated() || (a.AccessKeyID != "" && a.SecretAccessKey != ""):
		c.creds = awscreds.Provider(a, hc)
	default:
		cfg, err := awsconfig.LoadDefaultConfig(context.Background(), awsconfig.WithRegion(a.Region))
		if err != nil {
			return awsClientConfig{}, fmt.Errorf("%s: AWS credentials: %w", system, err)
		}
		c.creds = cfg.Credentials
	}
	return c, nil
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}

func (a *awsReader) read(ctx context.Context, name string) (string, bool, error) {
	out, err := a.c.GetSecretValue(ctx, &secretsmanager.GetSecretValueInput{SecretId: aws.String(name)})
	if err != nil {
		var nf *types.ResourceNotFoundException
		if errors.As(err, &nf) {
			return "", false, nil
		}
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return "", false, fmt.Errorf("aws_secret_manager GetSecretValue %q: %s: %s", name, ae.ErrorCode(), ae.ErrorMessage())
		}
		return "", false, fmt.Errorf("aws_secret_manager GetSecretValue %q: %w", name, err)
	}
	if out.SecretString == nil {
		return "", false, fmt.Errorf("aws_secret_manager GetSecretValue %q: the secret has no SecretString (a binary secret is not read)", name)
	}
	if len(*out.SecretString) > maxValue {
		return "", false, fmt.Errorf("aws_secret_manager GetSecretValue %q: the secret is over %d bytes", name, maxValue)
	}
	return *out.SecretString, true, nil
}
