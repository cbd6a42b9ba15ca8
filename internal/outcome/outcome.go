package outcome

import (
	"time"
)

// Answer says whether a try's answer was the one sent to the client.
type Answer int

const (
	// AnswerUnknown: the source cannot tell (a try Envoy cut short may be
	// retried or may be the end of the request).
	AnswerUnknown Answer = iota
	// AnswerSent: this try's response (success or error) went to the client.
	AnswerSent
	// AnswerRetried: another try followed (a retry or a fallback).
	AnswerRetried
)

func (a Answer) String() string {
	switch a {
	case AnswerSent:
		return "sent"
	case AnswerRetried:
		return "retried"
	}
	return "unknown"
}

// Try is one upstream try: a call to one deployment on behalf of one client
// request. Fields the source does not know stay zero.
type Try struct {
	// CallID is the request's id (x-litellm-call-id); every try of one
	// client request carries the same one.
	CallID string
	// ModelGroup is the model_name group this try served (the fallback's
	// group after a fallback); RequestedModel is the name the client sent.
	ModelGroup     string
	RequestedModel string
	// DeploymentID is the model_list entry's id (model_info.id);
	// Model is the provider's model name (litellm_params.model without the
	// provider prefix); Provider is LiteLLM's provider name ("openai").
	DeploymentID string
	Model        string
	Provider     string
	// APIBase is the host (and port) of the deployment's api_base.
	APIBase string
	// Endpoint is the client's route kind: "chat", "completions", "embeddings";
	// Route the client's path without its query ("/v1/chat/completions").
	Endpoint string
	Route    string

	// KeyHash is the sha256 (hex) of the virtual key, KeyAlias its alias;
	// TeamID and UserID its owners; EndUser the request's "user" field.
	KeyHash  string
	KeyAlias string
	TeamID   string
	UserID   string
	EndUser  string

	// Status is the HTTP status of the provider's answer (0: none, e.g. a
	// timeout or reset). ErrorClass is LiteLLM's exception name for a
	// failure ("RateLimitError"), "" for a success.
	Status     int
	ErrorClass string
	Timeout    bool
	Stream     bool

	PromptTokens     int
	CompletionTokens int
	TotalTokens      int
	// Cost is the try's cost in USD, valid when CostKnown.
	Cost      float64
	CostKnown bool

	// Start is when the client request reached the gateway; Latency is this
	// try's upstream call (request sent to last byte); TimeToFirstToken the
	// first body byte of a stream; Overhead the gateway's own time before
	// the call.
	Start            time.Time
	End              time.Time // when the try ended
	Latency          time.Duration
	TimeToFirstToken time.Duration
	Overhead         time.Duration

	// Attempt is the try's index in the request (0: first try); Retry and
	// Fallback count the retries and fallbacks before it.
	Attempt  int
	Retry    int
	Fallback int
	// Answer says whether this try's answer went to the client.
	Answer Answer

	// RemainingRequests and RemainingTokens are the provider's
	// x-ratelimit-remaining-* headers, valid when HasRemaining*.
	RemainingRequests    int64
	RemainingTokens      int64
	HasRemainingRequests bool
	HasRemainingTokens   bool
	// Traceparent is the client's W3C traceparent header ("" without one):
	// the parent of the request's trace.
	Traceparent string
	// Tags are the request's own tags that LiteLLM merges before its key's
	// and team's (body metadata.tags, the x-litellm-tags header), LateTags
	// those merged after them (the body's tags, then the answering
	// deployment's litellm_params.tags); UserAgent the client's User-Agent
	// for the "User-Agent: …" tags ("" when off). The spend sink builds the
	// log's request_tags from them (D84).
	Tags      []string
	LateTags  []string
	UserAgent string
	// MetadataLabels are the request's own values of
	// custom_prometheus_metadata_labels (its body's metadata), as
	// "label=value", only those it has (D91).
	MetadataLabels []string
	// CooldownUntil is the deployment's cooldown deadline in force after
	// this try (zero: none).
	CooldownUntil time.Time

	// CacheHit marks a request answered from the response cache (D111):
	// no try, Cost 0 (CostKnown), the tokens the cached answer reports;
	// CacheKey is its cache key.
	CacheHit bool
	CacheKey string

	// Refused marks a request the gateway answered itself before any try
	// (a bad key, an unknown model, a key's limit or budget, a body too
	// large): no deployment, no tokens; Status and ErrorClass are the
	// gateway's answer, ErrorMessage its message. One such event per
	// refused request, with Answer AnswerSent.
	Refused      bool
	ErrorMessage string
}

// Failed reports whether the try failed (an error status, a timeout or an
// error class on a 2xx, such as a content filter or a stream error).
func (t *Try) Failed() bool {
	return t.Timeout || t.Status >= 400 || t.Status == 0 || t.ErrorClass != ""
}
