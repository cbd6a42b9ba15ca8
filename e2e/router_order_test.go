package e2e

import (
	"context"
	"fmt"
	"net/http"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// requestFilters are the two request paths a router semantic must hold on:
// the module (the default, D56) and ext_proc (D46).
var requestFilters = []struct {
	name string
	args []string
}{{"module", moduleArgs}, {"ext_proc", extProcArgs}}

// routerPath is one request path's gateway for a router test: its own fake
// provider and gateway, and a helper that sends a chat completion with
// openai-go and reports the headers and whether the module served it.
type routerPath struct {
	name string
	fake *fakeprovider.Server
	g    *Gateway
}

// eachRequestFilter runs fn once per request path, each with a gateway on
// config(fake URL).
func eachRequestFilter(t *testing.T, config func(fake string) string, fn func(t *testing.T, p routerPath)) {
	for _, mode := range requestFilters {
		t.Run(mode.name, func(t *testing.T) {
			fake := fakeprovider.StartT(t, fakeprovider.Options{})
			g := startGatewayArgs(t, config(fake.URL()), mode.args, "LLMGATE_DATA_DIR="+t.TempDir())
			fn(t, routerPath{name: mode.name, fake: fake, g: g})
		})
	}
}

// chat sends one chat completion with openai-go (master key, no client
// retries); module is true when no request-filter stream was opened for
// it (the module served it).
func (p routerPath) chat(t *testing.T, model string, opts ...option.RequestOption) (code int, h http.Header, module bool, err error) {
	t.Helper()
	var raw *http.Response
	before := requestFilterStreams(t, p.g)
	client := newClient(p.g, master)
	_, err = client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model: model, Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("which one")},
	}, append(opts, option.WithResponseInto(&raw))...)
	if raw != nil {
		code, h = raw.StatusCode, raw.Header
	}
	return code, h, requestFilterStreams(t, p.g) == before, err
}

// fail makes every call under prefix answer status.
func (p routerPath) fail(t *testing.T, prefix string, status int) {
	t.Helper()
	must(t, p.fake.AddRule(fakeprovider.Rule{Match: fakeprovider.Match{PathPrefix: prefix}, Fault: fakeprovider.Fault{Status: status, ErrorMessage: prefix + " is down"}}))
	t.Cleanup(p.fake.ClearRules)
}

func orderConfig(fake string) string {
	return fmt.Sprintf(`
model_list:
  - model_name: ordered
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/o2/v1, api_key: k, order: 2}
  - model_name: ordered
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/ou/v1, api_key: k}
  - model_name: ordered
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/o1/v1, api_key: k, order: 1}
  - model_name: ordered
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/o3/v1, api_key: k, order: 3}
  - model_name: after
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/after/v1, api_key: k}
router_settings:
  num_retries: 1
  allowed_fails: 100
  cooldown_time: 60
  fallbacks: [{"ordered": ["after"]}]
general_settings:
  master_key: %[2]s
`, fake, master)
}

// TestRouterOrder (D89): litellm_params.order through the real Envoy with
// openai-go, on the module path and on ext_proc. Only the lowest order
// answers while it can (the unordered deployment and the higher orders get
// nothing; the module serves it); when it fails, each higher order is a
// fallback of its own (1 + num_retries tries, x-litellm-attempted-fallbacks
// counting the hops), then the group's fallbacks; a cooling lowest order
// makes the next order the group's own (x-litellm-attempted-fallbacks 0).
// Before D89 `order` did nothing: the shuffle spread the requests over the
// four deployments.
func TestRouterOrder(t *testing.T) {
	eachRequestFilter(t, orderConfig, func(t *testing.T, p routerPath) {
		t.Run("the lowest order answers", func(t *testing.T) {
			p.fake.Reset()
			for i := range 12 {
				code, h, module, err := p.chat(t, "ordered")
				if err != nil || code != 200 {
					t.Fatalf("request %d: %d %v", i, code, err)
				}
				if got := h.Get("x-litellm-attempted-fallbacks"); got != "0" {
					t.Errorf("x-litellm-attempted-fallbacks %q, want 0", got)
				}
				if p.name == "module" && !module {
					t.Errorf("request %d was handed to ext_proc: the module must serve an ordered group", i)
				}
			}
			if c := p.fake.Counts(); p.fake.Count("/o1/") != 12 {
				t.Fatalf("calls %v, want all 12 on the order-1 deployment", c)
			}
		})
		for _, tc := range []struct {
			name, calls, fallbacks, group string
			failing                       []string
		}{
			{"higher orders are fallbacks", "2 2 1 0 0", "2", "ordered", []string{"/o1/", "/o2/"}},
			{"then the group's fallbacks", "2 2 2 0 1", "3", "after", []string{"/o1/", "/o2/", "/o3/"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				p.fake.Reset()
				for _, prefix := range tc.failing {
					p.fail(t, prefix, 500)
				}
				code, h, _, err := p.chat(t, "ordered")
				if err != nil || code != 200 {
					t.Fatalf("%d %v", code, err)
				}
				// 1 + num_retries calls per failing order.
				if got := fmt.Sprint(p.fake.Count("/o1/"), p.fake.Count("/o2/"), p.fake.Count("/o3/"), p.fake.Count("/ou/"), p.fake.Count("/after/")); got != tc.calls {
					t.Errorf("calls o1 o2 o3 ou after = %s, want %s; %v", got, tc.calls, p.fake.Counts())
				}
				for k, want := range map[string]string{"x-litellm-attempted-fallbacks": tc.fallbacks, "x-litellm-attempted-retries": "0", "x-litellm-model-group": tc.group} {
					if got := h.Get(k); got != want {
						t.Errorf("%s %q, want %q", k, got, want)
					}
				}
			})
		}
		t.Run("a cooling lowest order: the next order is the group's own", func(t *testing.T) {
			p.fake.Reset()
			mark := logMark(p.g)
			p.fail(t, "/o1/", 429) // a 429 in a group of several cools the deployment down at once
			if code, _, _, err := p.chat(t, "ordered"); err != nil || code != 200 {
				t.Fatalf("%d %v", code, err)
			}
			waitCooling(t, p.g, "ordered", mark)
			p.fake.Reset()
			code, h, _, err := p.chat(t, "ordered")
			if err != nil || code != 200 {
				t.Fatalf("%d %v", code, err)
			}
			if got := fmt.Sprint(p.fake.Count("/o1/"), p.fake.Count("/o2/"), p.fake.Count("/o3/"), p.fake.Count("/ou/")); got != "0 1 0 0" {
				t.Errorf("calls o1 o2 o3 ou = %s, want 0 1 0 0 (o1 cooling); %v", got, p.fake.Counts())
			}
			if got := h.Get("x-litellm-attempted-fallbacks"); got != "0" {
				t.Errorf("x-litellm-attempted-fallbacks %q, want 0", got)
			}
		})
	})
}
