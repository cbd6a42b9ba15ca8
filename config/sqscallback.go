package config

import (
	"encoding/base64"
	"net/url"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// SQS logging callback (LiteLLM's "aws_sqs"): each request's
// StandardLoggingPayload as a message of an SQS queue, configured by
// litellm_settings.aws_sqs_callback_params.
const (
	// EnvSQSBatchSize and EnvSQSFlushInterval are LiteLLM's
	// DEFAULT_SQS_BATCH_SIZE (512) and DEFAULT_SQS_FLUSH_INTERVAL_SECONDS
	// (10).
	EnvSQSBatchSize         = "DEFAULT_SQS_BATCH_SIZE"
	EnvSQSFlushInterval     = "DEFAULT_SQS_FLUSH_INTERVAL_SECONDS"
	DefaultSQSBatchSize     = 512
	DefaultSQSFlushInterval = 10 * time.Second
	sqsCallbackParamsKey    = "litellm_settings.aws_sqs_callback_params"
	// SQSCallback is LiteLLM's name of the callback.
	SQSCallback = "aws_sqs"
)

// SQSCallbackParams are litellm_settings.aws_sqs_callback_params as the
// aws_sqs callback uses them (os.environ/ references resolved; the AWS_*
// environment fills the region and credentials not set, see sqsEnv).
type SQSCallbackParams struct {
	QueueURL string // sqs_queue_url
	// Region is sqs_region_name, else AWS_REGION_NAME, AWS_REGION, the
	// queue URL's (sqs.<region>.amazonaws.com), DefaultS3Region.
	Region string
	// Endpoint is sqs_endpoint_url, else the queue URL's scheme and host
	// (LiteLLM posts to the queue URL).
	Endpoint string
	// The credentials, each else its AWS_* variable as for s3 (secret:
	// SecretAccessKey, SessionToken, WebIdentityToken).
	AccessKeyID, SecretAccessKey, SessionToken                        string
	RoleName, SessionName, WebIdentityToken, STSEndpoint, ProfileName string
	// InsecureSkipVerify is sqs_verify: false.
	InsecureSkipVerify bool
	// EncryptionKey is sqs_app_encryption_key_b64 decoded (32 bytes; secret)
	// when sqs_aws_use_application_level_encryption is true; EncryptionAAD
	// is sqs_app_encryption_aad.
	EncryptionKey []byte
	EncryptionAAD string
	// BatchSize and FlushInterval: sqs_batch_size and sqs_flush_interval,
	// else DEFAULT_SQS_BATCH_SIZE (512) and DEFAULT_SQS_FLUSH_INTERVAL_SECONDS
	// (10 s).
	BatchSize     int
	FlushInterval time.Duration

	useEncryption bool
	encryptionB64 string
}

// sqsCallbackParams reads litellm_settings.aws_sqs_callback_params.
func (p *parser) sqsCallbackParams(ls *LiteLLMSettings, n *yaml.Node, path string) {
	es, ok := p.mapping(n, path)
	if !ok {
		return
	}
	sp := &SQSCallbackParams{}
	urlKey := func(v *yaml.Node, key string) string {
		s, ok := p.str(v, key)
		if !ok || s == "" {
			return ""
		}
		if u, err := url.Parse(s); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			p.errAt(v, key, "must be an http(s) URL")
			return ""
		}
		return s
	}
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		if isNull(v) {
			continue // an unset os.environ/ read as unset
		}
		switch e.Key {
		case "sqs_queue_url":
			sp.QueueURL = urlKey(v, key)
		case "sqs_region_name":
			sp.Region, _ = p.str(v, key)
		case "sqs_endpoint_url":
			sp.Endpoint = strings.TrimRight(urlKey(v, key), "/")
		case "sqs_aws_access_key_id":
			sp.AccessKeyID, _ = p.str(v, key)
		case "sqs_aws_secret_access_key":
			sp.SecretAccessKey, _ = p.str(v, key)
		case "sqs_aws_session_token":
			sp.SessionToken, _ = p.str(v, key)
		case "sqs_aws_role_name":
			sp.RoleName, _ = p.str(v, key)
		case "sqs_aws_session_name":
			sp.SessionName, _ = p.str(v, key)
		case "sqs_aws_web_identity_token":
			sp.WebIdentityToken, _ = p.str(v, key)
		case "sqs_aws_profile_name":
			sp.ProfileName, _ = p.str(v, key)
		case "sqs_aws_sts_endpoint":
			sp.STSEndpoint = strings.TrimRight(urlKey(v, key), "/")
		case "sqs_verify":
			if b, ok := p.bool(v, key); ok {
				sp.InsecureSkipVerify = !b
			}
		case "sqs_use_ssl":
			if b, ok := p.bool(v, key); ok && !b {
				p.warnAt(e.KeyNode, key, "accepted, not implemented yet (give an http:// sqs_queue_url instead)")
			}
		case "sqs_batch_size":
			if n, ok := p.int(v, key); ok {
				if n < 1 || n > 10000 {
					p.errAt(v, key, "must be 1 to 10000")
				} else {
					sp.BatchSize = int(n)
				}
			}
		case "sqs_flush_interval":
			if f, ok := p.float(v, key); ok {
				if f <= 0 || f > 3600 {
					p.errAt(v, key, "must be above 0 and at most 3600 seconds")
				} else {
					sp.FlushInterval = time.Duration(f * float64(time.Second))
				}
			}
		case "sqs_aws_use_application_level_encryption":
			sp.useEncryption, _ = p.bool(v, key)
		case "sqs_app_encryption_key_b64":
			sp.encryptionB64, _ = p.str(v, key)
		case "sqs_app_encryption_aad":
			sp.EncryptionAAD, _ = p.str(v, key)
		case "sqs_strip_base64_files":
			p.bool(v, key) // the payload carries no messages or response: nothing to strip
		case "sqs_api_version":
			p.str(v, key) // the SDK's JSON protocol carries no version
		case "sqs_config":
			p.warnAt(e.KeyNode, key, "accepted, not implemented yet")
		default:
			p.warnAt(e.KeyNode, key, "unknown aws_sqs_callback_params key; ignored")
		}
	}
	if sp.useEncryption {
		k, err := base64.StdEncoding.DecodeString(sp.encryptionB64)
		switch {
		case sp.encryptionB64 == "":
			p.add(SeverityError, 0, 0, path, "sqs_app_encryption_key_b64 is required when encryption is enabled.")
		case err != nil || len(k) != 32:
			p.add(SeverityError, 0, 0, path, "sqs_app_encryption_key_b64 must be 32 bytes, base64 (AES-256-GCM)")
		default:
			sp.EncryptionKey = k
		}
	}
	ls.Logging.SQS = sp
}

