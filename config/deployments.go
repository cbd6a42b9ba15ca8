package config

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"maps"
	"math"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// Environments are the values LITELLM_ENVIRONMENT and
// model_info.supported_environments may take.
var Environments = []string{"development", "staging", "production"}

var knownModes = []string{
	"chat", "completion", "embedding", "image_generation", "image_edit", "audio_transcription",
	"audio_speech", "moderation", "rerank", "responses", "batch", "realtime", "video_generation", "ocr", "search",
}

// parsedDeployment carries what id assignment needs besides the Deployment.
type parsedDeployment struct {
	d       Deployment
	idParts []string   // the non-secret fields the generated id hashes, as written
	node    *yaml.Node // the model_list entry
	idNode  *yaml.Node // model_info.id, when written
	index   int        // position in model_list
}

func (p *parser) modelList(cfg *Config, n *yaml.Node) {
	items, ok := p.sequence(n, "model_list")
	if !ok {
		return
	}
	if len(items) == 0 {
		p.warnAt(deref(n), "model_list", "is empty: no model is served")
	}
	// Sized up front: a Deployment is large, and growing these slices
	// copied them over and over (16 % of a 10,000-deployment parse, D62).
	all := make([]parsedDeployment, 0, len(items))
	for i, it := range items {
		all = append(all, p.deployment(i, it)...)
	}
	assignIDs(all)

	// Ids must be unique across every deployment, served or not.
	byID := make(map[string]*parsedDeployment, len(all))
	for i := range all {
		pd := &all[i]
		if first, dup := byID[pd.d.ID]; dup {
			at := pd.idNode
			if at == nil {
				at = pd.node
			}
			p.errAt(at, fmt.Sprintf("model_list[%d].model_info.id", pd.index),
				"deployment id %q is already used by the deployment at line %d (model_name %q)", pd.d.ID, first.d.Pos.Line, first.d.ModelName)
			continue
		}
		byID[pd.d.ID] = pd
	}

	env, _ := p.lookup(EnvEnvironment)
	env = strings.TrimSpace(env)
	if env != "" && !slices.Contains(Environments, env) {
		p.add(SeverityError, 0, 0, EnvEnvironment, "is %q; must be one of %s", env, strings.Join(Environments, ", "))
		env = ""
	}
	cfg.Models = make([]Deployment, 0, len(all))
	for _, pd := range all {
		if env != "" && len(pd.d.Info.SupportedEnvironments) > 0 && !slices.Contains(pd.d.Info.SupportedEnvironments, env) {
			cfg.Skipped = append(cfg.Skipped, pd.d)
			continue
		}
		cfg.Models = append(cfg.Models, pd.d)
	}
}

