package extproc

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"net/netip"
	"net/url"
	"strconv"
	"strings"
	"time"

	extprocv3 "github.com/envoyproxy/go-control-plane/envoy/service/ext_proc/v3"
	"github.com/tidwall/gjson"
	"github.com/tidwall/sjson"
	"google.golang.org/protobuf/types/known/structpb"

	"github.com/llmgate/llmgate/config"
	"github.com/llmgate/llmgate/internal/contract"
	"github.com/llmgate/llmgate/internal/provider"
	"github.com/llmgate/llmgate/internal/upstream"
	llmgatev1 "github.com/llmgate/llmgate/proto/llmgate/v1"
	"github.com/llmgate/llmgate/translator"
)

// Client-side credentials (docs/architecture.md D156). LiteLLM refuses a
// request body that carries one of its banned params (api_base, base_url,
// the AWS, Vertex and Azure identity fields, observability hosts and keys,
// custom prices) unless general_settings.allow_client_side_credentials is
// true or the model group's configurable_clientside_auth_params names the
// param (for api_base: a regex its value matches). A body's own api_key
// (never banned) and an allowed api_base / base_url make LiteLLM build a
// deployment of them for that request: llmgate sends the request to that
// base through an original-destination cluster, with that key, and never
// with the deployment's credentials.

var (
	bannedBody     = setOf(bannedBodyParams)
	bannedMetadata = func() []string {
		// LiteLLM's metadata list leaves out the Azure Entra ID params.
		out := make([]string, 0, len(bannedBodyParams))
		for _, p := range bannedBodyParams {
			if !entraParams[p] {
				out = append(out, p)
			}
		}
		return out
	}()
	entraParams = setOf([]string{"tenant_id", "client_id", "client_secret", "azure_username", "azure_password", "azure_scope"})
	// secretParams are the params whose value may not be a secret
	// reference (LiteLLM's _SECRET_RESOLVING_PARAMS: the banned ones, the
	// deployment credential fields and the client-side credential keys).
	secretParams = setOf(append(append([]string{}, bannedBodyParams...), strings.Fields(`
		api_key api_base base_url api_version azure_ad_token region_name gcs_bucket_name bucket_name
		aws_access_key_id aws_secret_access_key aws_session_token aws_region_name vertex_project vertex_location
		s3_bucket_name s3_region_name s3_access_key_id s3_secret_access_key s3_encryption_key_id s3_bucket_owner
		aws_batch_role_arn s3_output_bucket_name watsonx_region_name organization extra_body extra_headers
		default_headers api_type azure_ad_token_provider oci_signer oci_user oci_fingerprint oci_tenancy oci_key
		oci_key_file`)...))
	// clientSideTrigger are the top-level keys that send a body through
	// checkClientSide: the banned params, the client-side credential keys
	// and the containers LiteLLM looks into.
	clientSideTrigger = func() map[string]bool {
		m := setOf(bannedBodyParams)
		for _, k := range []string{"api_key", "extra_body", "litellm_embedding_config", "metadata", "litellm_metadata", "litellm_params"} {
			m[k] = true
		}
		return m
	}()
)

func setOf(ss []string) map[string]bool {
	m := make(map[string]bool, len(ss))
	for _, s := range ss {
		m[s] = true
	}
	return m
}

// clientCreds are a request's own credentials: its api_key and its base
// (api_base, else base_url), as sent ("" when absent).
type clientCreds struct {
	key, base string
	hasKey    bool
}

// rejected is LiteLLM's refusal of an unsafe body: its ValueError becomes
// the auth check's 401 "Authentication Error, …".
func rejected(msg string) *translator.Error {
	return &translator.Error{Status: 401, Type: "auth_error", Code: "401", Message: "Authentication Error, " + msg}
}

