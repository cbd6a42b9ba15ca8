package config

import (
	"fmt"
	"net/url"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// Guardrail is a top-level guardrails entry (LiteLLM's guardrails list):
// a named check of the request (pre_call, during_call) or of the answer
// (post_call) by a guardrail service. internal/guardrails runs them.
type Guardrail struct {
	Name string // guardrail_name
	// Kind is litellm_params.guardrail: one of GuardrailKinds.
	Kind string
	// PreCall, DuringCall and PostCall are the modes (litellm_params.mode:
	// a string, a list, or {default: …}).
	PreCall, DuringCall, PostCall bool
	DefaultOn                     bool
	APIBase                       string
	APIKey                        string            // secret; never log
	Headers                       map[string]string // secret values (generic_guardrail_api)
	// ExtraParams is additional_provider_specific_params (generic_guardrail_api).
	ExtraParams map[string]any
	// Presidio: the analyzer and anonymizer bases (else
	// PRESIDIO_ANALYZER_API_BASE / PRESIDIO_ANONYMIZER_API_BASE), the
	// language (presidio_language, default en), pii_entities_config
	// (entity → MASK or BLOCK; empty: every entity masked), and
	// output_parse_pii.
	AnalyzerBase, AnonymizerBase string
	Language                     string
	PIIEntities                  map[string]string
	ScoreThresholds              map[string]float64
	OutputParsePII               bool
	// Model is openai_moderation's model (default omni-moderation-latest).
	Model string
	// StreamingSamplingRate is streaming_sampling_rate: a post_call
	// guardrail reads a streamed answer every this many chunks (0: LiteLLM's
	// default, 5). StreamingEndOnly is streaming_end_of_stream_only: only
	// once, at the stream's end.
	StreamingSamplingRate int
	StreamingEndOnly      bool
	// Bedrock (ApplyGuardrail): guardrailIdentifier and guardrailVersion,
	// the AWS credentials (aws_* keys, else AWS_ACCESS_KEY_ID …), region
	// (aws_region_name, else AWS_REGION / AWS_REGION_NAME, else us-west-2),
	// the endpoint (aws_bedrock_runtime_endpoint, else
	// AWS_BEDROCK_RUNTIME_ENDPOINT, else https://bedrock-runtime.{region}.amazonaws.com)
	// and outputScope.
	GuardrailIdentifier, GuardrailVersion string
	AWSAccess
	AWSEndpoint, OutputScope string
	// Lakera v2 (lakera_v2): project_id, payload, breakdown, dev_info
	// (LiteLLM's defaults true), metadata, on_flagged (block or monitor).
	ProjectID                   string
	Payload, Breakdown, DevInfo bool
	Metadata                    map[string]any
	OnFlagged                   string
	// Lakera Guard v1 (lakera: LiteLLM's lakeraAI_Moderation, also the v1
	// callback lakera_prompt_injection): category_thresholds
	// (prompt_injection, jailbreak: a score at or above blocks instead of
	// flagged) and the roles whose messages it reads (LiteLLM: the v1
	// entry named prompt_injection's enabled_roles, else system, assistant
	// and user).
	CategoryThresholds map[string]float64
	EnabledRoles       []string
	// Legacy marks a guardrail of litellm_settings.guardrails (LiteLLM's
	// v1 form, guardrails_legacy.go): one per callback a default_on entry
	// names, named by the callback. As a v1 callback has no guardrail_name
	// and no event hook, it runs on every request (default_on, the names a
	// request gives and disable_global_guardrails do not select it) and is
	// not named in x-litellm-applied-guardrails.
	Legacy bool
	Pos    Pos
}

// ListedGuardrail is a guardrails entry as LiteLLM's GET /guardrails/list
// shows it: its guardrail_id and guardrail_info as written, and its
// litellm_params in the config's order, os.environ/ values resolved
// (secrets among them: the list masks them).
type ListedGuardrail struct {
	ID     any
	Name   string
	Info   any
	Params []GuardrailParam
}

// GuardrailParam is one litellm_params entry of a listed guardrail.
type GuardrailParam struct {
	Key   string
	Value any
}

// GuardrailKinds are the litellm_params.guardrail values llmgate runs.
var GuardrailKinds = []string{"generic_guardrail_api", "presidio", "openai_moderation", "bedrock", "lakera_v2", "lakera"}

// NeedsAnswer says whether the guardrail reads the provider's answer:
// post_call, or Presidio's output_parse_pii.
func (g *Guardrail) NeedsAnswer() bool {
	return g.PostCall || (g.Kind == "presidio" && g.OutputParsePII)
}

// GuardrailsNeedAnswer says whether any guardrail of the config reads the
// provider's answer (the request filter then asks Envoy for it).
func GuardrailsNeedAnswer(cfg *Config) bool {
	for i := range cfg.Guardrails {
		if cfg.Guardrails[i].NeedsAnswer() {
			return true
		}
	}
	return false
}

// guardrails reads the top-level guardrails list.
func (p *parser) guardrails(cfg *Config, n *yaml.Node) {
	items, ok := p.sequence(n, "guardrails")
	if !ok {
		return
	}
	seen := map[string]bool{}
	for i, it := range items {
		path := fmt.Sprintf("guardrails[%d]", i)
		es, ok := p.mapping(it, path)
		if !ok {
			continue
		}
		g := Guardrail{Pos: posOf(p.fileOf(it), deref(it)), Language: "en", Payload: true, Breakdown: true, DevInfo: true, OnFlagged: "block"}
		var params []entry
		hasParams := false
		var listed ListedGuardrail
		for _, e := range es {
			key := joinKey(path, e.Key)
			switch e.Key {
			case "guardrail_name":
				g.Name, _ = p.str(e.Value, key)
			case "litellm_params":
				params, hasParams = p.mapping(e.Value, key)
			case "guardrail_info":
				listed.Info = p.anyValue(e.Value, key) // GET /guardrails/list
			case "guardrail_id":
				listed.ID = p.anyValue(e.Value, key)
			default:
				p.warnAt(e.KeyNode, key, "accepted, not implemented yet")
			}
		}
		if g.Name == "" {
			p.errAt(deref(it), joinKey(path, "guardrail_name"), "is required")
			continue
		}
		if seen[g.Name] {
			p.errAt(deref(it), joinKey(path, "guardrail_name"), "%q is already a guardrail's name", g.Name)
			continue
		}
		seen[g.Name] = true
		if !hasParams {
			p.errAt(deref(it), joinKey(path, "litellm_params"), "is required")
			continue
		}
		listed.Name = g.Name
		for _, f := range params {
			listed.Params = append(listed.Params, GuardrailParam{Key: f.Key, Value: p.anyValue(f.Value, joinKey(joinKey(path, "litellm_params"), f.Key))})
		}
		cfg.ListedGuardrails = append(cfg.ListedGuardrails, listed)
		if p.guardrailParams(&g, params, joinKey(path, "litellm_params")) {
			cfg.Guardrails = append(cfg.Guardrails, g)
		}
	}
}

// guardrailParams reads a guardrail's litellm_params; false when the
// guardrail is not run (an error, or a kind llmgate does not implement).
func (p *parser) guardrailParams(g *Guardrail, params []entry, path string) bool {
	var kindNode *yaml.Node
	var modeSet bool
	for _, f := range params {
		fk := joinKey(path, f.Key)
		switch f.Key {
		case "guardrail":
			g.Kind, _ = p.str(f.Value, fk)
			kindNode = f.Value
		case "mode":
			modeSet = p.guardrailMode(g, f.Value, fk)
		case "default_on":
			g.DefaultOn, _ = p.bool(f.Value, fk)
		case "api_base":
			g.APIBase, _ = p.str(f.Value, fk)
		case "api_key":
			g.APIKey, _ = p.str(f.Value, fk)
		case "headers":
			g.Headers, _ = p.strMap(f.Value, fk)
		case "additional_provider_specific_params":
			g.ExtraParams = p.anyMap(f.Value, fk)
		case "presidio_analyzer_api_base":
			g.AnalyzerBase, _ = p.str(f.Value, fk)
		case "presidio_anonymizer_api_base":
			g.AnonymizerBase, _ = p.str(f.Value, fk)
		case "presidio_language":
			g.Language, _ = p.str(f.Value, fk)
		case "pii_entities_config":
			m, _ := p.strMap(f.Value, fk)
			for ent, act := range m {
				switch strings.ToUpper(act) {
				case "MASK", "BLOCK":
					if g.PIIEntities == nil {
						g.PIIEntities = map[string]string{}
					}
					g.PIIEntities[ent] = strings.ToUpper(act)
				default:
					p.errAt(f.Value, joinKey(fk, ent), "must be MASK or BLOCK, got %q", act)
				}
			}
		case "presidio_score_thresholds":
			es, _ := p.mapping(f.Value, fk)
			for _, e := range es {
				if v, ok := p.float(e.Value, joinKey(fk, e.Key)); ok {
					if g.ScoreThresholds == nil {
						g.ScoreThresholds = map[string]float64{}
					}
					g.ScoreThresholds[e.Key] = v
				}
			}
		case "output_parse_pii":
			g.OutputParsePII, _ = p.bool(f.Value, fk)
		case "model":
			g.Model, _ = p.str(f.Value, fk)
		case "streaming_sampling_rate":
			if v, ok := p.int(f.Value, fk); ok {
				if v < 1 || v > 1_000_000 {
					p.errAt(f.Value, fk, "must be between 1 and 1000000, got %d", v)
				} else {
					g.StreamingSamplingRate = int(v)
				}
			}
		case "streaming_end_of_stream_only":
			g.StreamingEndOnly, _ = p.bool(f.Value, fk)
		case "guardrailIdentifier":
			g.GuardrailIdentifier, _ = p.str(f.Value, fk)
		case "guardrailVersion":
			g.GuardrailVersion, _ = p.str(f.Value, fk)
		case "aws_access_key_id":
			g.AWSAccessKeyID, _ = p.str(f.Value, fk)
		case "aws_secret_access_key":
			g.AWSSecretAccessKey, _ = p.str(f.Value, fk)
		case "aws_session_token":
			g.AWSSessionToken, _ = p.str(f.Value, fk)
		case "aws_region_name":
			g.AWSRegion, _ = p.str(f.Value, fk)
		case "aws_bedrock_runtime_endpoint":
			g.AWSEndpoint, _ = p.str(f.Value, fk)
		case "outputScope":
			g.OutputScope, _ = p.str(f.Value, fk)
		case "project_id":
			g.ProjectID, _ = p.str(f.Value, fk)
		case "payload":
			g.Payload, _ = p.bool(f.Value, fk)
		case "breakdown":
			g.Breakdown, _ = p.bool(f.Value, fk)
		case "dev_info":
			g.DevInfo, _ = p.bool(f.Value, fk)
		case "metadata":
			g.Metadata = p.anyMap(f.Value, fk)
		case "category_thresholds":
			es, _ := p.mapping(f.Value, fk)
			for _, e := range es {
				switch e.Key {
				case "prompt_injection", "jailbreak":
					if v, ok := p.float(e.Value, joinKey(fk, e.Key)); ok {
						if g.CategoryThresholds == nil {
							g.CategoryThresholds = map[string]float64{}
						}
						g.CategoryThresholds[e.Key] = v
					}
				default:
					p.warnAt(e.KeyNode, joinKey(fk, e.Key), "not a Lakera category (prompt_injection, jailbreak): ignored")
				}
			}
		case "on_flagged":
			g.OnFlagged, _ = p.str(f.Value, fk)
			switch g.OnFlagged {
			case "block", "monitor":
			case "mask", "inject_system_message":
				p.warnAt(f.Value, fk, "on_flagged %q: accepted, not implemented yet (a flagged text is blocked)", g.OnFlagged)
				g.OnFlagged = "block"
			default:
				p.errAt(f.Value, fk, "must be block, mask, monitor or inject_system_message, got %q", g.OnFlagged)
			}
		default:
			p.warnAt(f.KeyNode, fk, "accepted, not implemented yet")
		}
	}
	switch {
	case g.Kind == "":
		p.errAt(nil, joinKey(path, "guardrail"), "is required")
		return false
	case !modeSet:
		p.errAt(nil, joinKey(path, "mode"), "is required (pre_call, during_call, post_call)")
		return false
	}
	known := false
	for _, k := range GuardrailKinds {
		known = known || k == g.Kind
	}
	if !known {
		p.warnAt(kindNode, joinKey(path, "guardrail"), "guardrail %q (%s): accepted, not implemented yet; it does not run (llmgate runs %s)", g.Kind, g.Name, strings.Join(GuardrailKinds, ", "))
		return false
	}
	if g.Kind == "lakera" && g.PostCall {
		p.errAt(nil, joinKey(path, "mode"), "lakera guardrail %q: mode post_call is not supported (pre_call, during_call)", g.Name)
		return false
	}
	if g.Kind == "bedrock" {
		if g.GuardrailIdentifier == "" || g.GuardrailVersion == "" {
			p.errAt(nil, path, "Bedrock guardrail: guardrailIdentifier and guardrailVersion are required")
			return false
		}
		p.awsEnvDefaults(&g.AWSAccess)
		if g.AWSAccessKeyID == "" || g.AWSSecretAccessKey == "" {
			p.errAt(nil, joinKey(path, "aws_access_key_id"), "Bedrock guardrail: aws_access_key_id and aws_secret_access_key are required (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY)")
			return false
		}
		g.AWSEndpoint = p.awsEndpoint(g.AWSEndpoint, "bedrock-runtime", g.AWSRegion)
	}
	for _, d := range guardrailDefaults[g.Kind] {
		v := d.field(g)
		for _, name := range d.env {
			if *v == "" {
				*v, _ = p.lookup(name)
			}
		}
		if *v == "" {
			*v = d.value
		}
		switch {
		case *v == "" && d.required != "":
			p.errAt(nil, joinKey(path, d.key), "%s", d.required)
			return false
		case d.hostOK && *v != "" && !strings.HasPrefix(*v, "http://") && !strings.HasPrefix(*v, "https://"):
			*v = "http://" + *v // LiteLLM's Presidio: a private network's host
		}
		if d.url && !p.guardrailURL(*v, joinKey(path, d.key)) {
			return false
		}
	}
	return true
}

// guardrailDefault is a litellm_params value a guardrail kind takes from
// the environment, else a default, when its entry leaves it empty.
type guardrailDefault struct {
	key      string // the litellm_params key
	field    func(*Guardrail) *string
	env      []string // read in order
	value    string   // else this
	required string   // the error when it is still empty
	url      bool     // must be an http(s) URL
	hostOK   bool     // a bare host gets http:// (LiteLLM's Presidio)
}

// guardrailDefaults are each kind's environment defaults (LiteLLM's
// guardrail initializers). Bedrock's AWS credentials, region and endpoint
// are read by awsEnvDefaults and awsEndpoint, as the vector stores'.
var guardrailDefaults = map[string][]guardrailDefault{
	"generic_guardrail_api": {
		{key: "api_base", field: guardrailAPIBase, env: []string{"GENERIC_GUARDRAIL_API_BASE"}, url: true},
	},
	"presidio": {
		{key: "presidio_analyzer_api_base", field: func(g *Guardrail) *string { return &g.AnalyzerBase }, env: []string{"PRESIDIO_ANALYZER_API_BASE"}, url: true, hostOK: true},
		{key: "presidio_anonymizer_api_base", field: func(g *Guardrail) *string { return &g.AnonymizerBase }, env: []string{"PRESIDIO_ANONYMIZER_API_BASE"}, url: true, hostOK: true},
	},
	"bedrock": {
		{key: "aws_bedrock_runtime_endpoint", field: func(g *Guardrail) *string { return &g.AWSEndpoint }, url: true},
	},
	"lakera_v2": lakeraDefaults,
	"lakera":    lakeraDefaults,
	"openai_moderation": {
		{key: "api_key", field: guardrailAPIKey, env: []string{"OPENAI_API_KEY"}, required: "OpenAI Moderation: api_key is required (or OPENAI_API_KEY)"},
		{key: "api_base", field: guardrailAPIBase, value: "https://api.openai.com/v1", url: true},
		{key: "model", field: func(g *Guardrail) *string { return &g.Model }, value: "omni-moderation-latest"},
	},
}

// lakeraDefaults are both Lakera kinds' (LiteLLM's v1 and v2 hooks read
// the same variables).
var lakeraDefaults = []guardrailDefault{
	{key: "api_key", field: guardrailAPIKey, env: []string{"LAKERA_API_KEY"}},
	{key: "api_base", field: guardrailAPIBase, env: []string{"LAKERA_API_BASE"}, value: "https://api.lakera.ai", url: true},
}

func guardrailAPIBase(g *Guardrail) *string { return &g.APIBase }
func guardrailAPIKey(g *Guardrail) *string  { return &g.APIKey }

func (p *parser) guardrailURL(s, key string) bool {
	if u, err := url.Parse(s); s == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		p.errAt(nil, key, "needs an http(s) URL, got %q", s)
		return false
	}
	return true
}

