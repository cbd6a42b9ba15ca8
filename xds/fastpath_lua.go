package xds

import (
	corev3 "github.com/envoyproxy/go-control-plane/envoy/config/core/v3"
	luav3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/http/lua/v3"
	hcmv3 "github.com/envoyproxy/go-control-plane/envoy/extensions/filters/network/http_connection_manager/v3"
)

// FastPathLua is the listener's Lua filter (after the request filter, before
// the router). On the response of a request the request filter tagged fast
// (it wrote llmgate.fp) that a try answered below 400, it does what the
// attempt filter did on a success (D16, D45, D49):
//   - adds the x-litellm-* headers of the try that answered: the request
//     filter wrote them into llmgate.fp (shared ones once in "h", the rest
//     per plan entry in "a"), and Envoy's x-envoy-attempt-count response
//     header says which entry answered (the filter removes it from every
//     response);
//   - a JSON answer is read once with a depth-tracking scanner: the
//     TOP-LEVEL "model" (nested "model" keys are left alone) is restamped
//     with the requested name, and the top-level usage is written to the
//     dynamic metadata namespace llmgate.usage (prompt_tokens,
//     completion_tokens, total_tokens, cached_tokens = prompt_tokens_details.
//     cached_tokens, model = the provider's answer, finish
//     = a choice's finish_reason) for the access-log service, and priced
//     into x-litellm-response-cost;
//   - a stream (llmgate.fp "st") is rewritten event by event as it passes
//     (nothing is held but an event split across chunks): each chunk's
//     top-level "model" restamped, a "created" of 0 stamped with the
//     request's start, the usage chunk the gateway asked for read into
//     llmgate.usage and, when the client did not ask for it (llmgate.fp "u"
//     unset), removed with every chunk's "usage" key — as the attempt
//     filter's openAIStream does. When the stream's `data: [DONE]` passes,
//     the usage is recorded at once with llmgate.usage "done" (the answer
//     is whole for the client, which may close before the provider's end of
//     stream: D76); the outcome log then reports the try as answered even
//     when the client's close cut it (DC). An OpenAI-format error event
//     (a top-level "error" after the 200 headers) is recorded at once too,
//     its JSON (at most 16 KB, else {"error":true}) in llmgate.usage "error":
//     the outcome log counts the try as the failure LiteLLM counts (D82).
//
// Errors (>= 400) were answered by the attempt filter; bodies over 4 MB are
// not read.
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

