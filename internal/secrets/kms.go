package secrets

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"strings"
	"unicode/utf8"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/kms"
	kmstypes "github.com/aws/aws-sdk-go-v2/service/kms/types"
	"github.com/aws/smithy-go"
	"golang.org/x/oauth2"

	"github.com/llmgate/llmgate/internal/backendauth"
)

// The key management services (aws_kms, google_kms) hold no secrets: they
// decrypt the ones the environment holds encrypted. As LiteLLM's get_secret
// does for them, an os.environ/NAME reference reads NAME from the
// environment, base64-decodes it and asks the service to decrypt it; the
// plaintext (UTF-8) is the value. A variable that is unset is not found; one
// that is not base64, or that the service says is no ciphertext of its key,
// is read from the environment as it is (LiteLLM falls back to os.environ on
// both). Any other failure is an error: a reload then keeps the previous
// config.

// kmsCiphertext is the ciphertext an environment value holds; ok is false
// when the variable is unset or its value is not base64.
func kmsCiphertext(getenv func(string) (string, bool), name string) (ct []byte, ok bool) {
	v, set := getenv(name)
	v = strings.TrimPrefix(strings.TrimSpace(v), "aws_kms/")
	if !set || v == "" || len(v) > 4*maxValue {
		return nil, false
	}
	ct, err := base64.StdEncoding.Strict().DecodeString(v)
	if err != nil || len(ct) == 0 {
		return nil, false
	}
	return ct, true
}

// kmsPlaintext checks a decrypted value.
func kmsPlaintext(system, name string, p []byte) (string, bool, error) {
	if len(p) > maxValue || !utf8.Valid(p) {
		return "", false, fmt.Errorf("%s: %q decrypts to a value that is not UTF-8 text of at most %d bytes", system, name, maxValue)
	}
	return strings.TrimSpace(string(p)), true, nil
}

// awsKMSReader decrypts with AWS KMS Decrypt (key_management_system:
// aws_kms; LiteLLM's boto3 kms client). The ciphertext names its key, so
// no key id is configured. LiteLLM's "aws_kms/" value prefix (its V2
// environment decryption) is dropped.
type awsKMSReader struct {
	c      *kms.Client
	getenv func(string) (string, bool)
}

// newAWSKMS builds the KMS client: region and credentials as for
// aws_secret_manager (awsClient); the endpoint AWS_ENDPOINT_URL_KMS, else
// AWS_ENDPOINT_URL, else AWS's regional endpoint.
func newAWSKMS(st Settings, getenv func(string) (string, bool), hc *http.Client) (*awsKMSReader, error) {
	c, err := awsClient(AWSKMS, st, getenv, hc)
	if err != nil {
		return nil, err
	}
	o := kms.Options{Region: c.region, HTTPClient: hc, Retryer: aws.NopRetryer{}, Credentials: c.creds}
	if ep := firstNonEmpty(c.env("AWS_ENDPOINT_URL_KMS"), c.env("AWS_ENDPOINT_URL")); ep != "" {
		o.BaseEndpoint = aws.String(ep)
	}
	return &awsKMSReader{c: kms.New(o), getenv: getenv}, nil
}

func (a *awsKMSReader) read(ctx context.Context, name string) (string, bool, error) {
	ct, ok := kmsCiphertext(a.getenv, name)
	if !ok {
		return "", false, nil
	}
	out, err := a.c.Decrypt(ctx, &kms.DecryptInput{CiphertextBlob: ct})
	if err != nil {
		var bad *kmstypes.InvalidCiphertextException
		if errors.As(err, &bad) {
			return "", false, nil
		}
		var ae smithy.APIError
		if errors.As(err, &ae) {
			return "", false, fmt.Errorf("aws_kms Decrypt %q: %s: %s", name, ae.ErrorCode(), ae.ErrorMessage())
		}
		return "", false, fmt.Errorf("aws_kms Decrypt %q: %w", name, err)
	}
	return kmsPlaintext(AWSKMS, name, out.Plaintext)
}