// sqsEnv completes the aws_sqs callback's settings from the environment
// when a callback list names it: region, credentials and the batch knobs;
// it warns when the queue URL is missing (nothing is sent then).
func (p *parser) sqsEnv(ls *LiteLLMSettings, get func(string) string) {
	if s, f := ls.CallbackEvents(SQSCallback); !s && !f {
		ls.Logging.SQS = nil
		return
	}
	sp := ls.Logging.SQS
	if sp == nil || sp.QueueURL == "" {
		p.add(SeverityWarning, 0, 0, sqsCallbackParamsKey, "callback \"aws_sqs\": sqs_queue_url is not set; no events are sent")
		ls.Logging.SQS = nil
		return
	}
	first := func(vs ...string) string {
		for _, v := range vs {
			if v != "" {
				return v
			}
		}
		return ""
	}
	u, _ := url.Parse(sp.QueueURL)
	sp.Region = first(sp.Region, get("AWS_REGION_NAME"), get("AWS_REGION"), sqsURLRegion(u.Hostname()), DefaultS3Region)
	if sp.Endpoint == "" {
		sp.Endpoint = u.Scheme + "://" + u.Host
	}
	if sp.AccessKeyID == "" && sp.SecretAccessKey == "" {
		sp.AccessKeyID, sp.SecretAccessKey, sp.SessionToken = get("AWS_ACCESS_KEY_ID"), get("AWS_SECRET_ACCESS_KEY"), first(sp.SessionToken, get("AWS_SESSION_TOKEN"))
	}
	sp.RoleName = first(sp.RoleName, get("AWS_ROLE_NAME"))
	sp.SessionName = first(sp.SessionName, get("AWS_SESSION_NAME"))
	sp.WebIdentityToken = first(sp.WebIdentityToken, get("AWS_WEB_IDENTITY_TOKEN"))
	sp.ProfileName = first(sp.ProfileName, get("AWS_PROFILE_NAME"))
	sp.STSEndpoint = first(sp.STSEndpoint, get("AWS_STS_ENDPOINT"))
	if sp.BatchSize == 0 {
		sp.BatchSize = DefaultSQSBatchSize
		if n, err := strconv.Atoi(get(EnvSQSBatchSize)); err == nil && n > 0 {
			sp.BatchSize = min(n, 10000)
		}
	}
	if sp.FlushInterval == 0 {
		sp.FlushInterval = DefaultSQSFlushInterval
		if v, err := strconv.ParseFloat(get(EnvSQSFlushInterval), 64); err == nil && v > 0 {
			sp.FlushInterval = time.Duration(min(v, 3600) * float64(time.Second))
		}
	}
	if (sp.AccessKeyID == "" || sp.SecretAccessKey == "") && sp.RoleName == "" && sp.ProfileName == "" {
		p.add(SeverityWarning, 0, 0, sqsCallbackParamsKey, "callback \"aws_sqs\": no credentials (sqs_aws_access_key_id and sqs_aws_secret_access_key, sqs_aws_role_name, sqs_aws_profile_name, or their AWS_* variables); no events are sent")
		ls.Logging.SQS = nil
	}
}

// sqsURLRegion is the region of an AWS queue host (sqs.<region>.amazonaws.com
// or <region>.queue.amazonaws.com); "" for another host.
func sqsURLRegion(host string) string {
	parts := strings.Split(host, ".")
	switch {
	case len(parts) >= 4 && parts[0] == "sqs" && parts[2] == "amazonaws":
		return parts[1]
	case len(parts) >= 4 && parts[1] == "queue" && parts[2] == "amazonaws":
		return parts[0]
	}
	return ""
}