// guardrailMode reads mode: a string, a list of strings, or a mapping
// whose default is used (its tags are not implemented).
func (p *parser) guardrailMode(g *Guardrail, n *yaml.Node, path string) bool {
	var modes []string
	switch v := deref(n); {
	case v != nil && v.Kind == yaml.SequenceNode:
		modes, _ = p.strList(v, path)
	case v != nil && v.Kind == yaml.MappingNode:
		es, _ := p.mapping(v, path)
		for _, e := range es {
			switch e.Key {
			case "default":
				if s, ok := p.str(e.Value, joinKey(path, e.Key)); ok {
					modes = append(modes, s)
				}
			default:
				p.warnAt(e.KeyNode, joinKey(path, e.Key), "accepted, not implemented yet (the default mode runs)")
			}
		}
	default:
		if s, ok := p.str(v, path); ok {
			modes = []string{s}
		}
	}
	ok := false
	for _, m := range modes {
		switch m {
		case "pre_call":
			g.PreCall, ok = true, true
		case "during_call":
			g.DuringCall, ok = true, true
		case "post_call":
			g.PostCall, ok = true, true
		case "logging_only", "pre_mcp_call", "during_mcp_call", "post_mcp_call":
			p.warnAt(n, path, "mode %q: accepted, not implemented yet", m)
		default:
			p.errAt(n, path, "unknown mode %q (pre_call, during_call, post_call, logging_only)", m)
		}
	}
	return ok
}

// GuardrailNames are the names of the guardrails that run, sorted.
func (cfg *Config) GuardrailNames() []string {
	out := make([]string, 0, len(cfg.Guardrails))
	for _, g := range cfg.Guardrails {
		if !g.Legacy {
			out = append(out, g.Name)
		}
	}
	sort.Strings(out)
	return out
}

// modelGuardrails warns about a deployment's litellm_params.guardrails
// naming no guardrail that runs (LiteLLM runs nothing for it either).
func (p *parser) modelGuardrails(cfg *Config) {
	runs := map[string]bool{}
	for _, g := range cfg.Guardrails {
		runs[g.Name] = runs[g.Name] || !g.Legacy
	}
	for _, d := range cfg.Models {
		for _, name := range d.Params.Guardrails {
			if !runs[name] {
				p.addIn(d.Pos.File, SeverityWarning, d.Pos.Line, d.Pos.Column, "model_list[].litellm_params.guardrails", "model %q: guardrail %q is not a guardrail that runs (the top-level guardrails list)", d.ModelName, name)
			}
		}
	}
}
