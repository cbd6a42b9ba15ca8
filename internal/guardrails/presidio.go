package guardrails

import (
	"bytes"
	"context"
	"net/http"
	"sort"
	"strings"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/translator"
)

// analyzerResult is one of Presidio's /analyze results.
type analyzerResult struct {
	EntityType string  `json:"entity_type"`
	Start      int     `json:"start"`
	End        int     `json:"end"`
	Score      float64 `json:"score"`
}

// anonymizerAnswer is Presidio's /anonymize answer.
type anonymizerAnswer struct {
	Text  string `json:"text"`
	Items []struct {
		Start      int    `json:"start"`
		End        int    `json:"end"`
		EntityType string `json:"entity_type"`
		Text       string `json:"text"`
		Operator   string `json:"operator"`
	} `json:"items"`
}

// presidio masks each text with Presidio (LiteLLM's presidio guardrail):
// /analyze finds the entities (only pii_entities_config's when it is set,
// above presidio_score_thresholds), an entity set to BLOCK refuses the
// request (LiteLLM's BlockedPiiEntityError, 400), the others go to
// /anonymize, whose text replaces the original. With output_parse_pii the
// replacement tokens are remembered for the answer.
func (c *Call) presidio(ctx context.Context, g *config.Guardrail, texts []string, input bool) ([]string, *translator.Error) {
	out := make([]string, len(texts))
	for i, t := range texts {
		if strings.TrimSpace(t) == "" {
			out[i] = t
			continue
		}
		m, e := c.presidioText(ctx, g, t, input)
		if e != nil {
			return nil, e
		}
		out[i] = m
	}
	return out, nil
}

func (c *Call) presidioText(ctx context.Context, g *config.Guardrail, text string, input bool) (string, *translator.Error) {
	fail := func(err error) (string, *translator.Error) {
		return "", proxyError(500, "presidio guardrail "+g.Name+": "+err.Error())
	}
	analyze := map[string]any{"text": text, "language": g.Language}
	if len(g.PIIEntities) > 0 {
		ents := make([]string, 0, len(g.PIIEntities))
		for e := range g.PIIEntities {
			ents = append(ents, e)
		}
		sort.Strings(ents)
		analyze["entities"] = ents
	}
	var found []analyzerResult
	if err := c.set.postJSON(ctx, strings.TrimRight(g.AnalyzerBase, "/")+"/analyze", analyze, &found); err != nil {
		return fail(err)
	}
	kept := found[:0]
	for _, r := range found {
		if len(g.PIIEntities) > 0 && g.PIIEntities[r.EntityType] == "" {
			continue
		}
		if th, ok := g.ScoreThresholds[r.EntityType]; ok && r.Score < th {
			continue
		}
		if th, ok := g.ScoreThresholds["ALL"]; ok && r.Score < th {
			continue
		}
		if input && g.PIIEntities[r.EntityType] == "BLOCK" {
			return "", proxyError(400, "Blocked entity detected: "+r.EntityType+" by Guardrail: "+g.Name+". This entity is not allowed to be used in this request.")
		}
		kept = append(kept, r)
	}
	if len(kept) == 0 {
		return text, nil
	}
	var an anonymizerAnswer
	if err := c.set.postJSON(ctx, strings.TrimRight(g.AnonymizerBase, "/")+"/anonymize", map[string]any{"text": text, "analyzer_results": kept}, &an); err != nil {
		return fail(err)
	}
	if input && g.OutputParsePII {
		c.remember(text, kept, an)
	}
	return an.Text, nil
}

// remember maps each replace operator's token to the text it replaced: the
// n-th item (by its place in the masked text) is the n-th entity (by its
// place in the original). A token already mapped keeps its first text.
func (c *Call) remember(text string, found []analyzerResult, an anonymizerAnswer) {
	rs := append([]analyzerResult(nil), found...)
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	items := an.Items
	sort.Slice(items, func(i, j int) bool { return items[i].Start < items[j].Start })
	if len(rs) != len(items) {
		return
	}
	runes := []rune(text) // Presidio's offsets count characters
	for i, it := range items {
		r := rs[i]
		if it.Operator != "replace" || it.Text == "" || r.Start < 0 || r.End > len(runes) || r.Start > r.End {
			continue
		}
		if c.tokens == nil {
			c.tokens = map[string]string{}
		}
		if _, ok := c.tokens[it.Text]; !ok {
			c.tokens[it.Text] = string(runes[r.Start:r.End])
		}
	}
}

// postJSON posts v as JSON and decodes the answer into out.
func (s *Set) postJSON(ctx context.Context, target string, v, out any) error {
	b, err := marshal(v)
	if err != nil {
		return err
	}
	hr, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(b))
	if err != nil {
		return err
	}
	hr.Header.Set("Content-Type", "application/json")
	return s.do(hr, out)
}
