package fakegcs

import (
	"crypto"
	"crypto/md5"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"hash/crc32"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Email is the fake service account's client_email.
const Email = "logger@llmgate-test.iam.gserviceaccount.com"

// Object is one uploaded object.
type Object struct {
	Bucket, Name, ContentType string
	Body                      []byte
}

// Server is a running fake Cloud Storage (URL) with one bucket.
type Server struct {
	URL    string
	bucket string
	key    *rsa.PrivateKey

	mu      sync.Mutex
	tokens  map[string]bool
	objects []Object
	bad     []string
	fail    int // uploads still to answer 503
	gen     int64
}

// Start serves a fake Cloud Storage holding bucket until the test ends.
func Start(t testing.TB, bucket string) *Server {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{bucket: bucket, key: key, tokens: map[string]bool{}, gen: 1764460800000000}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// ServiceAccountJSON is the service account's JSON key, its token_uri this
// server's /token.
func (s *Server) ServiceAccountJSON() string {
	der := x509.MarshalPKCS1PrivateKey(s.key)
	pemKey := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: der})
	b, _ := json.Marshal(map[string]string{
		"type": "service_account", "project_id": "llmgate-test", "private_key_id": "k1", "private_key": string(pemKey),
		"client_email": Email, "client_id": "1", "token_uri": s.URL + "/token",
	})
	return string(b)
}

// FailUploads makes the next n uploads answer 503.
func (s *Server) FailUploads(n int) {
	s.mu.Lock()
	s.fail = n
	s.mu.Unlock()
}

// Objects returns the objects uploaded so far, oldest first, and the
// requests refused as malformed or unauthorised.
func (s *Server) Objects() (objs []Object, bad []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Object(nil), s.objects...), append([]string(nil), s.bad...)
}

// TokensIssued is how many access tokens the token endpoint issued.
func (s *Server) TokensIssued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.tokens)
}

func (s *Server) refuse(w http.ResponseWriter, status int, reason, msg string, r *http.Request) {
	s.mu.Lock()
	s.bad = append(s.bad, fmt.Sprintf("%s %s: %d %s", r.Method, r.URL.RequestURI(), status, msg))
	s.mu.Unlock()
	googleError(w, status, reason, msg)
}

// googleError writes Cloud Storage's JSON error answer.
func googleError(w http.ResponseWriter, status int, reason, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": map[string]any{"code": status, "message": msg,
		"errors": []map[string]string{{"message": msg, "domain": "global", "reason": reason}}}})
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, 64<<20))
	if err != nil {
		s.refuse(w, 400, "badRequest", "unreadable body", r)
		return
	}
	switch {
	case r.Method == http.MethodPost && r.URL.Path == "/token":
		s.token(w, r, body)
	case r.Method == http.MethodPost && strings.HasPrefix(r.URL.Path, "/upload/storage/v1/b/"):
		s.upload(w, r, body)
	case (r.Method == http.MethodGet || r.Method == http.MethodDelete) && strings.HasPrefix(r.URL.Path, "/storage/v1/b/"):
		s.object(w, r)
	default:
		s.refuse(w, 404, "notFound", "Not Found", r)
	}
}

// token answers a service account's JWT-bearer grant as Google's token
// endpoint does.
func (s *Server) token(w http.ResponseWriter, r *http.Request, body []byte) {
	form, _ := url.ParseQuery(string(body))
	fail := func(desc string) {
		s.mu.Lock()
		s.bad = append(s.bad, "token: "+desc)
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(400)
		_ = json.NewEncoder(w).Encode(map[string]string{"error": "invalid_grant", "error_description": desc})
	}
	if r.Header.Get("Content-Type") != "application/x-www-form-urlencoded" {
		fail("Content-Type " + r.Header.Get("Content-Type"))
		return
	}
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" {
		fail("Invalid grant_type: " + form.Get("grant_type"))
		return
	}
	parts := strings.Split(form.Get("assertion"), ".")
	if len(parts) != 3 {
		fail("Invalid JWT.")
		return
	}
	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	sum := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err != nil || rsa.VerifyPKCS1v15(&s.key.PublicKey, crypto.SHA256, sum[:], sig) != nil {
		fail("Invalid JWT Signature.")
		return
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var c struct {
		Iss   string `json:"iss"`
		Aud   string `json:"aud"`
		Scope string `json:"scope"`
		Exp   int64  `json:"exp"`
		Iat   int64  `json:"iat"`
	}
	h, _ := base64.RawURLEncoding.DecodeString(parts[0])
	claims, _ := base64.RawURLEncoding.DecodeString(parts[1])
	if json.Unmarshal(h, &hdr) != nil || json.Unmarshal(claims, &c) != nil || hdr.Alg != "RS256" {
		fail("Invalid JWT.")
		return
	}
	switch {
	case c.Iss != Email:
		fail("Invalid JWT: iss " + c.Iss)
	case c.Aud != s.URL+"/token":
		fail("Invalid JWT: aud " + c.Aud)
	case !strings.Contains(" "+c.Scope+" ", " https://www.googleapis.com/auth/cloud-platform ") &&
		!strings.Contains(" "+c.Scope+" ", " https://www.googleapis.com/auth/devstorage.read_write "):
		fail("Invalid JWT: scope " + c.Scope)
	case c.Exp <= c.Iat || c.Exp-c.Iat > 3600:
		fail("Invalid JWT: Token must be a short-lived token (60 minutes)")
	default:
		tok := "ya29.fake-" + strconv.FormatInt(time.Now().UnixNano(), 36)
		s.mu.Lock()
		s.tokens[tok] = true
		s.mu.Unlock()
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_ = json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "expires_in": 3599, "token_type": "Bearer"})
	}
}