// deployment parses one model_list entry. An entry whose organization is a
// list becomes one deployment per organization, as in LiteLLM.
func (p *parser) deployment(i int, n *yaml.Node) []parsedDeployment {
	path := fmt.Sprintf("model_list[%d]", i)
	es, ok := p.mapping(n, path)
	if !ok {
		return nil
	}
	node := deref(n)
	d := Deployment{Pos: posOf(p.file, node)}
	var paramsNode, infoNode *yaml.Node
	var limits []entry // rpm/tpm written next to litellm_params
	hasName := false
	for _, e := range es {
		if _, ok := p.checkKey(SectionModel, path, e); !ok {
			continue
		}
		switch e.Key {
		case "model_name":
			if s, ok := p.str(e.Value, joinKey(path, e.Key)); ok && s != "" {
				d.ModelName, hasName = s, true
			} else if ok || isNull(e.Value) {
				p.errAt(e.Value, joinKey(path, e.Key), "must not be empty")
				hasName = true
			} else {
				hasName = true
			}
		case "litellm_params":
			if isNull(e.Value) {
				p.errAt(e.KeyNode, joinKey(path, e.Key), "is empty; it needs at least model (provider/model-id)")
				return nil
			}
			paramsNode = e.Value
		case "model_info":
			infoNode = e.Value
		case "rpm", "tpm", "itpm", "otpm":
			limits = append(limits, e)
		}
	}
	if !hasName {
		p.errAt(node, joinKey(path, "model_name"), "is required")
	}
	d.Wildcard = strings.Contains(d.ModelName, "*")
	if paramsNode == nil {
		p.errAt(node, joinKey(path, "litellm_params"), "is required")
		return nil
	}
	idNode, hcNode := p.modelInfo(&d, infoNode, joinKey(path, "model_info"))
	orgs, modelNode, cpNode := p.litellmParams(&d, paramsNode, joinKey(path, "litellm_params"))
	if modelNode == nil {
		return nil
	}
	p.entryLimits(&d, limits, path)
	if d.Params.ITPM == 0 {
		d.Params.ITPM = d.Info.ITPM
	}
	if d.Params.OTPM == 0 {
		d.Params.OTPM = d.Info.OTPM
	}
	p.provider(&d, modelNode, cpNode, joinKey(path, "litellm_params"))
	p.healthCheckModel(&d, hcNode, joinKey(path, "model_info.health_check_model"))

	if len(orgs) == 0 {
		orgs = []string{d.Params.Organization}
	}
	out := make([]parsedDeployment, 0, len(orgs))
	for _, org := range orgs {
		c := d
		c.Params.Organization = org
		c.Params.ExtraHeaders = maps.Clone(d.Params.ExtraHeaders)
		c.Params.Defaults = maps.Clone(d.Params.Defaults)
		c.Params.AdditionalDropParams = slices.Clone(d.Params.AdditionalDropParams)
		c.Info.Metadata = maps.Clone(d.Info.Metadata)
		c.Info.Extra = maps.Clone(d.Info.Extra)
		// The id hashes the fields as written, before provider env defaults fill them,
		// and the api_base without its query: query parameters may carry a key
		// (D9: rotating a key keeps the id and the cluster name).
		base, _, _ := strings.Cut(c.Params.APIBase, "?")
		parts := []string{c.ModelName, c.Params.Model, base, c.Params.APIVersion,
			c.Params.AWSRegionName, c.Params.VertexProject, c.Params.VertexLocation, c.Params.Organization}
		p.fillFromEnv(&c, modelNode, joinKey(path, "litellm_params.model"))
		out = append(out, parsedDeployment{d: c, idParts: parts, node: node, idNode: idNode, index: i})
	}
	return out
}

// entryLimits reads rpm, tpm, itpm and otpm written at the top of a model_list entry.
// LiteLLM's router reads a deployment's limits there first, then in
// litellm_params, so they land in the same Params fields (the one place every
// reader looks) and win over litellm_params; a different value in both
// places draws a warning.
func (p *parser) entryLimits(d *Deployment, limits []entry, path string) {
	for _, e := range limits {
		key := joinKey(path, e.Key)
		v, ok := p.nonNegInt(e.Value, key)
		if !ok {
			continue
		}
		field := &d.Params.RPM
		switch e.Key {
		case "tpm":
			field = &d.Params.TPM
		case "itpm":
			field = &d.Params.ITPM
		case "otpm":
			field = &d.Params.OTPM
		}
		if *field != 0 && *field != v {
			p.warnAt(e.KeyNode, key, "is %d here and %d in litellm_params; %d is used (LiteLLM reads this one first)", v, *field, v)
		}
		*field = v
	}
}

