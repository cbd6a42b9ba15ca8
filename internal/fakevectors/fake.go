package fakevectors

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// Doc is one chunk of a store.
type Doc struct {
	FileID, Filename, Text string
}

// Options configures a Server.
type Options struct {
	// OpenAIKey is the only Bearer key OpenAI's routes accept.
	OpenAIKey string
	// OpenAIStores and KnowledgeBases are the stores by id.
	OpenAIStores   map[string][]Doc
	KnowledgeBases map[string][]Doc
	// AWS credentials and region knowledge-base requests must be signed
	// with (service "bedrock").
	AWSAccessKeyID, AWSSecretAccessKey, AWSRegion string
	// SearchProvider ("tavily" or "perplexity") is the provider whose
	// POST /search the fake speaks; SearchKey the only Bearer key it
	// accepts. Its results are Pages' entries holding a query's word.
	SearchProvider, SearchKey string
	Pages                     []Page
}

// Page is a web page a search may find.
type Page struct {
	Title, URL, Text, Date string
}

// Request is one recorded request.
type Request struct {
	Method, Path string
	Header       http.Header
	Body         map[string]any
}

// Server is the fake.
type Server struct {
	*httptest.Server
	opts Options
	mu   sync.Mutex
	reqs []Request
}

// StartT starts a Server closed at the test's end.
func StartT(t testing.TB, opts Options) *Server {
	s := &Server{opts: opts}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(s.Close)
	return s
}

// Requests are the requests so far; Reset forgets them.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.reqs...)
}

// Reset forgets the recorded requests.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.reqs = nil
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	raw, _ := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	var body map[string]any
	_ = json.Unmarshal(raw, &body)
	s.mu.Lock()
	s.reqs = append(s.reqs, Request{Method: r.Method, Path: r.URL.Path, Header: r.Header.Clone(), Body: body})
	s.mu.Unlock()
	w.Header().Set("Content-Type", "application/json")
	p := r.URL.EscapedPath()
	switch {
	case strings.HasPrefix(p, "/v1/vector_stores/") && strings.HasSuffix(p, "/search") && r.Method == "POST":
		id, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(p, "/v1/vector_stores/"), "/search"))
		s.openAISearch(w, r, id, body)
	case strings.HasPrefix(p, "/knowledgebases/") && strings.HasSuffix(p, "/retrieve") && r.Method == "POST":
		id, _ := url.PathUnescape(strings.TrimSuffix(strings.TrimPrefix(p, "/knowledgebases/"), "/retrieve"))
		s.retrieve(w, r, raw, id, body)
	case p == "/search" && r.Method == "POST":
		s.search(w, r, body)
	default:
		w.WriteHeader(404)
		_, _ = w.Write([]byte(`{"error":{"message":"Invalid URL (` + r.Method + ` ` + p + `)","type":"invalid_request_error","param":null,"code":null}}`))
	}
}

// match is the docs holding a word of the query (case-insensitive), at most n.
func match(docs []Doc, query string, n int) []Doc {
	var out []Doc
	words := strings.Fields(strings.ToLower(query))
	for _, d := range docs {
		lt := strings.ToLower(d.Text)
		for _, w := range words {
			if len(w) > 3 && strings.Contains(lt, strings.Trim(w, "?.,!")) {
				out = append(out, d)
				break
			}
		}
		if len(out) == n {
			break
		}
	}
	return out
}

func intOr(v any, def int) int {
	if f, ok := v.(float64); ok {
		return int(f)
	}
	return def
}

