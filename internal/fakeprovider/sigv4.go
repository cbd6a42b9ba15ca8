package fakeprovider

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	v4 "github.com/aws/aws-sdk-go-v2/aws/signer/v4"
)

// sigV4Error is a failed signature check, with the AWS exception name and
// message the real service answers.
type sigV4Error struct {
	exception string
	message   string
}

func (e *sigV4Error) Error() string { return e.exception + ": " + e.message }

const sigV4MismatchMessage = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details."

// maxClockSkew is how far X-Amz-Date may be from now.
const maxClockSkew = 5 * time.Minute

// sigV4Auth is the parsed Authorization header of a SigV4 request.
type sigV4Auth struct {
	accessKeyID, date, region, service string
	signedHeaders                      []string
	signature                          string
}

func parseSigV4Auth(h string) (sigV4Auth, error) {
	const algo = "AWS4-HMAC-SHA256 "
	rest, ok := strings.CutPrefix(h, algo)
	if !ok {
		return sigV4Auth{}, errors.New("authorization header is not AWS4-HMAC-SHA256")
	}
	var a sigV4Auth
	for part := range strings.SplitSeq(rest, ",") {
		k, v, _ := strings.Cut(strings.TrimSpace(part), "=")
		switch k {
		case "Credential":
			f := strings.Split(v, "/")
			if len(f) != 5 || f[4] != "aws4_request" {
				return sigV4Auth{}, fmt.Errorf("malformed credential scope %q", v)
			}
			a.accessKeyID, a.date, a.region, a.service = f[0], f[1], f[2], f[3]
		case "SignedHeaders":
			a.signedHeaders = strings.Split(v, ";")
		case "Signature":
			a.signature = v
		}
	}
	if a.accessKeyID == "" || len(a.signedHeaders) == 0 || a.signature == "" {
		return sigV4Auth{}, errors.New("authorization header lacks Credential, SignedHeaders or Signature")
	}
	return a, nil
}

// bedrockService is the service name in a Bedrock runtime credential scope.
const bedrockService = "bedrock"

// awsRegionFor is the region a request for model must be signed for.
func (s *Server) awsRegionFor(model string) string {
	if r, ok := s.opts.AWSModelRegions[model]; ok {
		return r
	}
	return s.opts.AWSRegion
}

// verifySigV4 checks that the credential scope names the region the
// deployment is configured for (AWSRegion, AWSModelRegions) and the bedrock
// service, as the real endpoint does, then recomputes the signature of r
// (with body) using the configured credentials and aws-sdk-go-v2's signer,
// and compares it with the one sent. The signer signs every header it is
// given except a few (User-Agent, Authorization, …), so only the headers
// the client listed in SignedHeaders are copied to the request it signs.
func (s *Server) verifySigV4(r *http.Request, body []byte, model string, now time.Time) error {
	return VerifySigV4(r, body, aws.Credentials{AccessKeyID: s.opts.AWSAccessKeyID, SecretAccessKey: s.opts.AWSSecretAccessKey},
		bedrockService, s.awsRegionFor(model), now)
}

// VerifySigV4 checks a SigV4-signed request as an AWS service does: the
// access key is creds', the credential scope names service and region, the
// date is within five minutes of now, and the signature recomputed with
// creds' secret key (aws-sdk-go-v2's signer) matches. The error is the
// service's exception name and message.
func VerifySigV4(r *http.Request, body []byte, creds aws.Credentials, service, region string, now time.Time) error {
	authz := r.Header.Get("Authorization")
	if authz == "" {
		return &sigV4Error{"MissingAuthenticationTokenException", "Missing Authentication Token"}
	}
	a, err := parseSigV4Auth(authz)
	if err != nil {
		return &sigV4Error{"IncompleteSignatureException", err.Error()}
	}
	if a.accessKeyID != creds.AccessKeyID {
		return &sigV4Error{"UnrecognizedClientException", "The security token included in the request is invalid."}
	}
	if a.service != service {
		return &sigV4Error{"InvalidSignatureException", fmt.Sprintf("Credential should be scoped to correct service: '%s'. ", service)}
	}
	if a.region != region {
		return &sigV4Error{"InvalidSignatureException", fmt.Sprintf("Credential should be scoped to a valid region, not '%s'. ", a.region)}
	}
	amzDate := r.Header.Get("X-Amz-Date")
	signingTime, err := time.Parse("20060102T150405Z", amzDate)
	if err != nil {
		return &sigV4Error{"IncompleteSignatureException", "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header."}
	}
	if d := now.Sub(signingTime); d > maxClockSkew || d < -maxClockSkew {
		return &sigV4Error{"InvalidSignatureException", fmt.Sprintf("Signature expired: %s is now earlier than %s (%s - 5 min.)",
			amzDate, now.Add(-maxClockSkew).UTC().Format("20060102T150405Z"), now.UTC().Format("20060102T150405Z"))}
	}

	u := *r.URL
	u.Scheme, u.Host = "http", r.Host
	req := &http.Request{Method: r.Method, URL: &u, Host: r.Host, Header: http.Header{}}
	for _, name := range a.signedHeaders {
		switch name {
		case "host":
		case "content-length":
			req.ContentLength = int64(len(body))
		default:
			vals := r.Header.Values(name)
			if len(vals) == 0 {
				return &sigV4Error{"InvalidSignatureException", sigV4MismatchMessage}
			}
			req.Header[http.CanonicalHeaderKey(name)] = vals
			if strings.EqualFold(name, "X-Amz-Security-Token") {
				creds.SessionToken = vals[0]
			}
		}
	}
	sum := sha256.Sum256(body)
	payloadHash := hex.EncodeToString(sum[:])
	if h := r.Header.Get("X-Amz-Content-Sha256"); h == "UNSIGNED-PAYLOAD" {
		payloadHash = h
	}
	if err := v4.NewSigner().SignHTTP(context.Background(), creds, req, payloadHash, a.service, a.region, signingTime); err != nil {
		return fmt.Errorf("recompute sigv4 signature: %w", err)
	}
	want, err := parseSigV4Auth(req.Header.Get("Authorization"))
	if err != nil {
		return fmt.Errorf("parse recomputed signature: %w", err)
	}
	if !hmac.Equal([]byte(want.signature), []byte(a.signature)) {
		return &sigV4Error{"InvalidSignatureException", sigV4MismatchMessage}
	}
	return nil
}

// SigV4Exception splits a VerifySigV4 error into the AWS exception name and
// message ("InternalFailure" and the error's text for another error).
func SigV4Exception(err error) (exception, message string) {
	var se *sigV4Error
	if errors.As(err, &se) {
		return se.exception, se.message
	}
	return "InternalFailure", err.Error()
}
