package xds

import (
	"fmt"
	"strconv"
	"strings"

	xdscorev3 "github.com/cncf/xds/go/xds/core/v3"
	xdsmatcherv3 "github.com/cncf/xds/go/xds/type/matcher/v3"
	mutationrulesv3 "github.com/envoyproxy/go-control-plane/envoy/config/common/mutation_rules/v3"
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	commonmatchingv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/common/matching/v3"
	compositev3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/composite/v3"
	credinjv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/credential_injector/v3"
	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/ext_proc/v3"
	headermutationv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/header_mutation/v3"
	luav3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
	genericv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/http/injected_credentials/generic/v3"
	networkinputsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/matching/common_inputs/network/v3"
	metadatamatcherv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/matching/input_matchers/metadata/v3"
	tlsv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/transport_sockets/tls/v3"
	envoymatcherv3 "github.com/envoyproxy/go-control-plane/envoy/type/matcher/v3"

	clusterv3 "github.com/envoyproxy/go-control-plane/envoy/config/cluster/v3"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/model"
	"github.com/llmgate/llmgate/internal/provider"
	"github.com/llmgate/llmgate/internal/upstream"
	"github.com/llmgate/llmgate/translator"
)

// The fast path (docs/architecture.md D45): a deployment whose requests need
// no per-try translation (OpenAI-compatible and Azure) gets a cluster whose
// upstream filters do per try what the attempt filter did, natively: no
// ext_proc stream on a successful try.
//
//	composite  ── request not tagged fast (llmgate.ctx "fast") → the full attempt filter, as before
//	           └─ fast, and the response status is 4xx/5xx   → the attempt filter, response only
//	lua               :path and :authority of this deployment (fast requests only)
//	header_mutation   removes internal and every other provider's key header, sets content-type
//	credential_injector  the provider key from an SDS secret (never in a cluster or route dump)
//	upstream_codec
//
// A per-cluster Lua filter sets :path and :authority on a fast try (after
// the composite, before header_mutation), and the listener's Lua filter (fastpath_lua.go) restamps the response and adds the
// x-litellm-* headers.

// FastPathMetadataKey is the bool field of the llmgate.ctx dynamic metadata
// that tags a request for the fast path; cluster metadata "llmgate" carries
// the same name (true) on fast-path clusters.
const FastPathMetadataKey = "fast"

// FastPath reports whether a deployment's cluster gets the fast path: an
// OpenAI-compatible or Azure deployment (no body translation), with a key
// that is a plain header (not an Entra ID token), no per-request model
// (wildcard), no api_base query (it may carry a key and would be part of
// the path) and no extra_headers (they may carry secrets and would show in
// a cluster dump).
func FastPath(d *model.Deployment) bool {
	if d == nil || d.Provider == "" || d.Wildcard || d.AnyProvider || d.Mock() || len(d.Config.Params.ExtraHeaders) > 0 {
		return false
	}
	if !d.Wire.PassThrough() || (d.Auth != provider.AuthBearer && d.Auth != provider.AuthAzureKey) || d.APIBase == "" {
		return false
	}
	if d.Provider == "azure" && d.Config != nil && d.Config.Params.AzureAuthKind() != config.AzureAPIKey {
		// An Entra ID token is renewed while it serves: the attempt filter
		// puts it on each try (extproc/azureauth.go).
		return false
	}
	if d.Config != nil && d.Config.Params.RewritesMessages() {
		// supports_system_message: false and the message params: the
		// attempt filter rewrites the body's messages (D103, D119).
		return false
	}
	b, err := upstream.Parse(d.APIBase)
	return err == nil && b.Query == ""
}

// keyHeaders are every header a provider key travels in; a fast-path cluster
// removes all but its own (a try's header changes persist into the next try).
var keyHeaders = []string{"authorization", "api-key", "x-api-key", "x-goog-api-key", "ocp-apim-subscription-key", "x-litellm-api-key"}

// fastPathKey is the credential a fast-path deployment sends: header, value
// prefix and the key ("" when none is sent).
func fastPathKey(d *config.Deployment) (header, prefix, key string) {
	p, _ := provider.Lookup(d.Provider)
	key = d.Params.APIKey
	if p.Auth == provider.AuthAzureKey {
		return "api-key", "", key
	}
	if key == "none" {
		key = ""
	}
	return "authorization", "Bearer ", key
}