// litellmParams parses litellm_params. It returns the organizations when
// organization is a list, the model node (nil when model is missing) and the
// custom_llm_provider node.
func (p *parser) litellmParams(d *Deployment, n *yaml.Node, path string) (orgs []string, modelNode, cpNode *yaml.Node) {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil, nil, nil
	}
	es = p.withCredential(es, path)
	lp := &d.Params
	var inCost, outCost, inSec, outSec *float64
	var requestTimeout time.Duration
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		switch e.Key {
		case "model":
			if s, ok := p.str(v, key); ok && s != "" {
				lp.Model, modelNode = s, deref(v)
			}
		case "api_key":
			lp.APIKey, _ = p.str(v, key)
		case "api_base":
			lp.APIBase, _ = p.str(v, key)
			lp.APIBase = strings.TrimSpace(lp.APIBase)
			if hasUserinfo(lp.APIBase) {
				p.errAt(v, key, "must not carry credentials (user:password@host): put the key in api_key, or a header in extra_headers")
			}
		case "api_version":
			lp.APIVersion, _ = p.str(v, key)
		case "organization":
			if dv := deref(v); dv != nil && dv.Kind == yaml.SequenceNode {
				orgs, _ = p.strList(v, key)
				if len(orgs) == 0 {
					p.errAt(v, key, "must not be an empty list")
				}
			} else {
				lp.Organization, _ = p.str(v, key)
			}
		case "rpm":
			lp.RPM, _ = p.nonNegInt(v, key)
		case "tpm":
			lp.TPM, _ = p.nonNegInt(v, key)
		case "itpm":
			lp.ITPM, _ = p.nonNegInt(v, key)
		case "otpm":
			lp.OTPM, _ = p.nonNegInt(v, key)
		case "rpd":
			lp.RPD, _ = p.nonNegInt(v, key)
		case "tpd":
			lp.TPD, _ = p.nonNegInt(v, key)
		case "daily_reset_time":
			if s, ok := p.str(v, key); ok {
				if off, err := parseDailyReset(s); err != nil {
					p.errAt(v, key, "%v", err)
				} else {
					lp.DailyReset = off
				}
			}
		case "use_in_pass_through":
			lp.UseInPassThrough, _ = p.bool(v, key)
		case "weight":
			if f, ok := p.float(v, key); ok {
				if f < 0 {
					p.errAt(v, key, "must not be negative, got %v", f)
				} else {
					lp.Weight = f
				}
			}
		case "timeout":
			lp.Timeout, _ = p.seconds(v, key)
		case "base_model":
			// LiteLLM's cost lookup reads model_info.base_model, then this.
			if s, ok := p.str(v, key); ok && d.Info.BaseModel == "" {
				d.Info.BaseModel = s
			}
		case "request_timeout":
			requestTimeout, _ = p.seconds(v, key)
		case "force_timeout":
			// LiteLLM's legacy parameter, which it no longer reads (the
			// reference says so).
		case "stream_timeout":
			lp.StreamTimeout, _ = p.seconds(v, key)
		case "max_retries", "num_retries":
			if x, ok := p.nonNegInt(v, key); ok {
				r := int(min(x, maxDeploymentRetries))
				if x > maxDeploymentRetries {
					p.warnAt(v, key, "is %d; llmgate plans at most %d retries", x, maxDeploymentRetries)
				}
				if e.Key == "num_retries" {
					lp.NumRetries = &r
				} else {
					lp.MaxRetries = &r
				}
			}
		case "extra_headers", "headers":
			if h, ok := p.strMap(v, key); ok && len(h) > 0 {
				if lp.ExtraHeaders == nil {
					lp.ExtraHeaders = map[string]string{}
				}
				maps.Copy(lp.ExtraHeaders, h)
			}
		case "aws_access_key_id":
			lp.AWSAccessKeyID, _ = p.str(v, key)
		case "aws_secret_access_key":
			lp.AWSSecretAccessKey, _ = p.str(v, key)
		case "aws_session_token":
			lp.AWSSessionToken, _ = p.str(v, key)
		case "aws_region_name":
			lp.AWSRegionName, _ = p.str(v, key)
		case "azure_ad_token":
			lp.AzureADToken, _ = p.str(v, key)
		case "tenant_id":
			lp.TenantID, _ = p.str(v, key)
		case "client_id":
			lp.ClientID, _ = p.str(v, key)
		case "client_secret":
			lp.ClientSecret, _ = p.str(v, key)
		case "azure_username":
			lp.AzureUsername, _ = p.str(v, key)
		case "azure_password":
			lp.AzurePassword, _ = p.str(v, key)
		case "azure_scope":
			lp.AzureScope, _ = p.str(v, key)
		case "aws_role_name":
			lp.AWSRoleName, _ = p.str(v, key)
		case "aws_session_name":
			lp.AWSSessionName, _ = p.str(v, key)
		case "aws_web_identity_token":
			lp.AWSWebIdentityToken, _ = p.str(v, key)
		case "aws_sts_endpoint":
			lp.AWSSTSEndpoint, _ = p.str(v, key)
		case "aws_profile_name":
			lp.AWSProfileName, _ = p.str(v, key)
		case "aws_external_id":
			lp.AWSExternalID, _ = p.str(v, key)
		case "aws_bedrock_runtime_endpoint":
			lp.AWSBedrockRuntimeEndpoint, _ = p.str(v, key)
			lp.AWSBedrockRuntimeEndpoint = strings.TrimSpace(lp.AWSBedrockRuntimeEndpoint)
		case "vertex_project":
			lp.VertexProject, _ = p.str(v, key)
		case "vertex_location":
			lp.VertexLocation, _ = p.str(v, key)
		case "vertex_credentials":
			lp.VertexCredentials, _ = p.jsonText(v, key)
		case "mock_delay":
			lp.MockDelay, _ = p.seconds(v, key)
		case "mock_timeout":
			lp.MockTimeout, _ = p.bool(v, key)
		case "mock_response":
			if s, ok := p.str(v, key); ok {
				lp.MockResponse = &s
			}
		case "drop_params":
			if b, ok := p.bool(v, key); ok {
				lp.DropParams = &b
			}
		case "additional_drop_params":
			lp.AdditionalDropParams, _ = p.strList(v, key)
		case "supports_system_message":
			if b, ok := p.bool(v, key); ok {
				lp.NoSystemMessage = !b
			}
		case "ensure_alternating_roles", "user_continue_message", "assistant_continue_message", "cache_control_injection_points":
			p.messageParam(lp, e.Key, v, key)
		case "allowed_openai_params":
			lp.AllowedOpenAIParams, _ = p.strList(v, key)
		case "configurable_clientside_auth_params":
			lp.ClientsideAuthParams = p.clientsideAuthParams(v, key) // clientside.go
		case "merge_reasoning_content_in_choices":
			lp.MergeReasoning, _ = p.bool(v, key)
		case "use_chat_completions_api":
			lp.UseChatCompletionsAPI, _ = p.bool(v, key)
		case "realtime_protocol":
			lp.RealtimeProtocol, _ = p.str(v, key)
		case "tags":
			lp.Tags, _ = p.strList(v, key)
		case "region_name":
			lp.RegionName, _ = p.str(v, key)
		case "tag_regex":
			if l, ok := p.strList(v, key); ok {
				for _, re := range l {
					if _, err := regexp.Compile(re); err != nil {
						p.warnAt(v, key, "pattern %q is not a regular expression llmgate reads (%v); skipped, as LiteLLM skips an invalid one", re, err)
						continue
					}
					lp.TagRegex = append(lp.TagRegex, re)
				}
			}
		case "max_budget":
			if f, ok := p.float(v, key); ok {
				lp.MaxBudget = p.money(v, key, f)
			}
		case "guardrails":
			if d := deref(v); d != nil && d.Kind == yaml.ScalarNode {
				if g, ok := p.str(v, key); ok && g != "" {
					lp.Guardrails = []string{g}
				}
			} else {
				lp.Guardrails, _ = p.strList(v, key)
			}
		case "max_file_size_mb":
			if f, ok := p.float(v, key); ok {
				if f <= 0 || f > 1<<20 {
					p.errAt(v, key, "must be a number of MB above 0")
				} else {
					lp.MaxFileSizeMB = f
				}
			}
		case "budget_duration":
			if d, ok := p.duration(v, key); ok {
				lp.BudgetDuration = durationOf(d)
			}
		case "order":
			if x, ok := p.int(v, key); ok {
				if x < math.MinInt32 || x > math.MaxInt32 {
					p.errAt(v, key, "is out of range, got %d", x)
				} else {
					o := int(x)
					lp.Order = &o
				}
			}
		case "max_parallel_requests":
			if x, ok := p.nonNegInt(v, key); ok {
				lp.MaxParallelRequests = int(x)
			}
		case "default_api_key_rpm_limit":
			if x, ok := p.nonNegInt(v, key); ok {
				lp.DefaultKeyRPMLimit = x
			}
		case "default_api_key_tpm_limit":
			if x, ok := p.nonNegInt(v, key); ok {
				lp.DefaultKeyTPMLimit = x
			}
		case "cooldown_time":
			if t, ok := p.seconds(v, key); ok {
				lp.CooldownTime = &t
			}
		case "custom_llm_provider":
			if s, ok := p.str(v, key); ok {
				lp.CustomLLMProvider = s
				cpNode = deref(v)
			}
		case "input_cost_per_token":
			if f, ok := p.cost(v, key); ok {
				inCost = &f
			}
		case "output_cost_per_token":
			if f, ok := p.cost(v, key); ok {
				outCost = &f
			}
		case "input_cost_per_second":
			if f, ok := p.cost(v, key); ok {
				inSec = &f
			}
		case "output_cost_per_second":
			if f, ok := p.cost(v, key); ok {
				outSec = &f
			}
		default:
			k, known := lookupKey(SectionParams, e.Key)
			switch {
			case known && k.Note == requestDefault:
				p.setDefault(lp, e.Key, p.anyValue(v, key))
			case known:
				p.statusWarning(k, key, e.KeyNode)
			default:
				if s, close := suggest(e.Key, sectionKeys(SectionParams)); close {
					p.errAt(e.KeyNode, key, "unknown key %q in litellm_params; did you mean %q?", e.Key, s)
					continue
				}
				p.warnAt(e.KeyNode, key, "not a known LiteLLM parameter; sent to the provider as a request default")
				p.setDefault(lp, e.Key, p.anyValue(v, key))
			}
		}
	}
	if modelNode == nil {
		p.errAt(deref(n), joinKey(path, "model"), "is required (provider/model-id, e.g. openai/gpt-4o)")
	}
	if lp.Timeout == 0 {
		// LiteLLM's ladder: timeout, then request_timeout (router.py
		// _get_timeout); 0 counts as not set there too.
		lp.Timeout = requestTimeout
	}
	if inCost != nil && d.Info.InputCostPerToken == nil {
		d.Info.InputCostPerToken = inCost
	}
	if outCost != nil && d.Info.OutputCostPerToken == nil {
		d.Info.OutputCostPerToken = outCost
	}
	if inSec != nil && d.Info.InputCostPerSecond == nil {
		d.Info.InputCostPerSecond = inSec
	}
	if outSec != nil && d.Info.OutputCostPerSecond == nil {
		d.Info.OutputCostPerSecond = outSec
	}
	return orgs, modelNode, cpNode
}

