package vectorstores

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/backendauth"
	"github.com/llmgate/llmgate/translator"
)

// Timeout bounds one search (LiteLLM's httpx default is 600 s).
const Timeout = 30 * time.Second

// maxAnswer bounds a provider's answer read into memory.
const maxAnswer = 16 << 20

// Searcher searches the config's vector stores.
type Searcher struct {
	cfg *config.Config
	hc  *http.Client
	// Now is the signing clock (SigV4).
	Now func() time.Time
}

// New is the searcher of cfg's vector_store_registry.
func New(cfg *config.Config) *Searcher {
	return &Searcher{cfg: cfg, hc: &http.Client{Timeout: Timeout}, Now: time.Now}
}

// Registered says whether a registry entry has vector_store_id id.
func (s *Searcher) Registered(id string) bool {
	_, ok := s.cfg.VectorStoreByID(id)
	return ok
}

// Request is one search: the query (a string or a list of strings) and
// OpenAI's optional parameters (filters, max_num_results, ranking_options,
// rewrite_query).
type Request struct {
	Query  any
	Params map[string]any
}

// store is the registry entry of id, else OpenAI from the environment.
func (s *Searcher) store(id string) config.VectorStore {
	if v, ok := s.cfg.VectorStoreByID(id); ok {
		return v
	}
	v := s.cfg.OpenAIVectorStoreDefaults()
	v.ID = id
	return v
}

// Search searches store id and returns OpenAI's search page
// (vector_store.search_results.page). The registry entry's parameters win
// over the request's, as LiteLLM merges them.
func (s *Searcher) Search(ctx context.Context, id string, req Request) ([]byte, *translator.Error) {
	st := s.store(id)
	params := map[string]any{}
	for _, k := range config.VectorStoreSearchParams {
		if v, ok := req.Params[k]; ok && v != nil {
			params[k] = v
		}
		if v, ok := st.Search[k]; ok && v != nil {
			params[k] = v
		}
	}
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	switch st.Provider {
	case "bedrock":
		return s.bedrock(ctx, st, req.Query, params)
	default:
		return s.openai(ctx, st, req.Query, params)
	}
}

// openai is OpenAI's POST /vector_stores/{id}/search; the answer goes on
// as it came (LiteLLM's VectorStoreSearchResponse(**json)).
func (s *Searcher) openai(ctx context.Context, st config.VectorStore, query any, params map[string]any) ([]byte, *translator.Error) {
	base, q, _ := strings.Cut(st.APIBase, "?")
	u := strings.TrimRight(base, "/") + "/vector_stores/" + url.PathEscape(st.ID) + "/search"
	if q != "" {
		u += "?" + q
	}
	// LiteLLM's VectorStoreSearchRequest: every field, null when unset.
	body, err := json.Marshal(struct {
		Query          any `json:"query"`
		Filters        any `json:"filters"`
		MaxNumResults  any `json:"max_num_results"`
		RankingOptions any `json:"ranking_options"`
		RewriteQuery   any `json:"rewrite_query"`
	}{query, params["filters"], params["max_num_results"], params["ranking_options"], params["rewrite_query"]})
	if err != nil {
		return nil, translator.NewError(400, "invalid_request_error", err.Error(), "")
	}
	r, err := http.NewRequestWithContext(ctx, "POST", u, bytes.NewReader(body))
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "vector store: "+err.Error(), "")
	}
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("OpenAI-Beta", "assistants=v2")
	if st.APIKey != "" {
		r.Header.Set("Authorization", "Bearer "+st.APIKey)
	}
	b, e := s.do(r, "OpenAIException")
	if e != nil {
		return nil, e
	}
	if !json.Valid(b) {
		return nil, translator.NewError(500, "internal_server_error", "OpenAIException - the vector store's answer is not JSON", "")
	}
	return b, nil
}

// do sends r and reads a success's body; a failure is the provider's
// status with its message.
func (s *Searcher) do(r *http.Request, exc string) ([]byte, *translator.Error) {
	resp, err := s.hc.Do(r)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", exc+" - "+redactURL(err.Error(), r.URL), "")
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", exc+" - "+err.Error(), "")
	}
	if resp.StatusCode/100 != 2 {
		return nil, providerError(resp.StatusCode, b, exc)
	}
	return b, nil
}