// SecretName is the SDS secret that holds a fast-path deployment's key.
func SecretName(d *config.Deployment) string { return "llmgate_key_" + contract.ClusterName(d.ID) }

// FastPathSecret is the generic SDS secret of a fast-path deployment's key;
// nil when it sends none.
func FastPathSecret(d *config.Deployment) *tlsv3.Secret {
	if _, _, key := fastPathKey(d); key != "" {
		return &tlsv3.Secret{Name: SecretName(d), Type: &tlsv3.Secret_GenericSecret{GenericSecret: &tlsv3.GenericSecret{
			Secret: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: key}},
		}}}
	}
	return nil
}

// fastPathFilters are the upstream HTTP filters of a fast-path cluster,
// upstream_codec included.
func fastPathFilters(d *config.Deployment, o Options) ([]*hcmv3.HttpFilter, error) {
	full := AttemptFilter(d.ID, o)
	full.GrpcService.InitialMetadata = append(full.GrpcService.InitialMetadata, &corev3.HeaderValue{Key: contract.ProviderMetadataKey, Value: d.Provider})
	errOnly := ErrorAttemptFilter(d, o)
	composite, err := fastPathComposite(full, errOnly)
	if err != nil {
		return nil, err
	}
	header, _, key := fastPathKey(d)
	var mut []*mutationrulesv3.HeaderMutation
	for _, h := range append([]string{contract.GroupHeader, contract.FallbackHeader, "accept-encoding", "x-envoy-attempt-count", "x-envoy-expected-rq-timeout-ms"}, keyHeaders...) {
		if h == header && key != "" {
			continue // overwritten by the credential injector
		}
		mut = append(mut, &mutationrulesv3.HeaderMutation{Action: &mutationrulesv3.HeaderMutation_Remove{Remove: h}})
	}
	set := func(k, v string) {
		mut = append(mut, &mutationrulesv3.HeaderMutation{Action: &mutationrulesv3.HeaderMutation_Append{Append: &corev3.HeaderValueOption{
			Header: &corev3.HeaderValue{Key: k, Value: v}, AppendAction: corev3.HeaderValueOption_OVERWRITE_IF_EXISTS_OR_ADD,
		}}})
	}
	set("content-type", "application/json")
	if org := d.Params.Organization; org != "" && header == "authorization" {
		set("openai-organization", org)
	}
	hm, err := typedFilter("envoy.filters.http.header_mutation", &headermutationv3.HeaderMutation{Mutations: &headermutationv3.Mutations{RequestMutations: mut}})
	if err != nil {
		return nil, err
	}
	out := []*hcmv3.HttpFilter{composite}
	if o.fastPathLua {
		lua, err := fastPathPathLua(d)
		if err != nil {
			return nil, err
		}
		out = append(out, lua)
	}
	out = append(out, hm)
	if key != "" {
		cred, err := toAny(&genericv3.Generic{
			Credential: &tlsv3.SdsSecretConfig{Name: SecretName(d), SdsConfig: &corev3.ConfigSource{
				ResourceApiVersion:    corev3.ApiVersion_V3,
				ConfigSourceSpecifier: &corev3.ConfigSource_Ads{Ads: &corev3.AggregatedConfigSource{}},
			}},
			Header:            header,
			HeaderValuePrefix: prefix(d),
		})
		if err != nil {
			return nil, err
		}
		// overwrite: a previous try's key must not stay; a secret that has
		// not arrived yet sends the request without a key (the provider's
		// 401 goes through the attempt filter) instead of Envoy's text reply.
		ci, err := typedFilter("envoy.filters.http.credential_injector", &credinjv3.CredentialInjector{
			Overwrite:                     true,
			AllowRequestWithoutCredential: true,
			Credential:                    &corev3.TypedExtensionConfig{Name: "envoy.http.injected_credentials.generic", TypedConfig: cred},
		})
		if err != nil {
			return nil, err
		}
		out = append(out, ci)
	}
	return out, nil
}

func prefix(d *config.Deployment) string {
	_, p, _ := fastPathKey(d)
	return p
}

