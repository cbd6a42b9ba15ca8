package config

// AWSAccess are the AWS credentials and region a call that is not a
// model's signs with (a Bedrock guardrail's ApplyGuardrail, a Bedrock
// knowledge base's search): the entry's aws_* keys, else the
// environment's (awsEnvDefaults).
type AWSAccess struct {
	AWSAccessKeyID, AWSSecretAccessKey, AWSSessionToken string // secrets; never log
	AWSRegion                                           string
}

// The environment variables LiteLLM's BaseAWSLLM reads for such a call.
const (
	envAWSAccessKeyID     = "AWS_ACCESS_KEY_ID"
	envAWSSecretAccessKey = "AWS_SECRET_ACCESS_KEY"
	envAWSSessionToken    = "AWS_SESSION_TOKEN"
	envAWSEndpoint        = "AWS_BEDROCK_RUNTIME_ENDPOINT"
	// defaultAWSRegion is get_aws_region_name_for_non_llm_api_calls'
	// region when neither the entry nor the environment names one.
	defaultAWSRegion = "us-west-2"
)

// awsRegionEnv are the region's variables, the winner last as
// get_aws_region_name_for_non_llm_api_calls reads them (AWS_REGION_NAME,
// then AWS_REGION over it; AWS_DEFAULT_REGION is not read for these
// calls).
var awsRegionEnv = []string{"AWS_REGION", "AWS_REGION_NAME"}

// awsEnvDefaults fills what the entry left empty, as LiteLLM does for a
// call that is not a model's: the keys and session token from
// AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN when the
// entry sets neither key; the region from AWS_REGION, else
// AWS_REGION_NAME, else us-west-2. The one place guardrails and vector
// stores read these variables.
func (p *parser) awsEnvDefaults(a *AWSAccess) {
	env := func(name string) string { v, _ := p.lookup(name); return v }
	if a.AWSAccessKeyID == "" && a.AWSSecretAccessKey == "" {
		a.AWSAccessKeyID, a.AWSSecretAccessKey, a.AWSSessionToken = env(envAWSAccessKeyID), env(envAWSSecretAccessKey), env(envAWSSessionToken)
	}
	for _, name := range awsRegionEnv {
		if a.AWSRegion == "" {
			a.AWSRegion = env(name)
		}
	}
	if a.AWSRegion == "" {
		a.AWSRegion = defaultAWSRegion
	}
}

// awsEndpoint is where such a call goes: the entry's endpoint, else
// AWS_BEDROCK_RUNTIME_ENDPOINT, else https://{service}.{region}.amazonaws.com.
func (p *parser) awsEndpoint(set, service, region string) string {
	if set != "" {
		return set
	}
	if v, _ := p.lookup(envAWSEndpoint); v != "" {
		return v
	}
	return "https://" + service + "." + region + ".amazonaws.com"
}