// DefaultAzureScope is the scope an Entra ID token is asked for when
// azure_scope and AZURE_SCOPE are not set (LiteLLM's).
const DefaultAzureScope = "https://cognitiveservices.azure.com/.default"

// DefaultAzureAuthorityHost is Entra ID's public token host (the Azure SDK's
// default when AZURE_AUTHORITY_HOST is not set).
const DefaultAzureAuthorityHost = "https://login.microsoftonline.com"

// maxDeploymentRetries bounds a deployment's num_retries/max_retries: each
// retry is one more attempt in the plan Envoy runs.
const maxDeploymentRetries = 100

func (p *parser) setDefault(lp *LiteLLMParams, key string, v any) {
	if lp.Defaults == nil {
		lp.Defaults = map[string]any{}
	}
	lp.Defaults[key] = v
}

func (p *parser) cost(n *yaml.Node, key string) (float64, bool) {
	f, ok := p.float(n, key)
	if ok && f < 0 {
		p.errAt(n, key, "must not be negative, got %v", f)
		return 0, false
	}
	return f, ok
}

// provider sets Provider and Model from litellm_params.model (or
// custom_llm_provider). A model that starts with '*' names no provider: the
// provider is decided per request from the model the '*' stands for, so
// Provider stays empty.
func (p *parser) provider(d *Deployment, modelNode, cpNode *yaml.Node, path string) {
	key := joinKey(path, "model")
	if cp := d.Params.CustomLLMProvider; cp != "" {
		if _, ok := LookupProvider(cp); !ok {
			msg := fmt.Sprintf("deployment %q: unknown custom_llm_provider %q", d.ModelName, cp)
			if s, ok := suggest(cp, ProviderNames()); ok {
				msg += fmt.Sprintf("; did you mean %q?", s)
			}
			p.errAt(cpNode, joinKey(path, "custom_llm_provider"), "%s", msg)
			return
		}
		d.Provider, d.Model = cp, strings.TrimPrefix(d.Params.Model, cp+"/")
		return
	}
	if strings.HasPrefix(d.Params.Model, "*") {
		d.Model = d.Params.Model
		return
	}
	prov, id, err := SplitModel(d.Params.Model)
	if err != nil {
		p.errAt(modelNode, key, "deployment %q: %v", d.ModelName, err)
		return
	}
	d.Provider, d.Model = prov, id
}

