package e2e

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"testing"

	"github.com/openai/openai-go/v3"
	"github.com/openai/openai-go/v3/option"

	"github.com/llmgate/llmgate/internal/fakeprovider"
)

// LiteLLM 1.109.1's refusal of a banned body param (auth_utils.py
// _check_banned_params, raised as the auth check's 401).
func bannedWords(param string) string {
	return "Authentication Error, Rejected Request: " + param + " is not allowed in request body. " +
		"Clientside passthrough requires explicit admin opt-in via either `general_settings.allow_client_side_credentials = true` " +
		"(proxy-wide) or `configurable_clientside_auth_params` on the deployment in your proxy config.yaml. " +
		"Relevant Issue: https://huntr.com/bounties/4001e1a2-7b7a-4776-a3ae-e6692ec3d997"
}

// clientSideConfig: "gpt" on the configured fake, without any client-side
// permission; "open" lets a request name any api_base; "rx" one matching a
// regex (the client's fake only). The client's fake (host:port) is the one
// internal host a request's api_base may reach.
func clientSideConfig(configured, client, extra string) string {
	cu, _ := url.Parse(client)
	return fmt.Sprintf(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: %[1]s/conf/v1, api_key: sk-operator-secret}
  - model_name: open
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/conf/v1
      api_key: sk-operator-secret
      configurable_clientside_auth_params: ["api_base"]
  - model_name: rx
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/conf/v1
      api_key: sk-operator-secret
      configurable_clientside_auth_params: [{api_base: '%[3]s'}]
litellm_settings:
  user_url_allowed_hosts: ["%[4]s"]
general_settings:
  master_key: %[5]s
%[6]s`, configured, client, regexp.QuoteMeta(client)+"/mine", cu.Host, master, extra)
}

// TestClientSideCredentials (D156): LiteLLM's banned body params refused with
// its words and status unless the model allows them; an allowed request's
// own api_base and api_key used for that request only, through Envoy to an
// upstream the config never named, with none of the deployment's
// credentials; internal addresses refused unless allowed.
func TestClientSideCredentials(t *testing.T) {
	for _, mode := range []string{"module", "extproc"} {
		t.Run(mode, func(t *testing.T) { testClientSide(t, []string{"--request-filter=" + mode}) })
	}
}

func testClientSide(t *testing.T, args []string) {
	configured := fakeprovider.StartT(t, fakeprovider.Options{})
	mine := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGatewayArgs(t, clientSideConfig(configured.URL(), mine.URL(), ""), args)
	client := newClient(g, master)
	ctx := context.Background()
	chat := func(model string, opts ...option.RequestOption) (*openai.ChatCompletion, error) {
		return client.Chat.Completions.New(ctx, openai.ChatCompletionNewParams{
			Model:    model,
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		}, opts...)
	}
	refused := func(t *testing.T, err error, want string) {
		t.Helper()
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) {
			t.Fatalf("want a 401, got %v", err)
		}
		if apiErr.StatusCode != 401 || apiErr.Message != want || apiErr.Type != "auth_error" || apiErr.Code != "401" {
			t.Fatalf("refusal = %d %q %q %q\nwant 401 %q", apiErr.StatusCode, apiErr.Type, apiErr.Code, apiErr.Message, want)
		}
		if n := len(configured.Requests()) + len(mine.Requests()); n != 0 {
			t.Fatalf("a refused request reached a provider (%d requests)", n)
		}
	}
	reset := func() { configured.Reset(); mine.Reset() }

	t.Run("banned params refused with LiteLLM's words", func(t *testing.T) {
		for _, c := range []struct {
			name, model, param string
			opt                option.RequestOption
		}{
			{"api_base", "gpt", "api_base", option.WithJSONSet("api_base", mine.URL()+"/mine/v1")},
			{"base_url", "gpt", "base_url", option.WithJSONSet("base_url", mine.URL()+"/mine/v1")},
			{"in extra_body", "gpt", "api_base", option.WithJSONSet("extra_body", map[string]any{"api_base": mine.URL()})},
			{"in metadata", "gpt", "langfuse_host", option.WithJSONSet("metadata", map[string]any{"langfuse_host": mine.URL()})},
			{"aws_role_name", "open", "aws_role_name", option.WithJSONSet("aws_role_name", "arn:aws:iam::1:role/x")},
			{"regex not matched", "rx", "api_base", option.WithJSONSet("api_base", configured.URL()+"/mine/v1")},
		} {
			t.Run(c.name, func(t *testing.T) {
				reset()
				_, err := chat(c.model, c.opt)
				refused(t, err, bannedWords(c.param))
			})
		}
		reset()
		_, err := chat("gpt", option.WithJSONSet("api_key", "os.environ/OPENAI_API_KEY"))
		refused(t, err, "Authentication Error, Rejected Request: api_key holds a secret reference, which only a deployment or credential a proxy admin configures can carry.")
		_, err = chat("gpt", option.WithJSONSet("model_list", []any{}))
		refused(t, err, "Authentication Error, Rejected Request: model_list is not allowed in the request body.")
	})

	t.Run("allowed api_base and api_key used for that request only", func(t *testing.T) {
		for _, model := range []string{"open", "rx"} {
			reset()
			resp, err := chat(model, option.WithJSONSet("api_base", mine.URL()+"/mine/v1"), option.WithJSONSet("api_key", "sk-client-secret"))
			if err != nil {
				t.Fatalf("%s: %v", model, err)
			}
			if resp.Choices[0].Message.Content != fakeprovider.ReplyPrefix+"hello" {
				t.Fatalf("content = %q", resp.Choices[0].Message.Content)
			}
			if n := len(configured.Requests()); n != 0 {
				t.Fatalf("%s: the configured upstream was called %d times", model, n)
			}
			rec, ok := mine.Last()
			if !ok {
				t.Fatalf("%s: the client's api_base was not called", model)
			}
			if rec.Path != "/mine/v1/chat/completions" || rec.Header.Get("Authorization") != "Bearer sk-client-secret" {
				t.Fatalf("%s: upstream got %s with Authorization %q", model, rec.Path, rec.Header.Get("Authorization"))
			}
			if strings.Contains(fmt.Sprint(rec.Header), master) || strings.Contains(fmt.Sprint(rec.Header), "sk-operator") {
				t.Fatalf("%s: a gateway or deployment key reached the client's base: %v", model, rec.Header)
			}
			for k := range rec.Header {
				if strings.HasPrefix(strings.ToLower(k), "x-llmgate") {
					t.Fatalf("%s: internal header %s reached the client's base", model, k)
				}
			}
			var body map[string]any
			if err := json.Unmarshal(rec.Body, &body); err != nil {
				t.Fatal(err)
			}
			if _, ok := body["api_key"]; ok || body["api_base"] != nil || body["model"] != "gpt-4o" {
				t.Fatalf("%s: upstream body %s", model, rec.Body)
			}
		}
		// The next request, without credentials, is the configured one's.
		reset()
		if _, err := chat("open"); err != nil {
			t.Fatal(err)
		}
		rec, ok := configured.Last()
		if !ok || len(mine.Requests()) != 0 || rec.Header.Get("Authorization") != "Bearer sk-operator-secret" {
			t.Fatalf("the next request: configured called %v (%q), client's base %d", ok, rec.Header.Get("Authorization"), len(mine.Requests()))
		}
	})

	t.Run("api_key alone goes to the deployment's base", func(t *testing.T) {
		reset()
		if _, err := chat("gpt", option.WithJSONSet("api_key", "sk-client-secret")); err != nil {
			t.Fatal(err)
		}
		rec, ok := configured.Last()
		if !ok || rec.Path != "/conf/v1/chat/completions" || rec.Header.Get("Authorization") != "Bearer sk-client-secret" {
			t.Fatalf("configured got %v %s %q", ok, rec.Path, rec.Header.Get("Authorization"))
		}
	})

	t.Run("api_base without api_key: no deployment key sent", func(t *testing.T) {
		reset()
		if _, err := chat("open", option.WithJSONSet("api_base", mine.URL()+"/mine/v1")); err != nil {
			t.Fatal(err)
		}
		rec, ok := mine.Last()
		if !ok || rec.Header.Get("Authorization") != "" {
			t.Fatalf("client's base got %v, Authorization %q", ok, rec.Header.Get("Authorization"))
		}
	})

	t.Run("internal address not allowed", func(t *testing.T) {
		// 127.0.0.1 on the configured fake's port is not in user_url_allowed_hosts.
		reset()
		_, err := chat("open", option.WithJSONSet("api_base", configured.URL()+"/mine/v1"), option.WithJSONSet("api_key", "sk-client-secret"))
		var apiErr *openai.Error
		if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 || !strings.Contains(apiErr.Message, "URL targets a blocked address (127.0.0.1)") {
			t.Fatalf("want the SSRF guard's 401, got %v", err)
		}
		for _, u := range []string{"ftp://example.com/v1", "http://user:pw@" + strings.TrimPrefix(mine.URL(), "http://")} {
			_, err = chat("open", option.WithJSONSet("api_base", u))
			if !errors.As(err, &apiErr) || apiErr.StatusCode != 401 {
				t.Fatalf("%s: want a 401, got %v", u, err)
			}
		}
		if n := len(configured.Requests()) + len(mine.Requests()); n != 0 {
			t.Fatalf("a refused request reached a provider (%d requests)", n)
		}
	})

	t.Run("the client's key is never logged", func(t *testing.T) {
		if strings.Contains(g.Logs(), "sk-client-secret") {
			t.Fatalf("the client's key is in the gateway's output")
		}
	})
}

// TestClientSideCredentialsProxyWide (D156): allow_client_side_credentials
// lets every banned param through for every model; the request goes to its
// own base.
func TestClientSideCredentialsProxyWide(t *testing.T) {
	configured := fakeprovider.StartT(t, fakeprovider.Options{})
	mine := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, clientSideConfig(configured.URL(), mine.URL(), "  allow_client_side_credentials: true\n"))
	client := newClient(g, master)
	resp, err := client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
		Model:    "gpt",
		Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
	}, option.WithJSONSet("base_url", mine.URL()+"/mine/v1"), option.WithJSONSet("api_key", "sk-client-secret"),
		option.WithJSONSet("aws_role_name", "arn:aws:iam::1:role/x"))
	if err != nil {
		t.Fatal(err)
	}
	if resp.Choices[0].Message.Content != fakeprovider.ReplyPrefix+"hello" {
		t.Fatalf("content = %q", resp.Choices[0].Message.Content)
	}
	rec, ok := mine.Last()
	if !ok || len(configured.Requests()) != 0 || rec.Header.Get("Authorization") != "Bearer sk-client-secret" {
		t.Fatalf("client's base called %v (%q), configured %d", ok, rec.Header.Get("Authorization"), len(configured.Requests()))
	}
	if strings.Contains(string(rec.Body), "aws_role_name") || strings.Contains(string(rec.Body), "base_url") {
		t.Fatalf("LiteLLM's own params reached the provider: %s", rec.Body)
	}
}

// TestClientSideCredentialsTLS (D156): a request's own https api_base is
// reached through the TLS client-side cluster, its certificate verified
// (ssl_verify's CA bundle, the certificate's IP SAN); an https base whose
// certificate does not name it is refused by Envoy, never sent the key.
func TestClientSideCredentialsTLS(t *testing.T) {
	pki := newTestPKI(t)
	serverCert, err := tls.LoadX509KeyPair(pki.ServerCert, pki.ServerKey)
	if err != nil {
		t.Fatal(err)
	}
	mine := startTLSFake(t, &tls.Config{Certificates: []tls.Certificate{serverCert}})
	configured := fakeprovider.StartT(t, fakeprovider.Options{})
	g := startGateway(t, fmt.Sprintf(`
model_list:
  - model_name: open
    litellm_params:
      model: openai/gpt-4o
      api_base: %[1]s/conf/v1
      api_key: sk-operator-secret
      configurable_clientside_auth_params: ["api_base"]
litellm_settings:
  num_retries: 0
  ssl_verify: %[2]s
  user_url_validation: false
general_settings:
  master_key: %[3]s
`, configured.URL(), pki.CA, master))
	client := newClient(g, master)
	ask := func(base string) (*openai.ChatCompletion, error) {
		return client.Chat.Completions.New(context.Background(), openai.ChatCompletionNewParams{
			Model:    "open",
			Messages: []openai.ChatCompletionMessageParamUnion{openai.UserMessage("hello")},
		}, option.WithJSONSet("api_base", base), option.WithJSONSet("api_key", "sk-client-secret"))
	}
	resp, err := ask(mine.URL + "/mine/v1")
	if err != nil {
		t.Fatalf("%v\n%s", err, g.Logs())
	}
	if resp.Choices[0].Message.Content != fakeprovider.ReplyPrefix+"hello" {
		t.Fatalf("content = %q", resp.Choices[0].Message.Content)
	}
	rec, ok := mine.Last()
	if !ok || rec.Header.Get("Authorization") != "Bearer sk-client-secret" || len(configured.Requests()) != 0 {
		t.Fatalf("client's base called %v (%q), configured %d", ok, rec.Header.Get("Authorization"), len(configured.Requests()))
	}
	// The same server named by a name its certificate does not carry.
	mine.Reset()
	other := strings.Replace(mine.URL, "127.0.0.1", "localhost", 1)
	if _, err := ask(other + "/mine/v1"); err == nil {
		t.Fatalf("a certificate that does not name localhost was accepted")
	}
	if n := len(mine.Requests()); n != 0 {
		t.Fatalf("the client's key went to a host whose certificate does not name it (%d requests)", n)
	}
}
