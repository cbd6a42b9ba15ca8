package translator

import (
	"testing"

	"github.com/llmgate/llmgate/internal/provider"
	"github.com/tidwall/gjson"
)

func TestAllowedParamsAnthropic(t *testing.T) {
	body := []byte(`{"model":"claude","messages":[{"role":"user","content":"Hi"}],"seed":7,"service_tier":"auto","temperature":0.5,"logprobs":true}`)
	translate := func(allowed, drop []string) (string, error) {
		b, taken := TakeAllowedParams(provider.WireAnthropic, body, allowed, drop)
		up, err := anthropicTranslator{}.Request(Chat, b, Target{Model: "claude", DropParams: true, AdditionalDropParams: drop})
		if err != nil {
			return "", err
		}
		return string(PutAllowedParams(up.Body, taken)), nil
	}
	out, err := translate([]string{"seed", "service_tier", "temperature"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	for path, want := range map[string]string{"seed": "7", "service_tier": `"auto"`, "temperature": "0.5", "logprobs": ""} {
		if got := gjson.Get(out, path).Raw; got != want {
			t.Errorf("%s = %q, want %q in %s", path, got, want, out)
		}
	}
	out, _ = translate(nil, nil)
	if gjson.Get(out, "seed").Exists() || gjson.Get(out, "service_tier").Exists() {
		t.Errorf("without allowed_openai_params drop_params drops them: %s", out)
	}
	out, _ = translate([]string{"seed"}, []string{"seed"})
	if gjson.Get(out, "seed").Exists() {
		t.Errorf("additional_drop_params drops an allowed param first: %s", out)
	}
	// Refused without drop_params, accepted when allowed.
	b, taken := TakeAllowedParams(provider.WireAnthropic, body, []string{"seed", "logprobs"}, nil)
	if _, err := (anthropicTranslator{}).Request(Chat, b, Target{Model: "claude"}); err != nil || len(taken) != 2 {
		t.Errorf("allowed params refused: %v (taken %d)", err, len(taken))
	}
	if b, _ := TakeAllowedParams(provider.WireOpenAI, body, []string{"seed"}, nil); string(b) != string(body) {
		t.Errorf("an OpenAI body changed: %s", b)
	}
}