// redactURL keeps an error's text free of the URL's query (a key may sit there).
func redactURL(msg string, u *url.URL) string {
	if u.RawQuery == "" {
		return msg
	}
	return strings.ReplaceAll(msg, "?"+u.RawQuery, "")
}

// providerError is a provider's failure as the client's error: its status,
// its message (OpenAI's error.message, AWS's message) and an OpenAI type.
func providerError(status int, b []byte, exc string) *translator.Error {
	var oe struct {
		Error struct {
			Message string `json:"message"`
			Type    string `json:"type"`
		} `json:"error"`
		Message  string `json:"message"`
		MessageU string `json:"Message"`
	}
	msg := strings.TrimSpace(string(b))
	typ := ""
	if json.Unmarshal(b, &oe) == nil {
		switch {
		case oe.Error.Message != "":
			msg, typ = oe.Error.Message, oe.Error.Type
		case oe.Message != "":
			msg = oe.Message
		case oe.MessageU != "":
			msg = oe.MessageU
		}
	}
	if len(msg) > 2000 {
		msg = msg[:2000]
	}
	if typ == "" {
		switch {
		case status == 401:
			typ = "authentication_error"
		case status == 403:
			typ = "permission_denied_error"
		case status == 404:
			typ = "not_found_error"
		case status == 429:
			typ = "rate_limit_error"
		case status >= 500:
			typ = "internal_server_error"
		default:
			typ = "invalid_request_error"
		}
	}
	return &translator.Error{Status: status, Type: typ, Message: exc + " - " + msg}
}

// bedrock is a knowledge base's Retrieve (bedrock-agent-runtime), signed
// with SigV4, its results turned into OpenAI's search page as LiteLLM's
// BedrockVectorStoreConfig turns them.
func (s *Searcher) bedrock(ctx context.Context, st config.VectorStore, query any, params map[string]any) ([]byte, *translator.Error) {
	text := queryText(query)
	reqBody := map[string]any{"retrievalQuery": map[string]any{"text": text}}
	vsc := map[string]any{}
	if n, ok := params["max_num_results"]; ok {
		vsc["numberOfResults"] = n
	}
	if f, ok := params["filters"]; ok {
		vsc["filter"] = bedrockFilter(f)
	}
	if len(vsc) > 0 {
		reqBody["retrievalConfiguration"] = map[string]any{"vectorSearchConfiguration": vsc}
	}
	body, err := json.Marshal(reqBody)
	if err != nil {
		return nil, translator.NewError(400, "invalid_request_error", err.Error(), "")
	}
	u, err := url.Parse(strings.TrimRight(st.APIBase, "/") + "/knowledgebases/" + url.PathEscape(st.ID) + "/retrieve")
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "vector store: bad api_base", "")
	}
	hdr, err := backendauth.Sign(backendauth.Request{
		Method: "POST", Host: u.Host, Path: u.EscapedPath(), Query: u.RawQuery,
		Headers: map[string]string{"content-type": "application/json", "host": u.Host}, Body: body, Time: s.Now(),
	}, backendauth.AWSCredentials{AccessKeyID: st.AWSAccessKeyID, SecretAccessKey: backendauth.Secret(st.AWSSecretAccessKey), SessionToken: backendauth.Secret(st.AWSSessionToken)},
		st.AWSRegion, "bedrock")
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "BedrockException - "+err.Error(), "")
	}
	r, err := http.NewRequestWithContext(ctx, "POST", u.String(), bytes.NewReader(body))
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", "vector store: "+err.Error(), "")
	}
	r.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		r.Header.Set(k, v)
	}
	b, e := s.do(r, "BedrockException")
	if e != nil {
		return nil, e
	}
	var kb struct {
		RetrievalResults []struct {
			Content *struct {
				Text *string `json:"text"`
			} `json:"content"`
			Metadata map[string]any `json:"metadata"`
			Score    any            `json:"score"`
		} `json:"retrievalResults"`
	}
	if err := json.Unmarshal(b, &kb); err != nil {
		return nil, translator.NewError(500, "internal_server_error", "BedrockException - "+err.Error(), "")
	}
	type content struct {
		Text string `json:"text"`
		Type string `json:"type"`
	}
	type result struct {
		Score      any            `json:"score"`
		Content    []content      `json:"content"`
		FileID     string         `json:"file_id"`
		Filename   string         `json:"filename"`
		Attributes map[string]any `json:"attributes"`
	}
	out := struct {
		Object      string   `json:"object"`
		SearchQuery string   `json:"search_query"`
		Data        []result `json:"data"`
	}{Object: "vector_store.search_results.page", SearchQuery: text, Data: []result{}}
	for _, it := range kb.RetrievalResults {
		if it.Content == nil || it.Content.Text == nil {
			continue
		}
		attrs := it.Metadata
		if attrs == nil {
			attrs = map[string]any{}
		}
		out.Data = append(out.Data, result{Score: it.Score, Content: []content{{*it.Content.Text, "text"}},
			FileID: kbFileID(it.Metadata), Filename: kbFilename(it.Metadata), Attributes: attrs})
	}
	ob, err := json.Marshal(out)
	if err != nil {
		return nil, translator.NewError(500, "internal_server_error", err.Error(), "")
	}
	return ob, nil
}

