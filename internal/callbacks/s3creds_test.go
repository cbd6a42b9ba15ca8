package callbacks

import (
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/llmgate/llmgate/internal/awscreds/ststest"
)

// startFakeSTS is a fake STS whose temporary key ids name the action
// (ASIAROLE, ASIAWEBID).
func startFakeSTS(t *testing.T) *ststest.Server {
	return ststest.Start(t, func(action string) (ststest.Keys, bool) {
		id, ok := map[string]string{"AssumeRole": "ASIAROLE", "AssumeRoleWithWebIdentity": "ASIAWEBID"}[action]
		return ststest.Keys{ID: id, Secret: "temp-secret", Token: "temp-token-" + id}, ok
	})
}

// lastSTSCall is the fake STS's last call's form (nil: none).
func lastSTSCall(s *ststest.Server) url.Values {
	c := s.Calls("")
	if len(c) == 0 {
		return nil
	}
	return c[len(c)-1]
}

// The s3 callback's role and web identity credentials (D69), as LiteLLM's
// get_credentials: s3_aws_role_name (+ session name) assumes the role over
// STS with the static keys as the source; s3_aws_web_identity_token with a
// role and a session name takes AssumeRoleWithWebIdentity; each object is
// put signed with the temporary credentials STS answered (key id and
// session token), never with the static ones.
func TestS3CallbackRoleCredentials(t *testing.T) {
	for _, tc := range []struct {
		name             string
		set              func(*S3Settings)
		action, key, arg string
	}{
		{"assume role", func(st *S3Settings) { st.RoleName, st.SessionName = "arn:aws:iam::1:role/logs", "llm-sess" }, "AssumeRole", "ASIAROLE", ""},
		{"assume role, default session name", func(st *S3Settings) { st.RoleName = "arn:aws:iam::1:role/logs" }, "AssumeRole", "ASIAROLE", "litellm-session-"},
		{"web identity", func(st *S3Settings) {
			st.RoleName, st.SessionName, st.WebIdentityToken = "arn:aws:iam::1:role/logs", "llm-sess", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."
			st.AccessKeyID, st.SecretAccessKey = "", ""
		}, "AssumeRoleWithWebIdentity", "ASIAWEBID", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			f, st := s3Bucket(t)
			sts := startFakeSTS(t)
			st.BatchSize, st.STSEndpoint = 1, sts.URL
			tc.set(st)
			m := New(nil)
			m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, S3: st})
			m.Sink()(sampleTry("c1", 200))
			waitObjects(t, f, 1, m)
			m.Close()
			call := lastSTSCall(sts)
			if call.Get("Action") != tc.action || call.Get("RoleArn") != "arn:aws:iam::1:role/logs" {
				t.Fatalf("STS call %v, want %s of the role", call, tc.action)
			}
			session := call.Get("RoleSessionName")
			if tc.arg != "" && !strings.HasPrefix(session, tc.arg) || tc.arg == "" && session != "llm-sess" {
				t.Errorf("session name %q", session)
			}
			if tc.action == "AssumeRoleWithWebIdentity" && call.Get("WebIdentityToken") != st.WebIdentityToken {
				t.Errorf("web identity token %q", call.Get("WebIdentityToken"))
			}
			for _, a := range f.Auth() {
				if !strings.HasPrefix(a, "PUT AWS4-HMAC-SHA256 Credential="+tc.key+"/") {
					t.Errorf("put not signed with STS's temporary credentials: %q", a)
				}
			}
		})
	}
}

// s3_aws_profile_name takes the profile's keys from the shared AWS files.
func TestS3CallbackProfileCredentials(t *testing.T) {
	dir := t.TempDir()
	creds := dir + "/credentials"
	if err := os.WriteFile(creds, []byte("[default]\naws_access_key_id = AKIDDEFAULT\naws_secret_access_key = d\n[logs]\naws_access_key_id = AKIDPROFILE\naws_secret_access_key = p\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", creds)
	t.Setenv("AWS_CONFIG_FILE", dir+"/none")
	f, st := s3Bucket(t)
	st.BatchSize, st.ProfileName, st.AccessKeyID, st.SecretAccessKey = 1, "logs", "", ""
	m := New(nil)
	m.Configure(Settings{BatchSize: 100, FlushInterval: time.Hour, S3: st})
	m.Sink()(sampleTry("c1", 200))
	waitObjects(t, f, 1, m)
	m.Close()
	for _, a := range f.Auth() {
		if !strings.HasPrefix(a, "PUT AWS4-HMAC-SHA256 Credential=AKIDPROFILE/") {
			t.Errorf("put not signed with the profile's keys: %q", a)
		}
	}
}