// openAISearch is OpenAI's POST /v1/vector_stores/{id}/search.
func (s *Server) openAISearch(w http.ResponseWriter, r *http.Request, id string, body map[string]any) {
	if r.Header.Get("Authorization") != "Bearer "+s.opts.OpenAIKey {
		w.WriteHeader(401)
		_, _ = w.Write([]byte(`{"error":{"message":"Incorrect API key provided. You can find your API key at https://platform.openai.com/account/api-keys.","type":"invalid_request_error","param":null,"code":"invalid_api_key"}}`))
		return
	}
	docs, ok := s.opts.OpenAIStores[id]
	if !ok {
		w.WriteHeader(404)
		fmt.Fprintf(w, `{"error":{"message":"No vector store found with id '%s'.","type":"invalid_request_error","param":null,"code":null}}`, id)
		return
	}
	q, _ := body["query"].(string)
	if l, ok := body["query"].([]any); ok {
		var parts []string
		for _, x := range l {
			parts = append(parts, fmt.Sprint(x))
		}
		q = strings.Join(parts, " ")
	}
	if q == "" {
		w.WriteHeader(400)
		_, _ = w.Write([]byte(`{"error":{"message":"Missing required parameter: 'query'.","type":"invalid_request_error","param":"query","code":"missing_required_parameter"}}`))
		return
	}
	type content struct {
		Type string `json:"type"`
		Text string `json:"text"`
	}
	type result struct {
		FileID     string         `json:"file_id"`
		Filename   string         `json:"filename"`
		Score      float64        `json:"score"`
		Attributes map[string]any `json:"attributes"`
		Content    []content      `json:"content"`
	}
	data := []result{}
	for i, d := range match(docs, q, intOr(body["max_num_results"], 10)) {
		data = append(data, result{FileID: d.FileID, Filename: d.Filename, Score: 0.9 - 0.1*float64(i), Attributes: map[string]any{"source": d.Filename}, Content: []content{{"text", d.Text}}})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"object": "vector_store.search_results.page", "search_query": []string{q}, "data": data, "has_more": false, "next_page": nil})
}

// retrieve is Bedrock Agent Runtime's Retrieve (a knowledge base search).
func (s *Server) retrieve(w http.ResponseWriter, r *http.Request, raw []byte, id string, body map[string]any) {
	creds := aws.Credentials{AccessKeyID: s.opts.AWSAccessKeyID, SecretAccessKey: s.opts.AWSSecretAccessKey}
	if err := fakeprovider.VerifySigV4(r, raw, creds, "bedrock", s.opts.AWSRegion, time.Now()); err != nil {
		exc, msg := fakeprovider.SigV4Exception(err)
		w.Header().Set("x-amzn-ErrorType", exc)
		w.WriteHeader(403)
		_ = json.NewEncoder(w).Encode(map[string]string{"message": msg})
		return
	}
	docs, ok := s.opts.KnowledgeBases[id]
	if !ok {
		w.Header().Set("x-amzn-ErrorType", "ResourceNotFoundException")
		w.WriteHeader(404)
		fmt.Fprintf(w, `{"message":"Knowledge base with id %s does not exist"}`, id)
		return
	}
	rq, _ := body["retrievalQuery"].(map[string]any)
	q, _ := rq["text"].(string)
	n := 5
	if rc, ok := body["retrievalConfiguration"].(map[string]any); ok {
		if vc, ok := rc["vectorSearchConfiguration"].(map[string]any); ok {
			n = intOr(vc["numberOfResults"], n)
		}
	}
	results := []map[string]any{}
	for i, d := range match(docs, q, n) {
		uri := "s3://kb-bucket/docs/" + d.Filename
		results = append(results, map[string]any{
			"content":  map[string]any{"text": d.Text, "type": "TEXT"},
			"location": map[string]any{"s3Location": map[string]any{"uri": uri}, "type": "S3"},
			"metadata": map[string]any{"x-amz-bedrock-kb-source-uri": uri, "x-amz-bedrock-kb-chunk-id": fmt.Sprintf("chunk-%d", i), "x-amz-bedrock-kb-data-source-id": "DS1"},
			"score":    0.8 - 0.1*float64(i),
		})
	}
	_ = json.NewEncoder(w).Encode(map[string]any{"retrievalResults": results})
}