// fillFromEnv fills api_key, api_base and the other credentials a deployment
// leaves out from its provider's env vars (looked up through the same lookup
// as os.environ/). An absent variable is not an error: some providers need no
// key. Providers with no public endpoint need api_base unless the deployment
// only mocks responses.
func (p *parser) fillFromEnv(d *Deployment, modelNode *yaml.Node, key string) {
	info, ok := LookupProvider(d.Provider)
	if !ok {
		return
	}
	get := func(names ...string) string {
		for _, n := range names {
			if v, ok := p.lookup(n); ok && v != "" {
				return v
			}
		}
		return ""
	}
	lp := &d.Params
	if lp.APIKey == "" && info.KeyEnv != "" {
		lp.APIKey = get(info.KeyEnv)
	}
	if lp.APIBase == "" && info.BaseEnv != "" {
		lp.APIBase = get(info.BaseEnv)
	}
	if lp.APIVersion == "" && info.VersionEnv != "" {
		lp.APIVersion = get(info.VersionEnv)
	}
	switch d.Provider {
	case "bedrock":
		if lp.AWSAccessKeyID == "" && lp.AWSSecretAccessKey == "" {
			lp.AWSAccessKeyID = get("AWS_ACCESS_KEY_ID")
			lp.AWSSecretAccessKey = get("AWS_SECRET_ACCESS_KEY")
			if lp.AWSSessionToken == "" {
				lp.AWSSessionToken = get("AWS_SESSION_TOKEN")
			}
		}
		if lp.AWSRegionName == "" {
			lp.AWSRegionName = get("AWS_REGION_NAME", "AWS_REGION", "AWS_DEFAULT_REGION")
		}
		if lp.AWSBedrockRuntimeEndpoint == "" {
			lp.AWSBedrockRuntimeEndpoint = get("AWS_BEDROCK_RUNTIME_ENDPOINT")
		}
		// LiteLLM's get_credentials: each parameter not set is read from
		// its name in upper case.
		for _, f := range []struct {
			v   *string
			env string
		}{{&lp.AWSRoleName, "AWS_ROLE_NAME"}, {&lp.AWSSessionName, "AWS_SESSION_NAME"}, {&lp.AWSWebIdentityToken, "AWS_WEB_IDENTITY_TOKEN"},
			{&lp.AWSSTSEndpoint, "AWS_STS_ENDPOINT"}, {&lp.AWSProfileName, "AWS_PROFILE_NAME"}, {&lp.AWSExternalID, "AWS_EXTERNAL_ID"}} {
			if *f.v == "" {
				*f.v = get(f.env)
			}
		}
	case "azure":
		// LiteLLM's get_azure_ad_token: each parameter not set is read
		// from its AZURE_* variable.
		for _, f := range []struct {
			v   *string
			env string
		}{{&lp.AzureADToken, "AZURE_AD_TOKEN"}, {&lp.TenantID, "AZURE_TENANT_ID"}, {&lp.ClientID, "AZURE_CLIENT_ID"},
			{&lp.ClientSecret, "AZURE_CLIENT_SECRET"}, {&lp.AzureUsername, "AZURE_USERNAME"}, {&lp.AzurePassword, "AZURE_PASSWORD"},
			{&lp.AzureScope, "AZURE_SCOPE"}} {
			if *f.v == "" {
				*f.v = get(f.env)
			}
		}
		if lp.AzureScope == "" {
			lp.AzureScope = DefaultAzureScope
		}
		if lp.AzureAuthorityHost = get("AZURE_AUTHORITY_HOST"); lp.AzureAuthorityHost == "" {
			lp.AzureAuthorityHost = DefaultAzureAuthorityHost
		}
	case "vertex_ai", "vertex_ai_beta":
		if lp.VertexProject == "" {
			lp.VertexProject = get("VERTEXAI_PROJECT")
		}
		if lp.VertexLocation == "" {
			lp.VertexLocation = get("VERTEXAI_LOCATION")
		}
	}
	if info.NeedsAPIBase && lp.APIBase == "" && lp.MockResponse == nil {
		hint := ""
		if info.BaseEnv != "" {
			hint = " (or set " + info.BaseEnv + ")"
		}
		if p.noEnv && info.BaseEnv != "" {
			p.warnAt(modelNode, key, "deployment %q: provider %s has no default endpoint; set api_base%s (not checked: --no-env)", d.ModelName, d.Provider, hint)
			return
		}
		p.errAt(modelNode, key, "deployment %q: provider %s has no default endpoint; set api_base%s", d.ModelName, d.Provider, hint)
	}
}