func bannedMessage(param string) string {
	return "Rejected Request: " + param + " is not allowed in request body. " +
		"Clientside passthrough requires explicit admin opt-in via " +
		"either `general_settings.allow_client_side_credentials = true` " +
		"(proxy-wide) or `configurable_clientside_auth_params` on the " +
		"deployment in your proxy config.yaml. " +
		"Relevant Issue: https://huntr.com/bounties/4001e1a2-7b7a-4776-a3ae-e6692ec3d997"
}

// checkClientSide is LiteLLM's is_request_body_safe for a body whose
// top-level keys include a clientSideTrigger (model: the body's model). It
// returns the body's own credentials when it carries any. The top level is
// read in one pass.
func (st *State) checkClientSide(body []byte, model string) (*clientCreds, *translator.Error) {
	top := gjson.ParseBytes(body)
	if !top.IsObject() {
		return nil, nil
	}
	var (
		modelList bool
		nested    [len(nestedKeys)]gjson.Result
		c         clientCreds
		base      gjson.Result
		baseURL   gjson.Result
	)
	present, bad := scanBanned(top, true, func(name string, v gjson.Result) {
		switch name {
		case "model_list":
			modelList = true
		case "api_key":
			c.key, c.hasKey = v.String(), true
		case "api_base":
			base = v
		case "base_url":
			baseURL = v
		}
		for i, k := range nestedKeys {
			if name == k {
				nested[i] = v
			}
		}
	})
	if modelList {
		return nil, rejected("Rejected Request: model_list is not allowed in the request body.")
	}
	if e := st.checkBanned(present, bad, model, bannedBodyParams); e != nil {
		return nil, e
	}
	for i, k := range nestedKeys {
		n, ok := asObject(nested[i])
		if k == "litellm_params" && ok {
			n, ok = asObject(n.Get("metadata"))
		}
		if !ok {
			continue
		}
		spread := k == "litellm_embedding_config" || k == "extra_body" // (the rest are metadata)
		banned := bannedMetadata
		if spread {
			banned = bannedBodyParams
		}
		present, bad := scanBanned(n, spread, nil)
		if e := st.checkBanned(present, bad, model, banned); e != nil {
			return nil, e
		}
	}
	if base.Exists() && base.String() != "" {
		c.base = base.String()
	} else if baseURL.Exists() {
		c.base = baseURL.String()
	}
	if !c.hasKey && c.base == "" {
		return nil, nil
	}
	return &c, nil
}

// nestedKeys are the objects LiteLLM checks inside a body: two configs
// spread into the call (the banned list, secret references refused) and
// the metadata (its list; litellm_params' metadata).
var nestedKeys = [...]string{"litellm_embedding_config", "extra_body", "metadata", "litellm_metadata", "litellm_params"}

// asObject is a JSON object value, or one sent as a JSON string (multipart
// and extra_body callers send metadata so; LiteLLM parses it first).
func asObject(v gjson.Result) (gjson.Result, bool) {
	if v.IsObject() {
		return v, true
	}
	if v.Type == gjson.String {
		if p := gjson.Parse(v.String()); p.IsObject() {
			return p, true
		}
	}
	return gjson.Result{}, false
}

// scanBanned reads an object's keys once: the banned params present, and
// (secrets) the first credential param holding a secret reference; each
// key goes to fn too (when set).
func scanBanned(obj gjson.Result, secrets bool, fn func(string, gjson.Result)) (present map[string]gjson.Result, bad string) {
	obj.ForEach(func(k, v gjson.Result) bool {
		name := k.String()
		if secrets && bad == "" && secretParams[name] && v.Type == gjson.String &&
			(strings.HasPrefix(v.Str, "os.environ/") || strings.HasPrefix(v.Str, "oidc/")) {
			bad = name
		}
		if bannedBody[name] {
			if present == nil {
				present = map[string]gjson.Result{}
			}
			present[name] = v
		}
		if fn != nil {
			fn(name, v)
		}
		return true
	})
	return present, bad
}

