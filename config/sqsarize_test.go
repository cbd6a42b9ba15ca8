package config

import (
	"encoding/base64"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestSQSCallbackParams: aws_sqs_callback_params with os.environ/
// references, the AWS_* and DEFAULT_SQS_* fallbacks, the region taken from
// an AWS queue URL, the encryption key's checks, and the warnings that
// leave the callback off.
func TestSQSCallbackParams(t *testing.T) {
	key := base64.StdEncoding.EncodeToString(make([]byte, 32))
	for _, c := range []struct {
		name, params string
		env          map[string]string
		want         *SQSCallbackParams
		diag         string
	}{
		{name: "explicit", params: "sqs_queue_url: os.environ/Q\n    sqs_region_name: eu-west-3\n    sqs_aws_access_key_id: AK\n    sqs_aws_secret_access_key: os.environ/SK\n    sqs_batch_size: 20\n    sqs_flush_interval: 1.5\n    sqs_verify: false",
			env:  map[string]string{"Q": "http://127.0.0.1:9/123/q", "SK": "secret"},
			want: &SQSCallbackParams{QueueURL: "http://127.0.0.1:9/123/q", Region: "eu-west-3", Endpoint: "http://127.0.0.1:9", AccessKeyID: "AK", SecretAccessKey: "secret", InsecureSkipVerify: true, BatchSize: 20, FlushInterval: 1500 * time.Millisecond}},
		{name: "environment", params: "sqs_queue_url: https://sqs.ap-south-1.amazonaws.com/123/q.fifo",
			env:  map[string]string{"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "S", "AWS_SESSION_TOKEN": "T", "DEFAULT_SQS_BATCH_SIZE": "7", "DEFAULT_SQS_FLUSH_INTERVAL_SECONDS": "3"},
			want: &SQSCallbackParams{QueueURL: "https://sqs.ap-south-1.amazonaws.com/123/q.fifo", Region: "ap-south-1", Endpoint: "https://sqs.ap-south-1.amazonaws.com", AccessKeyID: "AK", SecretAccessKey: "S", SessionToken: "T", BatchSize: 7, FlushInterval: 3 * time.Second}},
		{name: "role and encryption", params: "sqs_queue_url: https://q.example/1/q\n    sqs_endpoint_url: https://sqs.example/\n    sqs_aws_role_name: arn:aws:iam::1:role/r\n    sqs_aws_use_application_level_encryption: true\n    sqs_app_encryption_key_b64: " + key + "\n    sqs_app_encryption_aad: ctx",
			env:  map[string]string{"AWS_REGION": "us-east-2"},
			want: &SQSCallbackParams{QueueURL: "https://q.example/1/q", Region: "us-east-2", Endpoint: "https://sqs.example", RoleName: "arn:aws:iam::1:role/r", EncryptionKey: make([]byte, 32), EncryptionAAD: "ctx", BatchSize: 512, FlushInterval: 10 * time.Second}},
		{name: "no queue", params: "sqs_region_name: x", diag: `callback "aws_sqs": sqs_queue_url is not set`},
		{name: "no credentials", params: "sqs_queue_url: https://q.example/1/q", diag: `callback "aws_sqs": no credentials`},
		{name: "short key", params: "sqs_queue_url: https://q.example/1/q\n    sqs_aws_profile_name: p\n    sqs_aws_use_application_level_encryption: true\n    sqs_app_encryption_key_b64: AAAA", diag: "sqs_app_encryption_key_b64 must be 32 bytes"},
		{name: "not a URL", params: "sqs_queue_url: ftp://x/q", diag: "must be an http(s) URL"},
	} {
		t.Run(c.name, func(t *testing.T) {
			yml := "model_list: []\nlitellm_settings:\n  callbacks: [aws_sqs]\n  aws_sqs_callback_params:\n    " + c.params + "\n"
			cfg, err := Parse([]byte(yml), "t.yaml", func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if c.diag != "" {
				switch {
				case err != nil:
					if !strings.Contains(err.Error(), c.diag) {
						t.Fatalf("want %q; got %v", c.diag, err)
					}
				case !hasDiag(cfg.Warnings, c.diag):
					t.Fatalf("want %q; got %v", c.diag, cfg.Warnings)
				case cfg.LiteLLM.Logging.SQS != nil:
					t.Fatalf("the callback is on: %+v", cfg.LiteLLM.Logging.SQS)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			got := *cfg.LiteLLM.Logging.SQS
			got.useEncryption, got.encryptionB64 = false, ""
			if !reflect.DeepEqual(&got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, *c.want)
			}
		})
	}
}

// TestArizeEnv: the arize and arize_phoenix exporters as LiteLLM's
// get_arize_config and get_arize_phoenix_config read the environment.
func TestArizeEnv(t *testing.T) {
	for _, c := range []struct {
		name, callback string
		env            map[string]string
		want           *ArizeEnv
	}{
		{name: "arize defaults", callback: "arize", env: map[string]string{"ARIZE_SPACE_ID": "sp", "ARIZE_API_KEY": "k"},
			want: &ArizeEnv{Protocol: "grpc", Endpoint: "https://otlp.arize.com/v1", Headers: map[string]string{"space_id": "sp", "api_key": "k"}, Project: "litellm", Environment: "production"}},
		{name: "arize http", callback: "arize", env: map[string]string{"ARIZE_SPACE_KEY": "key", "ARIZE_SPACE_ID": "id", "ARIZE_API_KEY": "k", "ARIZE_HTTP_ENDPOINT": "http://c/v1/traces", "ARIZE_PROJECT_NAME": "p", "OTEL_ENVIRONMENT_NAME": "dev"},
			want: &ArizeEnv{Protocol: "http/protobuf", Endpoint: "http://c/v1/traces", Headers: map[string]string{"space_id": "key", "api_key": "k"}, Project: "p", Environment: "dev"}},
		{name: "arize grpc first", callback: "arize", env: map[string]string{"ARIZE_ENDPOINT": "http://c:4317", "ARIZE_HTTP_ENDPOINT": "http://c/v1/traces"},
			want: &ArizeEnv{Protocol: "grpc", Endpoint: "http://c:4317", Headers: map[string]string{"space_id": "", "api_key": ""}, Project: "litellm", Environment: "production"}},
		{name: "phoenix local", callback: "arize_phoenix",
			want: &ArizeEnv{Protocol: "http/protobuf", Endpoint: "http://localhost:6006/v1/traces", Headers: map[string]string{}, Project: "default", Environment: "production"}},
		{name: "phoenix http", callback: "arize_phoenix", env: map[string]string{"PHOENIX_COLLECTOR_HTTP_ENDPOINT": "http://p:6006/", "PHOENIX_COLLECTOR_ENDPOINT": "grpc://x:4317", "PHOENIX_API_KEY": "pk", "ARIZE_PROJECT_NAME": "ap"},
			want: &ArizeEnv{Protocol: "http/protobuf", Endpoint: "http://p:6006/v1/traces", Headers: map[string]string{"Authorization": "Bearer pk"}, Project: "ap", Environment: "production"}},
		{name: "phoenix grpc", callback: "arize_phoenix", env: map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "http://p:4317", "PHOENIX_API_KEY": "pk", "PHOENIX_PROJECT_NAME": "pp"},
			want: &ArizeEnv{Protocol: "grpc", Endpoint: "http://p:4317", Headers: map[string]string{"authorization": "Bearer pk"}, Project: "pp", Environment: "production"}},
		{name: "phoenix v1", callback: "arize_phoenix", env: map[string]string{"PHOENIX_COLLECTOR_ENDPOINT": "https://p.example/v1"},
			want: &ArizeEnv{Protocol: "http/protobuf", Endpoint: "https://p.example/v1/traces", Headers: map[string]string{}, Project: "default", Environment: "production"}},
		{name: "phoenix cloud without key", callback: "arize_phoenix", env: map[string]string{"PHOENIX_COLLECTOR_HTTP_ENDPOINT": "https://app.phoenix.arize.com/s/me"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			yml := "model_list: []\nlitellm_settings:\n  callbacks: [" + c.callback + "]\n"
			cfg, err := Parse([]byte(yml), "t.yaml", func(k string) (string, bool) { v, ok := c.env[k]; return v, ok })
			if err != nil {
				t.Fatal(err)
			}
			got := cfg.LiteLLM.Logging.Arize
			if c.callback == "arize_phoenix" {
				got = cfg.LiteLLM.Logging.Phoenix
				if c.want == nil && !hasDiag(cfg.Warnings, "PHOENIX_API_KEY must be set when using Phoenix Cloud") {
					t.Errorf("no warning: %v", cfg.Warnings)
				}
			}
			if !reflect.DeepEqual(got, c.want) {
				t.Errorf("got  %+v\nwant %+v", got, c.want)
			}
			if hasDiag(cfg.Warnings, "not implemented yet") {
				t.Errorf("warned not implemented: %v", cfg.Warnings)
			}
		})
	}
}