// modelInfo parses model_info and returns the node of its id, if any.
func (p *parser) modelInfo(d *Deployment, n *yaml.Node, path string) (idNode, healthModelNode *yaml.Node) {
	es, ok := p.mapping(n, path)
	if !ok {
		return nil, nil
	}
	mi := &d.Info
	for _, e := range es {
		key, v := joinKey(path, e.Key), e.Value
		switch e.Key {
		case "id":
			idNode = deref(v)
			if s, ok := p.str(v, key); ok && strings.TrimSpace(s) != "" {
				mi.ID = s
			} else if ok || isNull(v) {
				p.errAt(v, key, "must not be empty")
			}
		case "mode":
			if s, ok := p.str(v, key); ok {
				mi.Mode = s
				if !slices.Contains(knownModes, s) {
					msg := fmt.Sprintf("unknown mode %q", s)
					if sg, ok := suggest(s, knownModes); ok {
						msg += fmt.Sprintf("; did you mean %q?", sg)
					}
					p.warnAt(v, key, "%s", msg)
				}
			}
		case "itpm", "otpm":
			// LiteLLM reads a deployment's itpm/otpm in litellm_params
			// first, then here (io_token_rate_limit_check.py).
			if n, ok := p.nonNegInt(v, key); ok {
				if e.Key == "itpm" {
					mi.ITPM = n
				} else {
					mi.OTPM = n
				}
			}
		case "input_cost_per_token":
			if f, ok := p.cost(v, key); ok {
				mi.InputCostPerToken = &f
			}
		case "output_cost_per_token":
			if f, ok := p.cost(v, key); ok {
				mi.OutputCostPerToken = &f
			}
		case "input_cost_per_second":
			if f, ok := p.cost(v, key); ok {
				mi.InputCostPerSecond = &f
			}
		case "output_cost_per_second":
			if f, ok := p.cost(v, key); ok {
				mi.OutputCostPerSecond = &f
			}
		case "output_cost_per_image":
			if f, ok := p.cost(v, key); ok {
				mi.OutputCostPerImage = &f
			}
		case "input_cost_per_pixel":
			if f, ok := p.cost(v, key); ok {
				mi.InputCostPerPixel = &f
			}
		case "input_cost_per_character":
			if f, ok := p.cost(v, key); ok {
				mi.InputCostPerCharacter = &f
			}
		case "input_cost_per_query":
			if f, ok := p.cost(v, key); ok {
				mi.InputCostPerQuery = &f
			}
		case "cache_read_input_token_cost":
			if f, ok := p.cost(v, key); ok {
				mi.CacheReadInputTokenCost = &f
			}
		case "cache_creation_input_token_cost":
			if f, ok := p.cost(v, key); ok {
				mi.CacheCreationInputTokenCost = &f
			}
		case "max_tokens":
			x, _ := p.nonNegInt(v, key)
			mi.MaxTokens = int(x)
		case "max_input_tokens":
			x, _ := p.nonNegInt(v, key)
			mi.MaxInputTokens = int(x)
		case "max_output_tokens":
			x, _ := p.nonNegInt(v, key)
			mi.MaxOutputTokens = int(x)
		case "base_model":
			mi.BaseModel, _ = p.str(v, key)
		case "access_groups":
			mi.AccessGroups, _ = p.strList(v, key)
		case "health_check_timeout":
			mi.HealthCheckTimeout, _ = p.seconds(v, key)
		case "health_check_model":
			if s, ok := p.str(v, key); ok && s != "" {
				mi.HealthCheckModel, healthModelNode = s, v
			} else if ok || isNull(v) {
				p.errAt(v, key, "must not be empty")
			}
		case "supported_environments":
			items, _ := p.sequence(v, key)
			for i, it := range items {
				ikey := fmt.Sprintf("%s[%d]", key, i)
				env, ok := p.str(it, ikey)
				if !ok {
					continue
				}
				if !slices.Contains(Environments, env) {
					p.errAt(it, ikey, "unknown environment %q; must be one of %s", env, strings.Join(Environments, ", "))
					continue
				}
				mi.SupportedEnvironments = append(mi.SupportedEnvironments, env)
			}
		case "metadata":
			if m, ok := p.anyValue(v, key).(map[string]any); ok {
				mi.Metadata = m
			} else if !isNull(v) {
				p.errAt(v, key, "must be a mapping, got %s", p.describe(v))
			}
		default:
			if k, known := lookupKey(SectionInfo, e.Key); known {
				p.statusWarning(k, key, e.KeyNode)
			} else if s, close := suggest(e.Key, sectionKeys(SectionInfo)); close {
				p.warnAt(e.KeyNode, key, "unknown key %q in model_info, passed through to /model/info; did you mean %q?", e.Key, s)
			}
			if mi.Extra == nil {
				mi.Extra = map[string]any{}
			}
			mi.Extra[e.Key] = p.anyValue(v, key)
		}
	}
	return idNode, healthModelNode
}

