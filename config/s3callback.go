package config

import (
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// S3 logging callback (LiteLLM's "s3" / "s3_v2"): one object per request
// in a bucket, configured by litellm_settings.s3_callback_params.
const (
	// EnvS3BatchSize and EnvS3FlushInterval are LiteLLM's
	// DEFAULT_S3_BATCH_SIZE and DEFAULT_S3_FLUSH_INTERVAL_SECONDS.
	EnvS3BatchSize     = "DEFAULT_S3_BATCH_SIZE"
	EnvS3FlushInterval = "DEFAULT_S3_FLUSH_INTERVAL_SECONDS"
	// DefaultS3Region is LiteLLM's region for non-LLM AWS calls when none
	// is configured.
	DefaultS3Region        = "us-west-2"
	DefaultS3BatchSize     = 512
	DefaultS3FlushInterval = 10 * time.Second
	maxS3PathBytes         = 512
	s3CallbackParamsKey    = "litellm_settings.s3_callback_params"
)

// S3CallbackParams are litellm_settings.s3_callback_params as the s3
// callback uses them (os.environ/ references resolved; the AWS_*
// environment fills what is not set, see callbackEnv).
type S3CallbackParams struct {
	Bucket   string // s3_bucket_name
	Region   string // s3_region_name, else AWS_REGION_NAME, AWS_REGION, DefaultS3Region
	Endpoint string // s3_endpoint_url (an S3-compatible store); "" is AWS
	// AccessKeyID, SecretAccessKey (secret) and SessionToken (secret):
	// s3_aws_*, else AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
	// AWS_SESSION_TOKEN.
	AccessKeyID     string
	SecretAccessKey string
	SessionToken    string
	// RoleName, SessionName: s3_aws_role_name, s3_aws_session_name (else
	// AWS_ROLE_NAME, AWS_SESSION_NAME): STS AssumeRole, or with
	// WebIdentityToken (s3_aws_web_identity_token, else
	// AWS_WEB_IDENTITY_TOKEN; secret) AssumeRoleWithWebIdentity, at
	// STSEndpoint (s3_aws_sts_endpoint, else AWS_STS_ENDPOINT; "" is AWS's).
	// ProfileName: s3_aws_profile_name (else AWS_PROFILE_NAME), a profile
	// of the shared AWS config and credentials files.
	RoleName         string
	SessionName      string
	WebIdentityToken string
	STSEndpoint      string
	ProfileName      string
	Path             string // s3_path: the key prefix
	KeyPrefix        bool   // s3_use_key_prefix
	TeamPrefix       bool   // s3_use_team_prefix
	VirtualHosted    bool   // s3_use_virtual_hosted_style
	// InsecureSkipVerify is s3_verify: false.
	InsecureSkipVerify bool
	SSE                string // s3_server_side_encryption
	SSEKMSKeyID        string // s3_sse_kms_key_id
	// BatchSize and FlushInterval: DEFAULT_S3_BATCH_SIZE (512) and
	// DEFAULT_S3_FLUSH_INTERVAL_SECONDS (10 s).
	BatchSize     int
	FlushInterval time.Duration
}

// s3CallbackParams reads litellm_settings.s3_callback_params.
func (p *parser) s3CallbackParams(ls *LiteLLMSettings, n *yaml.Node, path string) {
	if sp := p.s3Params(n, path); sp != nil {
		ls.Logging.S3 = sp
	}
}

// s3Params reads an s3 callback's parameters (s3_callback_params,
// s3_audit_callback_params); nil when n is not a mapping.
func (p *parser) s3Params(n *yaml.Node, path string) *S3CallbackParams {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	sp := &S3CallbackParams{}
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		if isNull(v) {
			continue // an unset os.environ/ read as unset
		}
		switch e.Key {
		case "s3_bucket_name":
			sp.Bucket, _ = p.str(v, key)
		case "s3_region_name":
			sp.Region, _ = p.str(v, key)
		case "s3_endpoint_url":
			if s, ok := p.str(v, key); ok && s != "" {
				if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					p.errAt(v, key, "must be an http(s) URL")
				} else {
					sp.Endpoint = strings.TrimRight(s, "/")
				}
			}
		case "s3_aws_access_key_id":
			sp.AccessKeyID, _ = p.str(v, key)
		case "s3_aws_secret_access_key":
			sp.SecretAccessKey, _ = p.str(v, key)
		case "s3_aws_session_token":
			sp.SessionToken, _ = p.str(v, key)
		case "s3_path":
			if s, ok := p.str(v, key); ok {
				if len(s) > maxS3PathBytes {
					p.errAt(v, key, "must be at most %d bytes (S3 keys are at most 1,024)", maxS3PathBytes)
				} else {
					sp.Path = s
				}
			}
		case "s3_use_key_prefix":
			sp.KeyPrefix, _ = p.bool(v, key)
		case "s3_use_virtual_hosted_style":
			sp.VirtualHosted, _ = p.bool(v, key)
		case "s3_verify":
			if b, ok := p.bool(v, key); ok {
				sp.InsecureSkipVerify = !b
			}
		case "s3_server_side_encryption":
			sp.SSE, _ = p.str(v, key)
		case "s3_sse_kms_key_id":
			sp.SSEKMSKeyID, _ = p.str(v, key)
		case "s3_use_team_prefix":
			sp.TeamPrefix, _ = p.bool(v, key)
		case "s3_use_ssl":
			if b, ok := p.bool(v, key); ok && !b {
				p.warnAt(e.KeyNode, key, "accepted, not implemented yet (give an http:// s3_endpoint_url instead)")
			}
		case "s3_strip_base64_files", "s3_log_prompts_only":
			p.bool(v, key) // the payload carries no messages or response: nothing to strip
		case "s3_aws_role_name":
			sp.RoleName, _ = p.str(v, key)
		case "s3_aws_session_name":
			sp.SessionName, _ = p.str(v, key)
		case "s3_aws_web_identity_token":
			sp.WebIdentityToken, _ = p.str(v, key)
		case "s3_aws_profile_name":
			sp.ProfileName, _ = p.str(v, key)
		case "s3_aws_sts_endpoint":
			if s, ok := p.str(v, key); ok && s != "" {
				if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
					p.errAt(v, key, "must be an http(s) URL")
				} else {
					sp.STSEndpoint = strings.TrimRight(s, "/")
				}
			}
		case "s3_api_version", "s3_config", "s3_flush_interval", "s3_batch_size":
			p.warnAt(e.KeyNode, key, "accepted, not implemented yet")
		default:
			p.warnAt(e.KeyNode, key, "unknown s3_callback_params key; ignored")
		}
	}
	if sp.SSE == "" && sp.SSEKMSKeyID != "" {
		sp.SSE = "aws:kms" // LiteLLM's resolve_sse_params
	}
	return sp
}