// ErrorAttemptFilter is the attempt filter of a fast-path try that answered
// 4xx or 5xx: its stream starts with the response headers and reads the
// buffered error body (retry decision D3, fallback redirect D11, error
// mapping D17, cooldown report). The try index comes as the attribute
// upstream.request_attempt_count.
func ErrorAttemptFilter(d *config.Deployment, o Options) *extprocv3.ExternalProcessor {
	f := AttemptFilter(d.ID, o)
	f.GrpcService.InitialMetadata = append(f.GrpcService.InitialMetadata, &corev3.HeaderValue{Key: contract.ProviderMetadataKey, Value: d.Provider})
	f.ProcessingMode = &extprocv3.ProcessingMode{
		RequestHeaderMode:   extprocv3.ProcessingMode_SKIP,
		RequestBodyMode:     extprocv3.ProcessingMode_NONE,
		RequestTrailerMode:  extprocv3.ProcessingMode_SKIP,
		ResponseHeaderMode:  extprocv3.ProcessingMode_SEND,
		ResponseBodyMode:    extprocv3.ProcessingMode_BUFFERED,
		ResponseTrailerMode: extprocv3.ProcessingMode_SKIP,
	}
	f.ResponseAttributes = []string{"upstream.request_attempt_count"}
	return f
}

// fastPathComposite picks the attempt filter per try: the full one when the
// request is not tagged fast (llmgate.ctx "fast"), the response-only one on a
// 4xx/5xx of a fast request, none otherwise.
func fastPathComposite(full, errOnly *extprocv3.ExternalProcessor) (*hcmv3.HttpFilter, error) {
	action := func(name string, f *extprocv3.ExternalProcessor) (*xdsmatcherv3.Matcher_OnMatch, error) {
		fa, err := toAny(f)
		if err != nil {
			return nil, err
		}
		ea, err := toAny(&compositev3.ExecuteFilterAction{TypedConfig: &corev3.TypedExtensionConfig{Name: "envoy.filters.http.ext_proc", TypedConfig: fa}})
		if err != nil {
			return nil, err
		}
		return &xdsmatcherv3.Matcher_OnMatch{OnMatch: &xdsmatcherv3.Matcher_OnMatch_Action{Action: &xdscorev3.TypedExtensionConfig{Name: name, TypedConfig: ea}}}, nil
	}
	fullAction, err := action("full_attempt", full)
	if err != nil {
		return nil, err
	}
	errAction, err := action("error_attempt", errOnly)
	if err != nil {
		return nil, err
	}
	// llmgate.ctx "fast" is not true: a metadata lookup (D70; a CEL
	// expression before, which built an activation per try).
	tagIn, err := toAny(&networkinputsv3.DynamicMetadataInput{Filter: contract.ContextMetadataNamespace,
		Path: []*networkinputsv3.DynamicMetadataInput_PathSegment{{Segment: &networkinputsv3.DynamicMetadataInput_PathSegment_Key{Key: FastPathMetadataKey}}}})
	if err != nil {
		return nil, err
	}
	notFast, err := toAny(&metadatamatcherv3.Metadata{Value: &envoymatcherv3.ValueMatcher{MatchPattern: &envoymatcherv3.ValueMatcher_BoolMatch{BoolMatch: true}}, Invert: true})
	if err != nil {
		return nil, err
	}
	statusIn, err := toAny(&envoymatcherv3.HttpResponseStatusCodeMatchInput{})
	if err != nil {
		return nil, err
	}
	m := &xdsmatcherv3.Matcher{MatcherType: &xdsmatcherv3.Matcher_MatcherList_{MatcherList: &xdsmatcherv3.Matcher_MatcherList{
		Matchers: []*xdsmatcherv3.Matcher_MatcherList_FieldMatcher{
			{
				Predicate: &xdsmatcherv3.Matcher_MatcherList_Predicate{MatchType: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate_{SinglePredicate: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate{
					Input:   &xdscorev3.TypedExtensionConfig{Name: "fast_tag", TypedConfig: tagIn},
					Matcher: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate_CustomMatch{CustomMatch: &xdscorev3.TypedExtensionConfig{Name: "not_fast", TypedConfig: notFast}},
				}}},
				OnMatch: fullAction,
			},
			{
				Predicate: &xdsmatcherv3.Matcher_MatcherList_Predicate{MatchType: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate_{SinglePredicate: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate{
					Input: &xdscorev3.TypedExtensionConfig{Name: "status", TypedConfig: statusIn},
					Matcher: &xdsmatcherv3.Matcher_MatcherList_Predicate_SinglePredicate_ValueMatch{ValueMatch: &xdsmatcherv3.StringMatcher{
						MatchPattern: &xdsmatcherv3.StringMatcher_SafeRegex{SafeRegex: &xdsmatcherv3.RegexMatcher{
							EngineType: &xdsmatcherv3.RegexMatcher_GoogleRe2{GoogleRe2: &xdsmatcherv3.RegexMatcher_GoogleRE2{}},
							Regex:      "^[45][0-9][0-9]$",
						}},
					}},
				}}},
				OnMatch: errAction,
			},
		},
	}}}
	comp, err := toAny(&compositev3.Composite{})
	if err != nil {
		return nil, err
	}
	return typedFilter("llmgate.attempt", &commonmatchingv3.ExtensionWithMatcher{
		XdsMatcher:      m,
		ExtensionConfig: &corev3.TypedExtensionConfig{Name: "composite", TypedConfig: comp},
	})
}

