package backendauth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/url"
	"sort"
	"strings"
)

// AWSCredentials are static AWS credentials.
type AWSCredentials struct {
	AccessKeyID     string
	SecretAccessKey Secret
	SessionToken    Secret // optional (STS)
}

func (c AWSCredentials) String() string {
	return fmt.Sprintf("aws(access_key_id=%s, secret=%s, session_token=%s)", redactID(c.AccessKeyID), c.SecretAccessKey, c.SessionToken)
}

// redactID keeps the first 4 characters of an access key id, enough to tell
// keys apart in a log without printing the whole id.
func redactID(id string) string {
	if len(id) <= 4 {
		return id
	}
	return id[:4] + "…"
}

// SigV4 signs requests with AWS Signature Version 4 (Bedrock: service
// "bedrock", the deployment's region).
type SigV4 struct {
	Credentials AWSCredentials
	Region      string
	Service     string // "bedrock" when empty
}

func (s SigV4) String() string {
	return fmt.Sprintf("sigv4(region=%s, service=%s, %s)", s.Region, s.service(), s.Credentials)
}

func (s SigV4) service() string {
	if s.Service == "" {
		return "bedrock"
	}
	return s.Service
}

// Headers implements Injector: it returns Authorization, X-Amz-Date,
// X-Amz-Content-Sha256 and, with a session token, X-Amz-Security-Token.
func (s SigV4) Headers(r Request) (map[string]string, error) {
	return Sign(r, s.Credentials, s.Region, s.service())
}

// sigV4Unsigned are the headers AWS never signs (aws-sdk-go-v2 IgnoredHeaders).
var sigV4Unsigned = map[string]bool{
	"authorization": true, "user-agent": true, "x-amzn-trace-id": true, "expect": true, "transfer-encoding": true,
}

// Sign computes a SigV4 signature. It is a pure function of its inputs.
func Sign(r Request, c AWSCredentials, region, service string) (map[string]string, error) {
	if c.AccessKeyID == "" || c.SecretAccessKey == "" {
		return nil, fmt.Errorf("aws-sigv4: %w (access key id and secret access key are required)", ErrNoCredentials)
	}
	if region == "" {
		return nil, fmt.Errorf("aws-sigv4: region is required")
	}
	if r.Host == "" {
		return nil, fmt.Errorf("aws-sigv4: host is required")
	}
	if r.Time.IsZero() {
		return nil, fmt.Errorf("aws-sigv4: signing time is required")
	}
	t := r.Time.UTC()
	amzDate := t.Format("20060102T150405Z")
	day := t.Format("20060102")
	sum := sha256.Sum256(r.Body)
	payloadHash := hex.EncodeToString(sum[:])

	out := map[string]string{"x-amz-date": amzDate, "x-amz-content-sha256": payloadHash}
	if c.SessionToken != "" {
		out["x-amz-security-token"] = c.SessionToken.Reveal()
	}

	// Headers to sign: the request's, plus ours, plus host.
	signed := map[string]string{"host": stripExcessSpaces(r.Host)}
	for k, v := range r.Headers {
		lk := strings.ToLower(k)
		if sigV4Unsigned[lk] || lk == "host" || lk == ":authority" || strings.HasPrefix(lk, ":") {
			continue
		}
		v = strings.TrimSpace(stripExcessSpaces(v))
		if prev, ok := signed[lk]; ok {
			v = prev + "," + v
		}
		signed[lk] = v
	}
	for k, v := range out {
		signed[k] = v
	}
	names := make([]string, 0, len(signed))
	for k := range signed {
		names = append(names, k)
	}
	sort.Strings(names)
	var ch strings.Builder
	for _, k := range names {
		ch.WriteString(k)
		ch.WriteByte(':')
		ch.WriteString(signed[k])
		ch.WriteByte('\n')
	}
	signedHeaders := strings.Join(names, ";")

	path := r.Path
	if path == "" {
		path = "/"
	}
	query, err := canonicalQuery(r.Query)
	if err != nil {
		return nil, fmt.Errorf("aws-sigv4: query: %w", err)
	}
	canonical := strings.Join([]string{
		r.Method, escapePath(path), query, ch.String(), signedHeaders, payloadHash,
	}, "\n")

	scope := day + "/" + region + "/" + service + "/aws4_request"
	crSum := sha256.Sum256([]byte(canonical))
	toSign := "AWS4-HMAC-SHA256\n" + amzDate + "\n" + scope + "\n" + hex.EncodeToString(crSum[:])

	key := hmacSHA256([]byte("AWS4"+c.SecretAccessKey.Reveal()), day)
	key = hmacSHA256(key, region)
	key = hmacSHA256(key, service)
	key = hmacSHA256(key, "aws4_request")
	sig := hex.EncodeToString(hmacSHA256(key, toSign))

	out["authorization"] = "AWS4-HMAC-SHA256 Credential=" + c.AccessKeyID + "/" + scope +
		", SignedHeaders=" + signedHeaders + ", Signature=" + sig
	return out, nil
}

func hmacSHA256(key []byte, data string) []byte {
	h := hmac.New(sha256.New, key)
	h.Write([]byte(data))
	return h.Sum(nil)
}

// escapePath URI-encodes every byte of an (already escaped) path except
// unreserved characters and '/': non-S3 services sign the path escaped twice.
func escapePath(p string) string {
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' || c == '/' {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// canonicalQuery sorts parameters by name then value, each RFC 3986 encoded.
func canonicalQuery(raw string) (string, error) {
	if raw == "" {
		return "", nil
	}
	v, err := url.ParseQuery(raw)
	if err != nil {
		return "", err
	}
	for k := range v {
		sort.Strings(v[k])
	}
	return strings.ReplaceAll(v.Encode(), "+", "%20"), nil
}

// stripExcessSpaces collapses runs of spaces into one and trims spaces at
// the ends (spaces only, as AWS specifies; other whitespace is kept).
func stripExcessSpaces(s string) string {
	parts := strings.Split(s, " ")
	kept := parts[:0]
	for _, p := range parts {
		if p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, " ")
}

// GoString keeps %#v from printing the credentials.
func (c AWSCredentials) GoString() string { return c.String() }

// GoString keeps %#v from printing the credentials.
func (s SigV4) GoString() string { return s.String() }
