package guardrails

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/backendauth"
	"github.com/llmgate/llmgate/translator"
)

// Bedrock's ApplyGuardrail (LiteLLM's bedrock guardrail,
// proxy/guardrails/guardrail_hooks/bedrock_guardrails.py):
// POST {endpoint}/guardrail/{guardrailIdentifier}/version/{guardrailVersion}/apply,
// signed with SigV4 (service bedrock), {"source": "INPUT"|"OUTPUT",
// "content": [{"text": {"text": …}}, …]}.

// bedrockAnswer is ApplyGuardrail's answer: action GUARDRAIL_INTERVENED or
// NONE, the outputs (the masked texts when the guardrail anonymized), the
// assessments (which policy did what).
type bedrockAnswer struct {
	Action  string `json:"action"`
	Outputs []struct {
		Text *string `json:"text"`
	} `json:"outputs"`
	Assessments []map[string]json.RawMessage `json:"assessments"`
}

// bedrock runs ApplyGuardrail on texts: the request's messages' texts
// (INPUT) or the answer's non-empty contents (OUTPUT). A BLOCKED
// assessment is LiteLLM's 400 with its detail dict as the message; an
// anonymized answer's outputs replace the texts in order (nil:
// unchanged); a failed call is ApplyGuardrail's status with its message.
func (c *Call) bedrock(ctx context.Context, g *config.Guardrail, texts []string, input bool) ([]string, *translator.Error) {
	source := "OUTPUT"
	var at []int // the texts sent, by index
	for i, t := range texts {
		if input || t != "" {
			at = append(at, i)
		}
	}
	if input {
		source = "INPUT"
	}
	if len(at) == 0 {
		return nil, nil // LiteLLM skips a scan with no content
	}
	type text struct {
		Text string `json:"text"`
	}
	type item struct {
		Text text `json:"text"`
	}
	req := struct {
		Source      string `json:"source"`
		Content     []item `json:"content"`
		OutputScope string `json:"outputScope,omitempty"`
	}{Source: source, OutputScope: g.OutputScope}
	for _, i := range at {
		req.Content = append(req.Content, item{text{texts[i]}})
	}
	body, err := marshal(req)
	if err != nil {
		return nil, proxyError(500, "Bedrock guardrail failed: "+err.Error())
	}
	u, err := url.Parse(strings.TrimRight(g.AWSEndpoint, "/") + "/guardrail/" + url.PathEscape(g.GuardrailIdentifier) + "/version/" + url.PathEscape(g.GuardrailVersion) + "/apply")
	if err != nil {
		return nil, proxyError(500, "Bedrock guardrail failed: bad endpoint")
	}
	sig, err := backendauth.Sign(backendauth.Request{
		Method: "POST", Host: u.Host, Path: u.EscapedPath(), Query: u.RawQuery,
		Headers: map[string]string{"content-type": "application/json", "host": u.Host}, Body: body, Time: time.Now(),
	}, backendauth.AWSCredentials{AccessKeyID: g.AWSAccessKeyID, SecretAccessKey: backendauth.Secret(g.AWSSecretAccessKey), SessionToken: backendauth.Secret(g.AWSSessionToken)},
		g.AWSRegion, "bedrock")
	if err != nil {
		return nil, proxyError(500, "Bedrock guardrail failed: "+err.Error())
	}
	status, b, err := c.set.send(ctx, u.String(), sig, body)
	if err != nil {
		return nil, proxyError(500, "Bedrock guardrail failed: "+err.Error())
	}
	if status != 200 {
		return nil, proxyError(status, bedrockErrorMessage(b))
	}
	var out bedrockAnswer
	if err := json.Unmarshal(b, &out); err != nil {
		return nil, proxyError(500, "Bedrock guardrail failed: "+err.Error())
	}
	if blocked := bedrockBlocked(out); len(blocked) > 0 {
		return nil, proxyError(400, pyRepr(bedrockBlockDetail(g, out, blocked)))
	}
	var masked []string
	for _, o := range out.Outputs {
		if o.Text != nil {
			masked = append(masked, *o.Text)
		}
	}
	if len(masked) == 0 {
		return nil, nil
	}
	res := append([]string(nil), texts...)
	for k, i := range at {
		if k < len(masked) {
			res[i] = masked[k]
		}
	}
	return res, nil
}

