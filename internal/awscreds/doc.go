// Package awscreds turns LiteLLM's AWS authentication parameters (the
// aws_* of a Bedrock deployment's litellm_params, the s3_aws_* of the s3
// callback) into an AWS SDK credentials provider, in LiteLLM's order
// (BaseAWSLLM.get_credentials): web identity token with a role and a session
// name, role, profile, static keys. The SDK signs STS calls, caches and
// refreshes (stscreds, aws.CredentialsCache). Chain is the SDK's default
// credential chain (LoadDefaultConfig), boto3's when LiteLLM is given no
// keys: the direct /bedrock pass-through route signs with it (D181).
//
// It imports the AWS SDK only; never config, extproc or Envoy types.
package awscreds