// googleKMSReader decrypts with Google Cloud KMS (key_management_system:
// google_kms, or general_settings.use_google_kms: true): POST
// https://cloudkms.googleapis.com/v1/{GOOGLE_KMS_RESOURCE_NAME}:decrypt
// with {"ciphertext"}, the plaintext at "plaintext", as LiteLLM's
// KeyManagementServiceClient.decrypt. The token is the service account's of
// GOOGLE_APPLICATION_CREDENTIALS (scope cloud-platform); the endpoint can be
// moved with CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDKMS, gcloud's variable.
type googleKMSReader struct {
	hc       *http.Client
	url      string
	getenv   func(string) (string, bool)
	injector *backendauth.Vertex
}

// googleKMSKey is a crypto key's resource name.
var googleKMSKey = regexp.MustCompile(`^projects/[^/]+/locations/[^/]+/keyRings/[^/]+/cryptoKeys/[^/]+$`)

func newGoogleKMS(getenv func(string) (string, bool), hc *http.Client) (*googleKMSReader, error) {
	env := func(k string) string { v, _ := getenv(k); return strings.TrimSpace(v) }
	key, credFile := env("GOOGLE_KMS_RESOURCE_NAME"), env("GOOGLE_APPLICATION_CREDENTIALS")
	if key == "" || credFile == "" {
		return nil, errors.New("google_kms: set GOOGLE_KMS_RESOURCE_NAME (projects/…/locations/…/keyRings/…/cryptoKeys/…) and GOOGLE_APPLICATION_CREDENTIALS (a service account's JSON file)")
	}
	if !googleKMSKey.MatchString(key) {
		return nil, fmt.Errorf("google_kms: GOOGLE_KMS_RESOURCE_NAME %q is not projects/…/locations/…/keyRings/…/cryptoKeys/…", key)
	}
	inj, err := googleToken(GoogleKMS, "GOOGLE_APPLICATION_CREDENTIALS", credFile, hc)
	if err != nil {
		return nil, err
	}
	return &googleKMSReader{hc: hc, url: googleEndpoint(env, "CLOUDKMS", "https://cloudkms.googleapis.com") + key + ":decrypt", getenv: getenv, injector: inj}, nil
}

// googleToken makes the token source of the service account whose JSON
// file credEnv (its value credFile) names.
func googleToken(system, credEnv, credFile string, hc *http.Client) (*backendauth.Vertex, error) {
	b, err := os.ReadFile(credFile)
	if err != nil {
		return nil, fmt.Errorf("%s: %s: %w", system, credEnv, err)
	}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, hc)
	inj, err := backendauth.NewVertex(ctx, backendauth.Secret(b))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", system, err)
	}
	return inj, nil
}

// googleEndpoint is a Google API's base URL ending in "/v1/":
// CLOUDSDK_API_ENDPOINT_OVERRIDES_<api> (gcloud's variable), else def.
func googleEndpoint(env func(string) string, api, def string) string {
	base := strings.TrimRight(firstNonEmpty(env("CLOUDSDK_API_ENDPOINT_OVERRIDES_"+api), def), "/")
	return strings.TrimSuffix(base, "/v1") + "/v1/"
}

// googleCall sends one request with the service account's token and
// decodes the JSON answer into out; status is the answer's, st and msg
// Google's error status and message.
func googleCall(ctx context.Context, hc *http.Client, inj *backendauth.Vertex, method, url string, body []byte, out any) (status int, st, msg string, err error) {
	h, err := inj.Headers(backendauth.Request{})
	if err != nil {
		return 0, "", "", err
	}
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, url, rd)
	if err != nil {
		return 0, "", "", err
	}
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	req.Header.Set("Authorization", h["authorization"])
	resp, err := hc.Do(req)
	if err != nil {
		return 0, "", "", err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 4*maxValue))
	var e struct {
		Error struct {
			Message string `json:"message"`
			Status  string `json:"status"`
		} `json:"error"`
	}
	if resp.StatusCode != http.StatusOK {
		_ = json.Unmarshal(raw, &e)
		return resp.StatusCode, e.Error.Status, e.Error.Message, nil
	}
	if err := json.Unmarshal(raw, out); err != nil {
		return resp.StatusCode, "", "", fmt.Errorf("the answer is not JSON")
	}
	return resp.StatusCode, "", "", nil
}