// assignIDs gives every deployment without model_info.id its generated id
// (see doc.go, "Deployment ids").
func assignIDs(all []parsedDeployment) {
	seen := map[[2]string]int{}
	for i := range all {
		d := &all[i].d
		k := [2]string{d.ModelName, d.Params.Model}
		idx := seen[k]
		seen[k]++
		if d.Info.ID != "" {
			d.ID = d.Info.ID
			continue
		}
		d.ID = generatedID(all[i].idParts, idx)
	}
}

func generatedID(parts []string, index int) string {
	h := sha256.New()
	for _, s := range append(slices.Clone(parts), strconv.Itoa(index)) {
		h.Write([]byte(s))
		h.Write([]byte{0})
	}
	return hex.EncodeToString(h.Sum(nil))[:12]
}

// hasUserinfo reports whether an api_base URL names a user (user:password@).
// Query parameters are allowed: they are sent to the provider and redacted
// wherever api_base is shown.
func hasUserinfo(raw string) bool {
	if !strings.Contains(raw, "://") {
		raw = "https://" + raw
	}
	u, err := url.Parse(raw)
	return err == nil && u.User != nil
}

// healthCheckModel turns model_info.health_check_model (LiteLLM writes it as
// litellm_params.model is written: "openai/gpt-4o-mini") into the provider
// model id the deployment's health checks call. A provider prefix must be the
// deployment's own: a check goes to the deployment's endpoint with its
// credentials. A name without a known prefix is the id as written.
func (p *parser) healthCheckModel(d *Deployment, n *yaml.Node, key string) {
	hm := d.Info.HealthCheckModel
	if hm == "" || d.Provider == "" {
		return
	}
	prefix, rest, ok := strings.Cut(hm, "/")
	if !ok || !IsLiteLLMProvider(prefix) {
		return
	}
	if prefix != d.Provider || rest == "" {
		d.Info.HealthCheckModel = ""
		p.errAt(n, key, "%q is not a model of this deployment's provider %q (a health check calls the deployment's own endpoint)", hm, d.Provider)
		return
	}
	d.Info.HealthCheckModel = rest
}

// parseDailyReset reads daily_reset_time: "HH:MM" in UTC (LiteLLM's
// parse_daily_reset_time), the offset of the rpd/tpd day from midnight.
func parseDailyReset(s string) (time.Duration, error) {
	t, err := time.Parse("15:04", s)
	if err != nil || len(s) != 5 {
		return 0, fmt.Errorf("must be HH:MM in UTC, got %q", s)
	}
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute, nil
}