// bedrockErrorMessage is LiteLLM's _parse_bedrock_guardrail_error_response:
// the body's message, else its error.message or error string, else its
// text, else "Bedrock guardrail request failed".
func bedrockErrorMessage(b []byte) string {
	var body map[string]any
	if json.Unmarshal(b, &body) != nil {
		if t := strings.TrimSpace(string(b)); t != "" {
			return t
		}
		return "Bedrock guardrail request failed"
	}
	if m, ok := body["message"].(string); ok {
		return m
	}
	switch e := body["error"].(type) {
	case map[string]any:
		if m, ok := e["message"].(string); ok {
			return m
		}
	case string:
		return e
	}
	return "Bedrock guardrail request failed"
}

// bedrockPolicies are the assessment policies LiteLLM reads, in its order:
// each policy's lists, and the fields of a match it reports per list.
var bedrockPolicies = []struct {
	policy string
	lists  []struct{ list, category string }
	fields []string
}{
	{"topicPolicy", []struct{ list, category string }{{"topics", "topics"}}, nil},
	{"contentPolicy", []struct{ list, category string }{{"filters", "filters"}}, []string{"type", "confidence", "filterStrength", "action"}},
	{"wordPolicy", []struct{ list, category string }{{"customWords", "customWords"}, {"managedWordLists", "managedWordLists"}}, nil},
	{"sensitiveInformationPolicy", []struct{ list, category string }{{"piiEntities", "piiEntities"}, {"regexes", "regexes"}}, nil},
	{"contextualGroundingPolicy", []struct{ list, category string }{{"filters", "filters"}}, []string{"type", "threshold", "score", "action"}},
}

// bedrockMatchFields are the fields a blocked entry of a list reports
// (LiteLLM's _extract_blocked_assessments), "match" and "regex" redacted.
var bedrockMatchFields = map[string][]string{
	"topics":           {"name", "type", "action"},
	"customWords":      {"match", "action"},
	"managedWordLists": {"type", "match", "action"},
	"piiEntities":      {"type", "match", "action"},
	"regexes":          {"name", "regex", "match", "action"},
}

// bedrockBlocked are the BLOCKED assessments as LiteLLM's detail lists them
// ({"policy", "matches"} JSON objects in order); none when the guardrail
// did not intervene or only anonymized.
func bedrockBlocked(out bedrockAnswer) [][]byte {
	if out.Action != "GUARDRAIL_INTERVENED" {
		return nil
	}
	var blocked [][]byte
	for _, a := range out.Assessments {
		for _, p := range bedrockPolicies {
			var pol map[string]json.RawMessage
			if json.Unmarshal(a[p.policy], &pol) != nil || pol == nil {
				continue
			}
			var matches [][]byte
			for _, l := range p.lists {
				var entries []map[string]json.RawMessage
				_ = json.Unmarshal(pol[l.list], &entries)
				for _, e := range entries {
					var action string
					_ = json.Unmarshal(e["action"], &action)
					if action != "BLOCKED" {
						continue
					}
					fields := p.fields
					if fields == nil {
						fields = bedrockMatchFields[l.list]
					}
					var m bytes.Buffer
					fmt.Fprintf(&m, `{"category":%q`, l.category)
					for _, f := range fields {
						v := e[f]
						if f == "match" || f == "regex" {
							v = json.RawMessage(`"[REDACTED]"`)
						} else if len(v) == 0 {
							v = json.RawMessage("null")
						}
						fmt.Fprintf(&m, `,%q:%s`, f, v)
					}
					m.WriteByte('}')
					matches = append(matches, m.Bytes())
				}
			}
			if len(matches) > 0 {
				blocked = append(blocked, []byte(fmt.Sprintf(`{"policy":%q,"matches":[%s]}`, p.policy, bytes.Join(matches, []byte(",")))))
			}
		}
	}
	return blocked
}

// bedrockBlockDetail is LiteLLM's HTTPException detail for a block: the
// error, the guardrail's output texts joined, its identifier and version,
// the blocked assessments.
func bedrockBlockDetail(g *config.Guardrail, out bedrockAnswer, blocked [][]byte) []byte {
	var joined strings.Builder
	for _, o := range out.Outputs {
		if o.Text != nil {
			joined.WriteString(*o.Text)
		}
	}
	resp, _ := marshal(joined.String())
	id, _ := marshal(g.GuardrailIdentifier)
	ver, _ := marshal(g.GuardrailVersion)
	var b bytes.Buffer
	fmt.Fprintf(&b, `{"error":"Violated guardrail policy","bedrock_guardrail_response":%s,"guardrailIdentifier":%s,"guardrailVersion":%s,"assessments":[%s]}`,
		resp, id, ver, bytes.Join(blocked, []byte(",")))
	return b.Bytes()
}
