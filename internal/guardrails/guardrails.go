package guardrails

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// Timeout bounds one guardrail call (LiteLLM's httpx default is 600 s; a
// request held that long is no guardrail's intent): the request filter
// extends its message timeout by this much.
const Timeout = 30 * time.Second

// maxAnswer bounds a guardrail service's answer.
const maxAnswer = 8 << 20

// Set is the config's guardrails. Safe for concurrent use.
type Set struct {
	all    []*config.Guardrail
	byName map[string]*config.Guardrail
	answer bool
	client *http.Client
	// byGroup are the model-level guardrails of each model group: the
	// union of its deployments' litellm_params.guardrails.
	byGroup map[string][]string
	// lakeraEntries are the litellm_settings.guardrails (v1) entries whose
	// callbacks name lakera_prompt_injection: those a request's
	// metadata.guardrails mapping must enable for Lakera v1 to run.
	lakeraEntries map[string]bool
}

// New returns the config's guardrails; nil when it has none.
func New(cfg *config.Config) *Set {
	if len(cfg.Guardrails) == 0 {
		return nil
	}
	s := &Set{byName: map[string]*config.Guardrail{}, client: &http.Client{Timeout: Timeout}}
	for i := range cfg.Guardrails {
		g := &cfg.Guardrails[i]
		s.all = append(s.all, g)
		s.byName[g.Name] = g
		s.answer = s.answer || g.NeedsAnswer()
	}
	for name, callbacks := range cfg.LegacyGuardrails {
		if contains(callbacks, config.LakeraCallback) {
			if s.lakeraEntries == nil {
				s.lakeraEntries = map[string]bool{}
			}
			s.lakeraEntries[name] = true
		}
	}
	for _, d := range cfg.Models {
		for _, name := range d.Params.Guardrails {
			if s.byGroup == nil {
				s.byGroup = map[string][]string{}
			}
			if !contains(s.byGroup[d.ModelName], name) {
				s.byGroup[d.ModelName] = append(s.byGroup[d.ModelName], name)
			}
		}
	}
	return s
}