// upload answers the JSON API's simple (media) upload with the object
// resource, as Cloud Storage does.
func (s *Server) upload(w http.ResponseWriter, r *http.Request, body []byte) {
	bucket := strings.TrimSuffix(strings.TrimPrefix(r.URL.Path, "/upload/storage/v1/b/"), "/o")
	q := r.URL.Query()
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	authorised := s.tokens[tok]
	fail := s.fail > 0
	if fail {
		s.fail--
	}
	s.mu.Unlock()
	switch {
	case !authorised:
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		s.refuse(w, 401, "required", "Anonymous caller does not have storage.objects.create access to the Google Cloud Storage object.", r)
	case !strings.HasSuffix(r.URL.Path, "/o") || strings.Contains(bucket, "/"):
		s.refuse(w, 404, "notFound", "Not Found", r)
	case bucket != s.bucket:
		s.refuse(w, 404, "notFound", "The specified bucket does not exist.", r)
	case q.Get("uploadType") != "media":
		s.refuse(w, 400, "invalid", "Upload requests must include an uploadType URL parameter and a URL-encoded object name.", r)
	case q.Get("name") == "" || strings.Contains(r.URL.RawQuery, "name=") && strings.Contains(strings.SplitN(r.URL.RawQuery, "name=", 2)[1], "/"):
		// The name is one query value: its "/" must be escaped (%2F).
		s.refuse(w, 400, "required", "Required", r)
	case r.ContentLength != int64(len(body)):
		s.refuse(w, 400, "badRequest", "Content-Length does not match the body", r)
	case fail:
		googleError(w, 503, "backendError", "Backend Error")
	default:
		name := q.Get("name")
		s.mu.Lock()
		s.gen++
		gen := s.gen
		replaced := false
		for i := range s.objects {
			if s.objects[i].Name == name {
				s.objects[i] = Object{Bucket: bucket, Name: name, ContentType: r.Header.Get("Content-Type"), Body: body}
				replaced = true
			}
		}
		if !replaced {
			s.objects = append(s.objects, Object{Bucket: bucket, Name: name, ContentType: r.Header.Get("Content-Type"), Body: body})
		}
		s.mu.Unlock()
		md := md5.Sum(body)
		crc := crc32.Checksum(body, crc32.MakeTable(crc32.Castagnoli))
		now := time.Now().UTC().Format("2006-01-02T15:04:05.000Z")
		g := strconv.FormatInt(gen, 10)
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.Header().Set("ETag", hex.EncodeToString(md[:]))
		_ = json.NewEncoder(w).Encode(map[string]any{
			"kind": "storage#object", "id": bucket + "/" + name + "/" + g,
			"selfLink":  s.URL + "/storage/v1/b/" + bucket + "/o/" + url.PathEscape(name),
			"mediaLink": s.URL + "/download/storage/v1/b/" + bucket + "/o/" + url.PathEscape(name) + "?generation=" + g + "&alt=media",
			"name":      name, "bucket": bucket, "generation": g, "metageneration": "1",
			"contentType": r.Header.Get("Content-Type"), "storageClass": "STANDARD", "size": strconv.Itoa(len(body)),
			"md5Hash": base64.StdEncoding.EncodeToString(md[:]),
			"crc32c":  base64.StdEncoding.EncodeToString([]byte{byte(crc >> 24), byte(crc >> 16), byte(crc >> 8), byte(crc)}),
			"etag":    "CJ" + g[:6] + "=", "timeCreated": now, "updated": now, "timeStorageClassUpdated": now,
		})
	}
}