// FastPathLuaMax bounds the fast-path clusters that get the per-try path Lua
// filter: Envoy keeps one Lua VM per filter config and worker, about 175 KB
// of RSS and 1.25 ms of CPU per cluster on a push (measured at 1,000
// deployments). Above it a fast request is one whose plan has a single
// attempt: the request filter sets its path and host (D45).
const FastPathLuaMax = 256

// FastPathClusterLua reports whether the config's fast-path clusters get the
// per-try path Lua filter (at most FastPathLuaMax of them).
func FastPathClusterLua(m *model.Model) bool {
	n := 0
	for _, d := range m.Deployments {
		if FastPath(d) {
			n++
		}
	}
	return n <= FastPathLuaMax
}

// markFastPath tags a fast-path cluster (metadata llmgate.fast_path).
func markFastPath(c *clusterv3.Cluster) {
	c.Metadata.FilterMetadata["llmgate"].Fields["fast_path"] = structpb.NewBoolValue(true)
}

// EndpointName names an endpoint in llmgate.fast "ep" for the fast path's
// per-cluster Lua filter.
func EndpointName(ep translator.Endpoint) string {
	switch ep {
	case translator.Completions:
		return "completions"
	case translator.Embeddings:
		return "embeddings"
	}
	return "chat"
}

// fastPathPathLua sets, on a fast request only, the try's :path (by
// endpoint, llmgate.fast "ep") and :authority: header_mutation may not touch
// them, and a route's path rewrite is evaluated once per request, not per try.
// On the way back it holds a success's headers until its whole body arrived
// (the listener's Lua filter reads it; a stream passes, llmgate.fast "st"): a connection that drops mid-body is
// then a reset the router retries (D6), not a broken answer to the client.
func fastPathPathLua(d *config.Deployment) (*hcmv3.HttpFilter, error) {
	base, err := upstream.For(d)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("local P = {")
	for _, ep := range []translator.Endpoint{translator.Chat, translator.Completions, translator.Embeddings} {
		p := translator.PassThroughPath(ep, translator.Target{Provider: d.Provider, Model: d.Model, APIBase: upstream.WithoutQuery(upstream.APIBase(d)), APIVersion: d.Params.APIVersion})
		fmt.Fprintf(&b, "[%s] = %s, ", strconv.Quote(EndpointName(ep)), strconv.Quote(p))
	}
	fmt.Fprintf(&b, "}\nlocal A = %s\n", strconv.Quote(base.Authority()))
	b.WriteString(`function envoy_on_request(h)
  local m = h:streamInfo():dynamicMetadata():get("` + contract.FastMetadataNamespace + `")
  if m == nil then return end
  local hd = h:headers()
  hd:replace(":path", P[m["ep"]] or P["chat"])
  hd:replace(":authority", A)
end

function envoy_on_response(h)
  local m = h:streamInfo():dynamicMetadata():get("` + contract.FastMetadataNamespace + `")
  if m == nil or m["st"] == true then return end
  local hd = h:headers()
  local s = tonumber(hd:get(":status") or "0") or 0
  if s < 200 or s >= 400 or (tonumber(hd:get("content-length") or "0") or 0) > 4194304 then return end
  h:body()
end
`)
	return typedFilter("envoy.filters.http.lua", &luav3.Lua{
		DefaultSourceCode: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: b.String()}},
	})
}
