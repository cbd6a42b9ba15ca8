package e2e

import (
	"context"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"
	"github.com/openai/openai-go/v3/responses"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// TestResponsesAffinity (D162): router_settings.optional_pre_call_checks
// [responses_api_deployment_check], through Envoy with openai-go's
// Responses client. In a group of two OpenAI deployments, every follow-up
// whose previous_response_id LiteLLM's id encodes goes to the deployment
// that answered the first request; once that deployment is cooling down,
// the follow-up is served by the other one (the pin is a preference, as
// LiteLLM's filter of the healthy deployments). A group without the check
// spreads its follow-ups over both deployments.
func TestResponsesAffinity(t *testing.T) {
	fake := fakeprovider.StartT(t, fakeprovider.Options{})
	cfg := func(checks string) string { return affinityPair(fake.URL(), checks, "") }
	const followUps = 12
	var prev string // the first response's id
	run := func(t *testing.T, g *Gateway) (first string, counts map[string]int64) {
		client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0))
		ctx := context.Background()
		params := func(prompt, prev string) responses.ResponseNewParams {
			p := responses.ResponseNewParams{Model: "gpt-lb", Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(prompt)}}
			if prev != "" {
				p.PreviousResponseID = openai.String(prev)
			}
			return p
		}
		r, err := client.Responses.New(ctx, params("remember me", ""))
		if err != nil {
			t.Fatalf("first request: %v", err)
		}
		_, first, _ = decodedResponseID(t, r.ID)
		prev = r.ID
		fake.Reset()
		for i := range followUps {
			if _, err := client.Responses.New(ctx, params(fmt.Sprintf("follow-up %d", i), r.ID)); err != nil {
				t.Fatalf("follow-up %d: %v", i, err)
			}
		}
		return first, map[string]int64{"lb-a": fake.Count("/lb-a/"), "lb-b": fake.Count("/lb-b/")}
	}

	t.Run("pinned", func(t *testing.T) {
		g := startGateway(t, cfg("  optional_pre_call_checks: [responses_api_deployment_check]\n"))
		first, counts := run(t, g)
		if counts[first] != followUps {
			t.Errorf("follow-ups per deployment %v: want all %d at %s, the deployment that answered", counts, followUps, first)
		}
		// The pinned deployment fails once and cools down (allowed_fails
		// 0): the next follow-up goes to the other deployment.
		if err := fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: "/" + first + "/"}, Fault: fakeprovider.Fault{Status: 500}, Times: 1}); err != nil {
			t.Fatal(err)
		}
		client := openai.NewClient(option.WithBaseURL(g.URL+"/v1"), option.WithAPIKey("any"), option.WithMaxRetries(0))
		follow := func(prompt string) error {
			_, err := client.Responses.New(context.Background(), responses.ResponseNewParams{Model: "gpt-lb",
				Input: responses.ResponseNewParamsInputUnion{OfString: openai.String(prompt)}, PreviousResponseID: openai.String(prev)})
			return err
		}
		if err := follow("fail"); err == nil {
			t.Fatal("the pinned deployment's injected 500 did not reach the client")
		}
		waitLog(t, g, "deployment cooling down")
		fake.Reset()
		if err := follow("after"); err != nil {
			t.Fatalf("a follow-up pinned to a cooling deployment: %v", err)
		}
		if n := fake.Count("/" + first + "/"); n != 0 {
			t.Errorf("a follow-up reached the cooling deployment %s (%d calls)", first, n)
		}
	})

	t.Run("without the check", func(t *testing.T) {
		fake.ClearRules()
		g := startGateway(t, cfg(""))
		_, counts := run(t, g)
		if counts["lb-a"] == 0 || counts["lb-b"] == 0 {
			t.Errorf("follow-ups per deployment %v: without responses_api_deployment_check both deployments should answer some of %d", counts, followUps)
		}
	})
}

// decodedResponseID takes LiteLLM's response id apart: provider,
// deployment (model_info.id), provider id.
func decodedResponseID(t *testing.T, id string) (string, string, string) {
	t.Helper()
	b, err := base64.StdEncoding.DecodeString(strings.TrimPrefix(id, "resp_"))
	if err != nil {
		t.Fatalf("response id %q: %v", id, err)
	}
	s := strings.TrimPrefix(string(b), "litellm:custom_llm_provider:")
	p, s, _ := strings.Cut(s, ";model_id:")
	d, r, _ := strings.Cut(s, ";response_id:")
	return p, d, r
}
