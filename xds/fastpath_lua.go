package xds

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	luav3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// FastPathLua is the listener's Lua filter (after the request filter, before
// the router). On the response of a request the request filter tagged fast
// (llmgate.ctx "fast") that a try answered below 400, it does what the
// attempt filter did on a success (D16, D45):
//   - adds the x-litellm-* headers of the try that answered: the request
//     filter wrote them per plan entry into llmgate.ctx "fp.a", and Envoy's
//     x-envoy-attempt-count response header says which entry answered (the
//     filter removes it from every response);
//   - reads the JSON body once with a depth-tracking scanner: the TOP-LEVEL
//     "model" (nested "model" keys are left alone) is restamped with the
//     requested name, and the top-level usage is written to the dynamic
//     metadata namespace llmgate.usage (prompt_tokens, completion_tokens,
//     total_tokens, model = the provider's answer) for the access-log
//     service, and priced into x-litellm-response-cost.
//
// Errors (>= 400) were answered by the attempt filter; streams and bodies
// over 4 MB are not read.
const FastPathLua = `
local function skip_ws(s, i) return string.find(s, "[^ \t\r\n]", i) end

local function str_end(s, i)
  local j = i + 1
  while true do
    j = string.find(s, '["\\]', j)
    if j == nil then return nil end
    if string.byte(s, j) == 92 then j = j + 2 else return j end
  end
end

local function scan(s)
  local i, depth = 1, 0
  local key1, ms, me, model
  local u = {}
  while true do
    local p = string.find(s, '[{}%[%]"]', i)
    if p == nil then break end
    local c = string.byte(s, p)
    if c == 34 then
      local q = str_end(s, p)
      if q == nil then break end
      local r = skip_ws(s, q + 1)
      if r ~= nil and string.byte(s, r) == 58 then
        local k = string.sub(s, p + 1, q - 1)
        if depth == 1 then
          key1 = k
          if k == "model" then
            local v = skip_ws(s, r + 1)
            if v ~= nil and string.byte(s, v) == 34 then
              local e = str_end(s, v)
              if e == nil then break end
              ms, me, model = v, e, string.sub(s, v + 1, e - 1)
              r = e
            end
          end
        elseif depth == 2 and key1 == "usage" then
          local n = string.match(s, "^%s*(%d+)", r + 1)
          if n ~= nil then u[k] = tonumber(n) end
        end
        i = r + 1
      else
        i = q + 1
      end
    elseif c == 123 or c == 91 then
      depth = depth + 1
      i = p + 1
    else
      depth = depth - 1
      i = p + 1
    end
  end
  return ms, me, model, u
end

local function jstr(v)
  local out = string.gsub(v, '[%c"\\]', function(ch)
    if ch == '"' then return '\\"' end
    if ch == '\\' then return '\\\\' end
    return string.format("\\u%04x", string.byte(ch))
  end)
  return '"' .. out .. '"'
end

function envoy_on_response(h)
  local hd = h:headers()
  local n = tonumber(hd:get("x-envoy-attempt-count") or "")
  hd:remove("x-envoy-attempt-count")
  if n == nil then return end
  local status = tonumber(hd:get(":status") or "0") or 0
  if status >= 400 then return end
  local fp = h:streamInfo():dynamicMetadata():get("llmgate.fp")
  if fp == nil or fp["a"] == nil then return end
  local a = fp["a"][n]
  if a == nil then return end
  if fp["h"] ~= nil then
    for k, v in pairs(fp["h"]) do hd:replace(k, v) end
  end
  if a["h"] ~= nil then
    for k, v in pairs(a["h"]) do hd:replace(k, v) end
  end
  if fp["s"] ~= nil then
    local ok, now = pcall(function() return h:timestampString(EnvoyTimestampResolution.MILLISECOND) end)
    if ok and now ~= nil then
      hd:replace("x-litellm-response-duration-ms", string.format("%.3f", tonumber(now) - fp["s"]))
    end
  end
  local cl = tonumber(hd:get("content-length") or "0") or 0
  if cl > 4194304 then return end
  local ct = hd:get("content-type") or ""
  if string.find(ct, "json", 1, true) == nil then return end
  local body = h:body()
  if body == nil then return end
  local s = body:getBytes(0, body:length())
  hd = h:headers()
  local ms, me, model, u = scan(s)
  local meta = h:streamInfo():dynamicMetadata()
  local pt, ctk = u["prompt_tokens"] or 0, u["completion_tokens"] or 0
  for _, k in ipairs({"prompt_tokens", "completion_tokens", "total_tokens"}) do
    if u[k] ~= nil then meta:set("llmgate.usage", k, u[k]) end
  end
  if model ~= nil then meta:set("llmgate.usage", "model", model) end
  if a["c"] == true and (pt > 0 or ctk > 0) then
    hd:replace("x-litellm-response-cost", string.format("%.12g", pt * (a["ci"] or 0) + ctk * (a["co"] or 0)))
  end
  local m = a["m"]
  if ms ~= nil and m ~= nil and m ~= "" and model ~= m then
    body:setBytes(string.sub(s, 1, ms - 1) .. jstr(m) .. string.sub(s, me + 1))
  end
end
`

// fastPathLuaFilter is the listener's Lua filter.
func fastPathLuaFilter() (*hcmv3.HttpFilter, error) {
	return typedFilter("envoy.filters.http.lua", &luav3.Lua{
		DefaultSourceCode: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: FastPathLua}},
	})
}