// WithModel adds a model group's model-level guardrails to the names a
// request runs (LiteLLM's check_and_merge_model_level_guardrails: before
// routing, the union over the group's deployments, merged after the
// request's or its key's).
func (s *Set) WithModel(names []string, model string) []string {
	if s == nil {
		return names
	}
	for _, n := range s.byGroup[model] {
		if !contains(names, n) {
			names = append(names, n)
		}
	}
	return names
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// Call is one request's guardrails.
type Call struct {
	set       *Set
	pre, post []*config.Guardrail
	unmask    []*config.Guardrail // presidio output_parse_pii
	tokens    map[string]string   // masked token → original text
	callID    string
	meta      map[string]any
	applied   []string
	// extra are the request's extra_body per guardrail (the generic API's
	// additional_provider_specific_params).
	extra map[string]map[string]any
	// requestMessages are the request's messages as Lakera reads them,
	// kept for a post_call lakera_v2 guardrail (it reads them with the
	// answer).
	requestMessages []lakeraMessage
}

// Begin selects the guardrails a request runs (LiteLLM's
// should_run_guardrail): a default_on guardrail always, another when the
// request names it, a litellm_settings.guardrails (v1) one always. requested
// is what the request names: its key's metadata.guardrails, else its
// team's, else the body's (guardrails, or metadata.guardrails). mapping is
// set when the body's is a mapping (its names not set to false, possibly
// none): Lakera v1 then runs only when one of them is a v1 entry naming
// lakera_prompt_injection (LiteLLM's should_proceed_based_on_metadata).
// nil when none runs. meta are the user_api_key_* fields the generic
// guardrail API receives as request_data. noGlobal is the key's or team's
// disable_global_guardrails: no default_on guardrail runs unless the
// request names it.
func (s *Set) Begin(requested []string, extra map[string]map[string]any, mapping map[string]bool, callID string, meta map[string]any, noGlobal bool) *Call {
	if s == nil {
		return nil
	}
	asked := map[string]bool{}
	for _, n := range requested {
		asked[n] = true
	}
	c := &Call{set: s, callID: callID, meta: meta, extra: extra}
	var during []*config.Guardrail
	for _, g := range s.all {
		if !g.Legacy && (!g.DefaultOn || noGlobal) && !asked[g.Name] {
			continue
		}
		if g.Kind == "lakera" && mapping != nil && !s.lakeraEnabled(mapping) {
			continue
		}
		switch {
		case g.PreCall:
			c.pre = append(c.pre, g)
		case g.DuringCall:
			during = append(during, g)
		}
		if g.PostCall {
			c.post = append(c.post, g)
		}
		if g.Kind == "presidio" && g.OutputParsePII {
			c.unmask = append(c.unmask, g)
		}
	}
	c.pre = append(c.pre, during...) // LiteLLM runs its pre_call hooks before its moderation (during_call) hooks
	if len(c.pre) == 0 && len(c.post) == 0 && len(c.unmask) == 0 {
		return nil
	}
	return c
}

// lakeraEnabled: a request's metadata.guardrails mapping enables a v1
// entry whose callbacks name Lakera v1.
func (s *Set) lakeraEnabled(mapping map[string]bool) bool {
	for name := range mapping {
		if s.lakeraEntries[name] {
			return true
		}
	}
	return false
}

// NeedsAnswer: the call reads the provider's answer.
func (c *Call) NeedsAnswer() bool { return c != nil && (len(c.post) > 0 || len(c.unmask) > 0) }

// Applied are the guardrails that ran (x-litellm-applied-guardrails).
func (c *Call) Applied() string { return strings.Join(c.applied, ",") }

func (c *Call) markApplied(g *config.Guardrail) {
	if g.Legacy {
		return // a v1 callback has no guardrail_name: LiteLLM's header leaves it out
	}
	name := g.Name
	for _, a := range c.applied {
		if a == name {
			return
		}
	}
	c.applied = append(c.applied, name)
}

// Request runs the pre_call and during_call guardrails on the request's
// texts. during_call runs here too, before the provider is called: LiteLLM
// runs it beside the provider call and holds the answer until it is done,
// so a blocked request never reaches the client either way; here it never
// reaches the provider (and, as in LiteLLM, a during_call guardrail does
// not change the request). body is the new body when a guardrail changed a
// text, else nil.
func (c *Call) Request(ctx context.Context, in []byte) (body []byte, e *translator.Error) {
	if c == nil {
		return nil, nil
	}
	keep := false // a post_call lakera_v2 guardrail reads the request's messages too
	for _, g := range c.post {
		keep = keep || g.Kind == "lakera_v2"
	}
	if len(c.pre) == 0 && !keep {
		return nil, nil
	}
	d, err := readRequest(in)
	if err != nil || len(d.slots) == 0 {
		return nil, nil // no texts to check (the request's own errors come later)
	}
	if keep {
		defer func() { c.requestMessages = d.inspectionMessages() }() // after the pre_call masking, as LiteLLM's data["messages"]
	}
	changed := false
	for _, g := range c.pre {
		texts := d.texts()
		out, e := c.run(ctx, g, texts, "request", d)
		if e != nil {
			return nil, e
		}
		c.markApplied(g)
		if !g.PreCall || out == nil {
			continue // during_call: may not change the request
		}
		for i := range texts {
			if i < len(out) && out[i] != texts[i] {
				d.set(i, out[i])
				changed = true
			}
		}
	}
	if !changed {
		return nil, nil
	}
	return d.encode()
}

// Answer runs the post_call guardrails (and Presidio's output_parse_pii)
// on a successful, non-streamed answer. answer is the new answer when
// changed, else nil.
func (c *Call) Answer(ctx context.Context, in []byte) (answer []byte, e *translator.Error) {
	if !c.NeedsAnswer() {
		return nil, nil
	}
	d, err := readAnswer(in)
	if err != nil || len(d.slots) == 0 {
		return nil, nil
	}
	changed := false
	apply := func(texts, out []string) {
		for i := range texts {
			if i < len(out) && out[i] != texts[i] {
				d.set(i, out[i])
				changed = true
			}
		}
	}
	for _, g := range c.post {
		texts := d.texts()
		out, e := c.run(ctx, g, texts, "response", d)
		if e != nil {
			return nil, e
		}
		c.markApplied(g)
		apply(texts, out)
	}
	if len(c.unmask) > 0 && len(c.tokens) > 0 {
		texts := d.texts()
		out := make([]string, len(texts))
		for i, t := range texts {
			for tok, orig := range c.tokens {
				t = strings.ReplaceAll(t, tok, orig)
			}
			out[i] = t
		}
		apply(texts, out)
	}
	if !changed {
		return nil, nil
	}
	return d.encode()
}

// run calls one guardrail on texts: its answer's texts (nil: unchanged).
func (c *Call) run(ctx context.Context, g *config.Guardrail, texts []string, inputType string, d *document) ([]string, *translator.Error) {
	ctx, cancel := context.WithTimeout(ctx, Timeout)
	defer cancel()
	switch g.Kind {
	case "generic_guardrail_api":
		return c.generic(ctx, g, texts, inputType, d)
	case "presidio":
		return c.presidio(ctx, g, texts, inputType == "request")
	case "bedrock":
		return c.bedrock(ctx, g, texts, inputType == "request")
	case "lakera":
		if inputType == "request" {
			return nil, c.lakeraV1(ctx, g, d)
		}
		return nil, nil // pre_call and during_call only (config)
	case "lakera_v2":
		if inputType == "request" {
			return nil, c.lakera(ctx, g, d.inspectionMessages())
		}
		return nil, c.lakera(ctx, g, c.answerMessages(d, texts))
	case "openai_moderation":
		text := strings.TrimSpace(strings.Join(texts, "\n"))
		if inputType == "request" {
			text = d.userPrompt()
		}
		return nil, c.moderation(ctx, g, text)
	}
	return nil, nil
}

// proxyError is LiteLLM's ProxyException as its proxy answers it
// (proxy/common_utils/openai_error_payload.py): the type its status stands
// for, param null, code the status as a string.
func proxyError(status int, msg string) *translator.Error {
	return &translator.Error{Status: status, Message: msg}
}