// S3Callback reports which events the s3 callback receives: "s3_v2" in a
// callback list gets both as the list says; LiteLLM's v1 "s3" logger runs in
// the success handler only (litellm_logging's failure handler has no s3
// branch), so "s3" gets successes only.
func (ls *LiteLLMSettings) S3Callback() (success, failure bool) {
	s1, _ := ls.CallbackEvents("s3")
	s2, f2 := ls.CallbackEvents("s3_v2")
	return s1 || s2, f2
}

// s3V1Only reports whether the s3 callback is LiteLLM's v1 S3Logger: a list
// names "s3" and none "s3_v2".
func (ls *LiteLLMSettings) s3V1Only() bool {
	s1, f1 := ls.CallbackEvents("s3")
	s2, f2 := ls.CallbackEvents("s3_v2")
	return (s1 || f1) && !s2 && !f2
}

// s3V1Prefixes applies the v1 "s3" logger's object-key folders (s3.py's
// log_event): the team's alias only with enable_preview_features, never the
// key's alias (s3_use_key_prefix is s3_v2's); and warns where the config
// asks for what v1 does not do.
func (p *parser) s3V1Prefixes(ls *LiteLLMSettings, sp *S3CallbackParams) {
	if slices.Contains(ls.FailureCallback, "s3") {
		if _, f2 := ls.CallbackEvents("s3_v2"); !f2 {
			p.add(SeverityWarning, 0, 0, "litellm_settings.failure_callback", "callback \"s3\": LiteLLM's v1 s3 logger logs successes only; failures are not sent (name \"s3_v2\" for them)")
		}
	}
	if !ls.s3V1Only() {
		return
	}
	if sp.KeyPrefix {
		p.add(SeverityWarning, 0, 0, s3CallbackParamsKey+".s3_use_key_prefix", "callback \"s3\": only s3_v2 uses s3_use_key_prefix (LiteLLM's v1 s3 logger has no key folder); ignored")
		sp.KeyPrefix = false
	}
	if sp.TeamPrefix && !ls.EnablePreviewFeatures {
		p.add(SeverityWarning, 0, 0, s3CallbackParamsKey+".s3_use_team_prefix", "callback \"s3\": LiteLLM's v1 s3 logger uses s3_use_team_prefix only with litellm_settings.enable_preview_features: true (s3_v2 always); ignored")
		sp.TeamPrefix = false
	}
}

