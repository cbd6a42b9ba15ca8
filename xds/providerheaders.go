package xds

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	luav3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// ProviderHeadersPrefix is what LiteLLM puts before a provider's response
// header's name when it returns it to the client
// (litellm_core_utils/core_helpers.py process_response_headers:
// "llm_provider-" + the name; a name already so prefixed is kept as is).
const ProviderHeadersPrefix = "llm_provider-"

// ProviderHeadersLua copies each header of a provider's answer as
// llm_provider-<name> (litellm_settings.return_response_headers, D110).
// The filter sits last before the router, so on the way back it is the
// first to see the answer: the provider's headers and the router's own
// (x-envoy-upstream-service-time, present only on an answer from upstream —
// Envoy's local replies are left alone), before the module or ext_proc add
// llmgate's. Envoy's own x-envoy-* headers, llmgate's x-litellm-* and
// internal x-llmgate-* ones (set by the per-try filters) and pseudo-headers
// are not copied; a name that already has the prefix is not prefixed
// twice. Headers are collected first: the map may not change while it is
// iterated.
const ProviderHeadersLua = `
function envoy_on_response(h)
  local hs = h:headers()
  if hs:get("x-envoy-upstream-service-time") == nil then
    return
  end
  local copies = {}
  for k, v in pairs(hs) do
    if k:byte(1) ~= 58 and k:sub(1, 13) ~= "llm_provider-" and k:sub(1, 8) ~= "x-envoy-"
      and k:sub(1, 9) ~= "x-litellm" and k:sub(1, 9) ~= "x-llmgate" then
      copies[#copies + 1] = k
      copies[#copies + 1] = v
    end
  end
  for i = 1, #copies, 2 do
    hs:add("llm_provider-" .. copies[i], copies[i + 1])
  end
end
`

func providerHeadersFilter() (*hcmv3.HttpFilter, error) {
	f, err := typedFilter("envoy.filters.http.lua", &luav3.Lua{
		DefaultSourceCode: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: ProviderHeadersLua}},
	})
	if err != nil {
		return nil, err
	}
	f.Name = "llmgate.provider_headers"
	return f, nil
}