// checkBanned is LiteLLM's _check_banned_params on one object's scan: a
// secret reference in a credential param, then each banned param present in
// LiteLLM's order: allowed by allow_client_side_credentials (then all are),
// by the model group's configurable_clientside_auth_params, or refused.
func (st *State) checkBanned(present map[string]gjson.Result, bad, model string, banned []string) *translator.Error {
	if bad != "" {
		return rejected("Rejected Request: " + bad + " holds a secret reference, which only a deployment or credential a proxy admin configures can carry.")
	}
	if len(present) == 0 {
		return nil
	}
	for _, p := range banned {
		v, ok := present[p]
		if !ok {
			continue
		}
		if st.Cfg.General.AllowClientSideCredentials {
			return nil
		}
		if config.ClientsideAllows(st.clientsideParams(model), p, v.String()) {
			continue
		}
		return rejected(bannedMessage(p))
	}
	return nil
}

// clientsideParams is the configurable_clientside_auth_params of the model
// group a request names, as LiteLLM's model group info has it: the group's
// last deployment's; for an unknown name whose prefix before "/" is a
// provider, the group of that name.
func (st *State) clientsideParams(model string) []config.ClientsideAuthParam {
	deps := st.Router.GroupDeployments(model)
	if len(deps) == 0 {
		if pfx, _, ok := strings.Cut(model, "/"); ok {
			if _, known := provider.Lookup(pfx); known {
				deps = st.Router.GroupDeployments(pfx)
			}
		}
	}
	if len(deps) == 0 {
		return nil
	}
	return deps[len(deps)-1].Params.ClientsideAuthParams
}

// clientRoute is where a request with its own credentials goes: the
// original-destination cluster, the address ("ip:port") and, for TLS, the
// name the certificate must carry.
type clientRoute struct {
	cluster, dst, sni string
}

// clientResolveTimeout bounds the resolution of a client's api_base host.
const clientResolveTimeout = 5 * time.Second

// routeClientSide plans a request that carries its own credentials: every
// try goes to its base (its api_base, else the first try's deployment's,
// keeping only the tries on that deployment's host), through a client-side
// cluster to an address resolved here. A client's base must be http or
// https and, unless litellm_settings allows it, resolve to public addresses
// only; the deployments must take key credentials.
func (st *State) routeClientSide(c *clientCreds, plan []*llmgatev1.Attempt) ([]*llmgatev1.Attempt, *clientRoute, *translator.Error) {
	for _, a := range plan {
		d, ok := st.Router.Deployment(a.DeploymentId)
		if !ok {
			continue
		}
		prov := d.Provider
		if prov == "" {
			prov = a.Provider
		}
		if p, _ := provider.Lookup(prov); p.Auth == provider.AuthSigV4 || p.Auth == provider.AuthGoogleADC {
			return nil, nil, translator.NewError(400, "invalid_request_error",
				"Rejected Request: llmgate does not send a request's own api_key or api_base to provider "+prov+" (its credentials are not an API key)", "")
		}
	}
	var base upstream.Base
	if c.base != "" {
		u, err := url.Parse(c.base)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Hostname() == "" || u.User != nil {
			return nil, nil, rejected("Rejected request: client-side api_base must be an http or https URL with a host and no user info.")
		}
		if base, err = upstream.Parse(c.base); err != nil {
			return nil, nil, rejected("Rejected request: client-side api_base: " + err.Error())
		}
	} else {
		d, ok := st.Router.Deployment(plan[0].DeploymentId)
		if !ok {
			return nil, nil, translator.NewError(500, "internal_server_error", "deployment "+plan[0].DeploymentId+" was removed by a config reload", "")
		}
		dc := *d
		if dc.Provider == "" {
			dc.Provider = plan[0].Provider
		}
		var err error
		if base, err = upstream.For(&dc); err != nil {
			return nil, nil, translator.NewError(500, "internal_server_error", err.Error(), "")
		}
		kept := plan[:0:0]
		for _, a := range plan {
			if ad, ok := st.Router.Deployment(a.DeploymentId); ok {
				adc := *ad
				if adc.Provider == "" {
					adc.Provider = a.Provider
				}
				if b, err := upstream.For(&adc); err == nil && b.Host == base.Host && b.Port == base.Port && b.TLS == base.TLS {
					kept = append(kept, a)
				}
			}
		}
		plan = kept
	}
	check := c.base != "" && !st.Cfg.LiteLLM.NoUserURLValidation && !userURLAllowed(st.Cfg.LiteLLM.UserURLAllowedHosts, base.Host, base.Port)
	ip, e := resolveChecked(base.Host, check)
	if e != nil {
		return nil, nil, e
	}
	r := &clientRoute{cluster: contract.ClientSideCluster, dst: net.JoinHostPort(ip.String(), strconv.Itoa(int(base.Port)))}
	if base.TLS {
		r.cluster, r.sni = contract.ClientSideTLSCluster, base.Host
	}
	return plan, r, nil
}

