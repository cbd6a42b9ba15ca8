package callbacks

import (
	"net/http"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/llmgate/llmgate/internal/awscreds"
)

// s3Credentials is the credentials provider of the s3 callback, in LiteLLM's
// order (internal/awscreds: web identity, role, profile, static keys). The
// SDK signs, caches and refreshes; nothing is signed here.
func s3Credentials(st *S3Settings, hc *http.Client) aws.CredentialsProvider {
	return awscreds.Provider(awscreds.Settings{
		AccessKeyID: st.AccessKeyID, SecretAccessKey: st.SecretAccessKey, SessionToken: st.SessionToken,
		Region: st.Region, RoleName: st.RoleName, SessionName: st.SessionName,
		WebIdentityToken: st.WebIdentityToken, STSEndpoint: st.STSEndpoint, ProfileName: st.ProfileName,
	}, hc)
}