// queryText is a query as one text (a list joined by spaces, as LiteLLM's
// Bedrock transformation joins it).
func queryText(q any) string {
	switch v := q.(type) {
	case string:
		return v
	case []any:
		parts := make([]string, 0, len(v))
		for _, p := range v {
			parts = append(parts, fmt.Sprint(p))
		}
		return strings.Join(parts, " ")
	}
	return ""
}

func metaString(m map[string]any, k string) string {
	s, _ := m[k].(string)
	return s
}

// kbFileID: the source URI, else bedrock-kb-{chunk id}.
func kbFileID(m map[string]any) string {
	if u := metaString(m, "x-amz-bedrock-kb-source-uri"); u != "" {
		return u
	}
	c := metaString(m, "x-amz-bedrock-kb-chunk-id")
	if c == "" {
		c = "unknown"
	}
	return "bedrock-kb-" + c
}

// kbFilename: the source URI's last path segment (else its host), else
// bedrock-kb-document-{data source id}.
func kbFilename(m map[string]any) string {
	if src := metaString(m, "x-amz-bedrock-kb-source-uri"); src != "" {
		u, err := url.Parse(src)
		if err != nil {
			return src
		}
		name := u.Host
		if u.Path != "" && u.Path != "/" {
			name = u.Path[strings.LastIndexByte(u.Path, '/')+1:]
		}
		if name == "" || name == "/" {
			name = u.Host
		}
		return name
	}
	d := metaString(m, "x-amz-bedrock-kb-data-source-id")
	if d == "" {
		d = "unknown"
	}
	return "bedrock-kb-document-" + d
}

// awsOperators maps OpenAI's filter operators to a knowledge base's.
var awsOperators = map[string]string{"eq": "equals", "ne": "notEquals", "gt": "greaterThan", "gte": "greaterThanOrEquals",
	"lt": "lessThan", "lte": "lessThanOrEquals", "in": "in", "nin": "notIn"}

func awsOperator(op string) string {
	if a, ok := awsOperators[op]; ok {
		return a
	}
	return op
}

// bedrockFilter turns OpenAI's filters ({key, value, operator} or
// {and|or: […]}) into a knowledge base's ({operator: {key, value}},
// {andAll|orAll: […]}); anything else is taken as already AWS's.
func bedrockFilter(f any) any {
	m, ok := f.(map[string]any)
	if !ok {
		return f
	}
	one := func(x any) any {
		fm, _ := x.(map[string]any)
		op, _ := fm["operator"].(string)
		return map[string]any{awsOperator(op): map[string]any{"key": fm["key"], "value": fm["value"]}}
	}
	if _, ok := m["operator"]; ok {
		return one(m)
	}
	out := map[string]any{}
	for _, k := range []string{"and", "or"} {
		list, ok := m[k].([]any)
		if !ok {
			continue
		}
		if len(list) == 1 {
			return one(list[0]) // AWS wants two or more in andAll/orAll
		}
		all := make([]any, 0, len(list))
		for _, x := range list {
			all = append(all, one(x))
		}
		out[k+"All"] = all
	}
	if len(out) == 0 {
		return f
	}
	return out
}