// resolveChecked is the address a request's try connects to: the host's
// first IPv4 address (else IPv6); with check, every address the name has
// must be public (LiteLLM's validate_url: all resolved addresses checked).
func resolveChecked(host string, check bool) (netip.Addr, *translator.Error) {
	var addrs []netip.Addr
	if a, err := netip.ParseAddr(host); err == nil {
		addrs = []netip.Addr{a}
	} else {
		ctx, cancel := context.WithTimeout(context.Background(), clientResolveTimeout)
		defer cancel()
		ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
		if err != nil || len(ips) == 0 {
			return netip.Addr{}, rejected("Rejected request: client-side api_base is rejected by the SSRF guard (DNS resolution failed for '" + host + "').")
		}
		addrs = ips
	}
	pick := netip.Addr{}
	for _, a := range addrs {
		a = a.Unmap()
		if check && blockedAddr(a) {
			return netip.Addr{}, rejected("Rejected request: client-side api_base is rejected by the SSRF guard (URL targets a blocked address (" + a.String() + "). " +
				"If this is a legitimate internal service, add the host to `user_url_allowed_hosts` in litellm_settings.).")
		}
		if !pick.IsValid() || pick.Is6() && a.Is4() {
			pick = a
		}
	}
	return pick, nil
}

// notGlobal are the IANA special-purpose ranges Python's ip_address.is_global
// is false for, with LiteLLM's exceptions (Azure's wire server, 192.0.0.0/24).
var notGlobal = func() []netip.Prefix {
	var out []netip.Prefix
	for _, s := range strings.Fields(`0.0.0.0/8 10.0.0.0/8 100.64.0.0/10 127.0.0.0/8 169.254.0.0/16 172.16.0.0/12
		192.0.0.0/24 192.0.2.0/24 192.88.99.0/24 192.168.0.0/16 198.18.0.0/15 198.51.100.0/24 203.0.113.0/24 224.0.0.0/4 240.0.0.0/4
		168.63.129.16/32 ::/128 ::1/128 64:ff9b:1::/48 100::/64 2001::/23 2001:db8::/32 2002::/16 fc00::/7 fe80::/10 ff00::/8`) {
		out = append(out, netip.MustParsePrefix(s))
	}
	return out
}()

// blockedAddr reports an address a client's api_base may not reach.
func blockedAddr(a netip.Addr) bool {
	for _, p := range notGlobal {
		if p.Contains(a) {
			return true
		}
	}
	return false
}

// userURLAllowed is LiteLLM's _is_host_allowlisted: an entry "host" (any
// port) or "host:port", IPv6 written "[addr]", compared without case and
// trailing dot.
func userURLAllowed(allowed []string, host string, port uint32) bool {
	if len(allowed) == 0 {
		return false
	}
	h := strings.TrimRight(strings.ToLower(host), ".")
	if strings.Contains(h, ":") {
		h = "[" + h + "]"
	}
	withPort := h + ":" + strconv.Itoa(int(port))
	for _, e := range allowed {
		e = strings.TrimRight(strings.ToLower(e), ".")
		if e == h || e == withPort {
			return true
		}
	}
	return false
}