-- scan reads a JSON object: the top-level "model" (its value's span),
-- "usage" (numbers, and the span of the key and its value), "created" when
-- it is 0, whether "choices" is a non-empty array, and a choice's
-- finish_reason.
local function scan(s)
  local r = {u = {}}
  local i, depth = 1, 0
  local key1, key2, ustart
  while true do
    local p = string.find(s, '[{}%[%]"]', i)
    if p == nil then break end
    local c = string.byte(s, p)
    if c == 34 then
      local q = str_end(s, p)
      if q == nil then break end
      local t = skip_ws(s, q + 1)
      if t ~= nil and string.byte(s, t) == 58 then
        local k = string.sub(s, p + 1, q - 1)
        i = t + 1
        if depth == 1 then
          key1 = k
          local v = skip_ws(s, t + 1)
          if k == "model" and v ~= nil and string.byte(s, v) == 34 then
            local e = str_end(s, v)
            if e == nil then break end
            r.ms, r.me, r.model = v, e, string.sub(s, v + 1, e - 1)
            i = e + 1
          elseif k == "usage" and v ~= nil then
            r.us = p
            if string.sub(s, v, v + 3) == "null" then
              r.ue, r.unull = v + 3, true
              i = v + 4
            else
              ustart = v
            end
          elseif k == "choices" and v ~= nil then
            r.choices = string.find(s, "^%[%s*[^%s%]]", v) ~= nil
          elseif k == "error" and v ~= nil then
            r.err = string.sub(s, v, v + 3) ~= "null"
          elseif k == "created" and v ~= nil then
            local z = string.match(s, "^0()[%s,}]", v)
            if z ~= nil then r.cs, r.ce = v, v end
          end
        elseif depth == 2 and key1 == "usage" then
          key2 = k
          local n = string.match(s, "^%s*(%d+)", t + 1)
          if n ~= nil then r.u[k] = tonumber(n) end
        elseif depth == 3 and key1 == "usage" and key2 == "prompt_tokens_details" and k == "cached_tokens" then
          local n = string.match(s, "^%s*(%d+)", t + 1)
          if n ~= nil then r.u["cached_tokens"] = tonumber(n) end
        elseif depth == 3 and key1 == "choices" and k == "finish_reason" then
          local v = skip_ws(s, t + 1)
          if v ~= nil and string.byte(s, v) == 34 then
            local e = str_end(s, v)
            if e == nil then break end
            local f = string.sub(s, v + 1, e - 1)
            if f ~= "" then r.finish = f end
            i = e + 1
          end
        end
      else
        i = q + 1
      end
    elseif c == 123 or c == 91 then
      depth = depth + 1
      i = p + 1
    else
      depth = depth - 1
      if depth == 1 and ustart ~= nil and r.ue == nil then r.ue = p end
      i = p + 1
    end
  end
  return r
end

local function jstr(v)
  local out = string.gsub(v, '[%c"\\]', function(ch)
    if ch == '"' then return '\\"' end
    if ch == '\\' then return '\\\\' end
    return string.format("\\u%04x", string.byte(ch))
  end)
  return '"' .. out .. '"'
end

-- splice applies edits {from, to, text} (disjoint) to s.
local function splice(s, ed)
  table.sort(ed, function(x, y) return x[1] > y[1] end)
  for _, e in ipairs(ed) do
    s = string.sub(s, 1, e[1] - 1) .. e[3] .. string.sub(s, e[2] + 1)
  end
  return s
end

-- keep records what an answer told: usage, the provider's model, finish.
local function keep(st, r)
  for _, k in ipairs({"prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens"}) do
    if r.u[k] ~= nil then st.u[k] = r.u[k] end
  end
  if r.model ~= nil then st.model = r.model end
  if r.finish ~= nil then st.finish = r.finish end
end

-- chunk rewrites one stream event's JSON data; nil drops the event (the
-- usage chunk the client did not ask for).
local function chunk(d, st)
  local r = scan(d)
  keep(st, r)
  if r.err and st.err == nil then st.err = d end
  local ed = {}
  if st.strip and r.us ~= nil and r.ue ~= nil then
    if not r.unull and not r.choices then return nil end
    local from, to = r.us, r.ue
    local n = skip_ws(d, to + 1)
    if n ~= nil and string.byte(d, n) == 44 then
      to = n
    else
      local b = from - 1
      while b > 0 and string.find(string.sub(d, b, b), "^%s") do b = b - 1 end
      if b > 0 and string.byte(d, b) == 44 then from = b end
    end
    ed[#ed + 1] = {from, to, ""}
  end
  if r.ms ~= nil and st.m ~= nil and st.m ~= "" and r.model ~= st.m then
    ed[#ed + 1] = {r.ms, r.me, jstr(st.m)}
  end
  if r.cs ~= nil and st.created ~= nil then
    ed[#ed + 1] = {r.cs, r.ce, st.created}
  end
  if #ed == 0 then return d end
  return splice(d, ed)
end

-- quick rewrites the usual chunk with a few searches, no scan: a top-level
-- "model" before any nested object, a trailing "usage": null; false when the
-- chunk needs the scan (a usage object, a "created" of 0, an unusual order).
local function quick(d, st)
  -- maybe an error event: the scan reads it
  if string.find(d, 'rror"', 1, true) ~= nil then return false end
  if string.find(d, '"usage"', 1, true) ~= nil then
    if st.strip then
      local us = string.find(d, ',%s*"usage"%s*:%s*null%s*}%s*$')
      if us == nil then return false end
      d = string.sub(d, 1, us - 1) .. "}"
    elseif string.find(d, '"usage"%s*:%s*null') == nil then
      return false
    end
  end
  if string.find(d, '"created"%s*:%s*0[%s,}]') ~= nil then return false end
  if string.find(d, '"finish_reason"%s*:%s*"content_filter"') ~= nil then st.finish = "content_filter" end
  local ms, mq = string.find(d, '"model"%s*:%s*"')
  if ms ~= nil then
    local nb = string.find(d, "[{%[]", 2)
    if nb ~= nil and nb < ms then return false end
    local e = str_end(d, mq)
    if e == nil then return false end
    local cur = string.sub(d, mq + 1, e - 1)
    st.model = cur
    if st.m ~= nil and st.m ~= "" and cur ~= st.m then
      d = string.sub(d, 1, mq - 1) .. jstr(st.m) .. string.sub(d, e + 1)
    end
  end
  return d
end

local function rewrite(d, st)
  local r = quick(d, st)
  if r == false then r = chunk(d, st) end
  return r
end

-- event rewrites one SSE event (its lines and their endings kept).
local function event(ev, st)
  if string.sub(ev, 1, 7) == "data: {" then
    -- The usual event: one data line, then the blank line.
    local nl = string.find(ev, "\n", 8, true)
    local tail = nl and string.sub(ev, nl + 1)
    if tail == "\n" or tail == "\r\n" or tail == "" then
      local dend = nl - 1
      if string.byte(ev, dend) == 13 then dend = dend - 1 end
      local d = string.sub(ev, 7, dend)
      local r = rewrite(d, st)
      if r == nil then return "" end
      if r == d then return ev end
      return "data: " .. r .. string.sub(ev, dend + 1)
    end
  end
  local out = {}
  for line in string.gmatch(ev, "[^\n]*\n?") do
    if line ~= "" then
      local pfx, data, eol = string.match(line, "^(data:%s?)(.-)(\r?\n?)$")
      if pfx ~= nil and data == "[DONE]" then st.done = true end
      if pfx ~= nil and string.byte(data, 1) == 123 then
        local d = rewrite(data, st)
        if d == nil then return "" end
        line = pfx .. d .. eol
      end
      out[#out + 1] = line
    end
  end
  return table.concat(out)
end

local function record(h, st)
  local meta = h:streamInfo():dynamicMetadata()
  for _, k in ipairs({"prompt_tokens", "completion_tokens", "total_tokens", "cached_tokens"}) do
    if st.u[k] ~= nil then meta:set("llmgate.usage", k, st.u[k]) end
  end
  if st.model ~= nil then meta:set("llmgate.usage", "model", st.model) end
  if st.finish ~= nil then meta:set("llmgate.usage", "finish", st.finish) end
end

local function stream(h, fp, a)
  local st = {u = {}, m = a["m"], strip = fp["u"] ~= true}
  if fp["s"] ~= nil then st.created = string.format("%d", math.floor(fp["s"] / 1000)) end
  local rest, last, lastout = "", nil, ""
  for c in h:bodyChunks() do
    local s, held = rest, rest ~= ""
    local n = c:length()
    if n > 0 then s = s .. c:getBytes(0, n) end
    local out, pos = {}, 1
    while true do
      local e1, e2 = string.find(s, "\n\r?\n", pos)
      if e1 == nil then break end
      out[#out + 1] = event(string.sub(s, pos, e2), st)
      pos = e2 + 1
    end
    rest = string.sub(s, pos)
    lastout = table.concat(out)
    -- Lua strings are interned: an unchanged chunk compares equal at once.
    if held or rest ~= "" or lastout ~= s then c:setBytes(lastout) end
    last = c
    if st.done and not st.recorded then
      -- [DONE] passed: the answer is whole for the client, which may close
      -- before the provider's end of stream reaches Envoy (the official
      -- SDKs close at [DONE]; this loop then never ends): the usage and
      -- the whole answer are recorded here (D76).
      st.recorded = true
      record(h, st)
      h:streamInfo():dynamicMetadata():set("llmgate.usage", "done", true)
    end
    if st.err ~= nil and not st.errored then
      -- The provider's error event passed (after the 200 headers): the try
      -- failed; the client may close at it (the SDKs raise and close), so
      -- it is recorded here, its JSON for the outcome log to classify (D82).
      st.errored = true
      record(h, st)
      local e = st.err
      if #e > 16384 then e = '{"error":true}' end
      h:streamInfo():dynamicMetadata():set("llmgate.usage", "error", e)
    end
  end
  if rest ~= "" and last ~= nil then
    -- The stream ended inside an event (no blank line after it).
    pcall(function() last:setBytes(lastout .. event(rest, st)) end)
  end
  if not st.recorded then record(h, st) end
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
  if fp["st"] == true then
    hd:remove("content-length")
    stream(h, fp, a)
    return
  end
  local cl = tonumber(hd:get("content-length") or "0") or 0
  if cl > 4194304 then return end
  local ct = hd:get("content-type") or ""
  if string.find(ct, "json", 1, true) == nil then return end
  local body = h:body()
  if body == nil then return end
  local s = body:getBytes(0, body:length())
  hd = h:headers()
  local r = scan(s)
  local st = {u = {}}
  keep(st, r)
  record(h, st)
  local pt, ctk = r.u["prompt_tokens"] or 0, r.u["completion_tokens"] or 0
  if a["c"] == true and (pt > 0 or ctk > 0) then
    -- the cached prompt tokens at the cache-read price (D146)
    local cr = math.min(math.max(r.u["cached_tokens"] or 0, 0), pt)
    hd:replace("x-litellm-response-cost", string.format("%.12g", (pt - cr) * (a["ci"] or 0) + cr * (a["cr"] or 0) + ctk * (a["co"] or 0)))
  end
  local m = a["m"]
  if r.ms ~= nil and m ~= nil and m ~= "" and r.model ~= m then
    body:setBytes(string.sub(s, 1, r.ms - 1) .. jstr(m) .. string.sub(s, r.me + 1))
  end
end
`

// fastPathLuaFilter is the listener's Lua filter.
func fastPathLuaFilter() (*hcmv3.HttpFilter, error) {
	return typedFilter("envoy.filters.http.lua", &luav3.Lua{
		DefaultSourceCode: &corev3.DataSource{Specifier: &corev3.DataSource_InlineString{InlineString: FastPathLua}},
	})
}