func (g *googleKMSReader) read(ctx context.Context, name string) (string, bool, error) {
	ct, ok := kmsCiphertext(g.getenv, name)
	if !ok {
		return "", false, nil
	}
	body, _ := json.Marshal(map[string]string{"ciphertext": base64.StdEncoding.EncodeToString(ct)})
	var out struct {
		Plaintext string `json:"plaintext"`
	}
	status, st, msg, err := googleCall(ctx, g.hc, g.injector, http.MethodPost, g.url, body, &out)
	switch {
	case err != nil:
		return "", false, fmt.Errorf("google_kms decrypt %q: %w", name, err)
	case status == http.StatusBadRequest && st == "INVALID_ARGUMENT":
		return "", false, nil // not a ciphertext of this key: the environment's value
	case status != http.StatusOK:
		return "", false, fmt.Errorf("google_kms decrypt %q: %d %s %s", name, status, st, msg)
	}
	p, err := base64.StdEncoding.DecodeString(out.Plaintext)
	if err != nil {
		return "", false, fmt.Errorf("google_kms decrypt %q: the plaintext is not base64", name)
	}
	return kmsPlaintext(GoogleKMS, name, p)
}

// googleSMReader reads Google Secret Manager (key_management_system:
// google_secret_manager) as LiteLLM's GoogleSecretManager does: GET
// https://secretmanager.googleapis.com/v1/projects/{GOOGLE_SECRET_MANAGER_PROJECT_ID}/secrets/{name}/versions/latest:access,
// the value base64 at payload.data. The token is the service account's of
// GCS_PATH_SERVICE_ACCOUNT, else GOOGLE_APPLICATION_CREDENTIALS; the
// endpoint can be moved with CLOUDSDK_API_ENDPOINT_OVERRIDES_SECRETMANAGER.
// A name Secret Manager cannot hold is never asked.
type googleSMReader struct {
	hc       *http.Client
	url      string
	injector *backendauth.Vertex
}

// googleSecretID is a name Secret Manager can hold.
var googleSecretID = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

func newGoogleSM(getenv func(string) (string, bool), hc *http.Client) (*googleSMReader, error) {
	env := func(k string) string { v, _ := getenv(k); return strings.TrimSpace(v) }
	project := env("GOOGLE_SECRET_MANAGER_PROJECT_ID")
	if project == "" || strings.ContainsAny(project, "/?#") {
		return nil, errors.New("google_secret_manager: set GOOGLE_SECRET_MANAGER_PROJECT_ID (the project the secrets are in)")
	}
	credEnv := "GCS_PATH_SERVICE_ACCOUNT"
	credFile := env(credEnv)
	if credFile == "" {
		credEnv, credFile = "GOOGLE_APPLICATION_CREDENTIALS", env("GOOGLE_APPLICATION_CREDENTIALS")
	}
	if credFile == "" {
		return nil, errors.New("google_secret_manager: set GCS_PATH_SERVICE_ACCOUNT or GOOGLE_APPLICATION_CREDENTIALS (a service account's JSON file)")
	}
	inj, err := googleToken(GoogleSecretManager, credEnv, credFile, hc)
	if err != nil {
		return nil, err
	}
	return &googleSMReader{hc: hc, url: googleEndpoint(env, "SECRETMANAGER", "https://secretmanager.googleapis.com") + "projects/" + project + "/secrets/", injector: inj}, nil
}

func (g *googleSMReader) read(ctx context.Context, name string) (string, bool, error) {
	if !googleSecretID.MatchString(name) {
		return "", false, nil
	}
	var out struct {
		Payload struct {
			Data string `json:"data"`
		} `json:"payload"`
	}
	status, st, msg, err := googleCall(ctx, g.hc, g.injector, http.MethodGet, g.url+name+"/versions/latest:access", nil, &out)
	switch {
	case err != nil:
		return "", false, fmt.Errorf("google_secret_manager access %q: %w", name, err)
	case status == http.StatusNotFound:
		return "", false, nil
	case status != http.StatusOK:
		return "", false, fmt.Errorf("google_secret_manager access %q: %d %s %s", name, status, st, msg)
	}
	p, err := base64.StdEncoding.DecodeString(out.Payload.Data)
	if err != nil {
		return "", false, fmt.Errorf("google_secret_manager access %q: payload.data is not base64", name)
	}
	v, _, err := kmsPlaintext(GoogleSecretManager, name, p)
	return v, err == nil, err
}