// clientPlan is llmgate.plan for a request with its own credentials: every
// attempt on the client-side cluster.
func clientPlan(plan []*llmgatev1.Attempt, cluster string) *structpb.Value {
	groups := make([]*structpb.Value, len(plan))
	for i := range plan {
		groups[i] = clusterGroup(i, cluster)
	}
	return structpb.NewStructValue(&structpb.Struct{Fields: map[string]*structpb.Value{"priority_groups": structpb.NewListValue(&structpb.ListValue{Values: groups})}})
}

// withoutClientKey is body without its api_key, for what keeps a request
// (store_prompts_in_spend_logs): a client's key is never stored.
func withoutClientKey(body []byte, c *clientCreds) []byte {
	if c == nil || !c.hasKey {
		return body
	}
	out, err := sjson.DeleteBytes(append([]byte(nil), body...), "api_key")
	if err != nil {
		return nil
	}
	return out
}

// readClientCreds are a body's own api_key and base (api_base, else
// base_url).
func readClientCreds(top gjson.Result) clientCreds {
	var c clientCreds
	if v := top.Get("api_key"); v.Exists() {
		c.key, c.hasKey = v.String(), true
	}
	if v := top.Get("api_base"); v.Exists() && v.String() != "" {
		c.base = v.String()
	} else if v := top.Get("base_url"); v.Exists() {
		c.base = v.String()
	}
	return c
}

// clientTryDeployment is the deployment of a try on a client-side cluster:
// the plan's entry for the try's attempt number.
func clientTryDeployment(msg *extprocv3.ProcessingRequest) (string, string) {
	rc, err := decodeContext(contextFromMetadata(msg))
	if err != nil || len(rc.Attempts) == 0 {
		return "", ""
	}
	i := max(requestAttemptIndex(msg), 0)
	if i >= len(rc.Attempts) {
		i = len(rc.Attempts) - 1
	}
	return rc.Attempts[i].DeploymentId, rc.Attempts[i].Provider
}

// useClientCreds makes the try's deployment the one LiteLLM builds for a
// request with its own credentials (get_dynamic_litellm_params): the
// config's deployment with the request's api_key and base; with a base of
// its own, none of the deployment's other credentials or headers (its key
// included when the request sends none). Its id is its own, so nothing the
// try reports is the config deployment's.
func (t *try) useClientCreds(body []byte) *translator.Error {
	c := readClientCreds(gjson.ParseBytes(body))
	dc := *t.d
	if c.hasKey {
		dc.Params.APIKey = c.key
	}
	if c.base != "" {
		p := &dc.Params
		p.APIBase = c.base
		if !c.hasKey {
			p.APIKey = ""
		}
		p.Organization, p.ExtraHeaders = "", nil
		p.AzureADToken, p.TenantID, p.ClientID, p.ClientSecret, p.AzureUsername, p.AzurePassword, p.AzureScope = "", "", "", "", "", "", ""
		p.AWSAccessKeyID, p.AWSSecretAccessKey, p.AWSSessionToken = "", "", ""
		p.AWSRoleName, p.AWSSessionName, p.AWSWebIdentityToken, p.AWSSTSEndpoint, p.AWSProfileName, p.AWSExternalID = "", "", "", "", "", ""
		p.AWSBedrockRuntimeEndpoint, p.VertexCredentials = "", ""
	}
	sum := sha256.Sum256([]byte(t.d.ID + "\x00" + c.base + "\x00" + c.key))
	dc.ID = "clientside-" + hex.EncodeToString(sum[:8])
	base, err := upstream.For(&dc)
	if err != nil {
		return translator.NewError(400, "invalid_request_error", err.Error(), "")
	}
	t.d, t.base = &dc, base
	t.target.APIBase = upstream.WithoutQuery(upstream.APIBase(&dc))
	t.target.DeploymentID = dc.ID
	return nil
}