// authorised checks the request's bearer token; false: answered 401.
func (s *Server) authorised(w http.ResponseWriter, r *http.Request, perm string) bool {
	tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	s.mu.Lock()
	ok := s.tokens[tok]
	s.mu.Unlock()
	if !ok {
		w.Header().Set("WWW-Authenticate", `Bearer realm="https://accounts.google.com/"`)
		s.refuse(w, 401, "required", "Anonymous caller does not have "+perm+" access to the Google Cloud Storage object.", r)
	}
	return ok
}

// object answers the JSON API's reads of the bucket: the bucket's metadata
// (GET /storage/v1/b/<bucket>), an object's media (GET …/o/<name>?alt=media,
// the name one escaped path segment), a listing (GET …/o?prefix=, pages of
// at most maxResults, default 1,000) and a delete (DELETE …/o/<name>: 204).
func (s *Server) object(w http.ResponseWriter, r *http.Request) {
	if !s.authorised(w, r, "storage.objects.get") {
		return
	}
	rest := strings.TrimPrefix(r.URL.EscapedPath(), "/storage/v1/b/")
	bucket, obj, hasObj := strings.Cut(rest, "/o")
	if bucket != s.bucket {
		s.refuse(w, 404, "notFound", "The specified bucket does not exist.", r)
		return
	}
	q := r.URL.Query()
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	switch {
	case !hasObj && r.Method == http.MethodGet:
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "storage#bucket", "id": bucket, "name": bucket})
	case obj == "" && r.Method == http.MethodGet:
		s.list(w, q)
	case strings.HasPrefix(obj, "/") && !strings.Contains(obj[1:], "/"):
		name, err := url.PathUnescape(obj[1:])
		if err != nil || name == "" {
			s.refuse(w, 400, "invalid", "Invalid object name", r)
			return
		}
		s.mu.Lock()
		idx := -1
		for i := range s.objects {
			if s.objects[i].Name == name {
				idx = i
			}
		}
		var o Object
		if idx >= 0 {
			o = s.objects[idx]
			if r.Method == http.MethodDelete {
				s.objects = append(s.objects[:idx], s.objects[idx+1:]...)
			}
		}
		s.mu.Unlock()
		switch {
		case idx < 0:
			googleError(w, 404, "notFound", "No such object: "+bucket+"/"+name)
		case r.Method == http.MethodDelete:
			w.WriteHeader(204)
		case q.Get("alt") == "media":
			w.Header().Set("Content-Type", o.ContentType)
			_, _ = w.Write(o.Body)
		default:
			_ = json.NewEncoder(w).Encode(map[string]any{"kind": "storage#object", "name": o.Name, "bucket": bucket,
				"size": strconv.Itoa(len(o.Body)), "contentType": o.ContentType})
		}
	default:
		s.refuse(w, 404, "notFound", "Not Found", r)
	}
}

// list answers objects.list: the names under prefix in lexical order, a
// page of maxResults with nextPageToken (the last name of the page).
func (s *Server) list(w http.ResponseWriter, q url.Values) {
	max := 1000
	if n, err := strconv.Atoi(q.Get("maxResults")); err == nil && n > 0 && n < max {
		max = n
	}
	s.mu.Lock()
	var names []string
	for _, o := range s.objects {
		if strings.HasPrefix(o.Name, q.Get("prefix")) && o.Name > q.Get("pageToken") {
			names = append(names, o.Name)
		}
	}
	s.mu.Unlock()
	sort.Strings(names)
	out := map[string]any{"kind": "storage#objects"}
	if len(names) > max {
		names = names[:max]
		out["nextPageToken"] = names[max-1]
	}
	items := make([]map[string]any, len(names))
	for i, n := range names {
		items[i] = map[string]any{"kind": "storage#object", "name": n, "bucket": s.bucket}
	}
	if len(items) > 0 {
		out["items"] = items
	}
	_ = json.NewEncoder(w).Encode(out)
}

// Get returns the object named name, or false.
func (s *Server) Get(name string) (Object, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, o := range s.objects {
		if o.Name == name {
			return o, true
		}
	}
	return Object{}, false
}

// Put stores an object as an upload would (a test's object the cache must
// not remove, say).
func (s *Server) Put(name string, body []byte) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.objects = append(s.objects, Object{Bucket: s.bucket, Name: name, ContentType: "application/octet-stream", Body: body})
}