// s3Env completes the s3 callback's settings from the environment when a
// callback list (or a team's) names it: region, credentials and the batch
// knobs; it warns when the bucket or the credentials are missing (nothing
// is sent then).
func (p *parser) s3Env(ls *LiteLLMSettings, get func(string) string) {
	s, f := ls.S3Callback()
	team := false
	for _, tc := range ls.TeamCallbacks {
		team = team || tc.S3Success || tc.S3Failure
	}
	if !s && !f && !team && ls.Logging.S3 == nil {
		return
	}
	if ls.Logging.S3 == nil {
		ls.Logging.S3 = &S3CallbackParams{}
	}
	p.s3Complete(ls.Logging.S3, get, s3CallbackParamsKey, "callback \"s3\"")
	p.s3V1Prefixes(ls, ls.Logging.S3)
}

// s3Complete fills an s3 callback's parameters from the environment
// (region, credentials, the batch knobs) and warns, under key, when the
// bucket or the credentials are missing (what names it then sends nothing).
func (p *parser) s3Complete(sp *S3CallbackParams, get func(string) string, key, what string) {
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	sp.Region = first(sp.Region, get("AWS_REGION_NAME"), get("AWS_REGION"), DefaultS3Region)
	if sp.AccessKeyID == "" && sp.SecretAccessKey == "" {
		sp.AccessKeyID, sp.SecretAccessKey, sp.SessionToken = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), first(sp.SessionToken, get("AWS_SESSION_TOKEN"))
	}
	// Each unset parameter falls back to its AWS_* variable, as LiteLLM's
	// get_credentials reads them.
	sp.RoleName = first(sp.RoleName, get("AWS_ROLE_NAME"))
	sp.SessionName = first(sp.SessionName, get("AWS_SESSION_NAME"))
	sp.WebIdentityToken = first(sp.WebIdentityToken, get("AWS_WEB_IDENTITY_TOKEN"))
	sp.ProfileName = first(sp.ProfileName, get("AWS_PROFILE_NAME"))
	sp.STSEndpoint = first(sp.STSEndpoint, get("AWS_STS_ENDPOINT"))
	sp.BatchSize = DefaultS3BatchSize
	if n, err := strconv.Atoi(get(EnvS3BatchSize)); err == nil && n > 0 {
		sp.BatchSize = min(n, 10000)
	}
	sp.FlushInterval = DefaultS3FlushInterval
	if v, err := strconv.ParseFloat(get(EnvS3FlushInterval), 64); err == nil && v > 0 {
		sp.FlushInterval = time.Duration(min(v, 3600) * float64(time.Second))
	}
	switch {
	case sp.Bucket == "":
		p.add(SeverityWarning, 0, 0, key, "%s: s3_bucket_name is not set; no events are sent", what)
	case (sp.AccessKeyID == "" || sp.SecretAccessKey == "") && sp.RoleName == "" && sp.ProfileName == "":
		p.add(SeverityWarning, 0, 0, key, "%s: no credentials (s3_aws_access_key_id and s3_aws_secret_access_key, s3_aws_role_name, s3_aws_profile_name, or their AWS_* variables); no events are sent", what)
		sp.Bucket = ""
	}
}
