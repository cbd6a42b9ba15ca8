"""Generates the dynmod spike's bootstrap: plain, pipe_static and lua_req exactly as in
docs/datapath-spike/gen.py, plus the Go dynamic-module variants, in one Envoy (one run).

  29300 plain        route -> cluster plain (pass-through, no filters)
  29306 pipe_static  pipelined ext_proc request filter + priority_group route + static clusters dep_*
  29315 lua_req      the in-process Lua stand-in of the request filter + the same route/clusters
  29317 dynmod_go    the Go dynamic module request filter (top-level scanner for "model")
  29318 dynmod_json  the same, model read with encoding/json
  29319 dynmod_att   dynmod_go + clusters g_dep_* whose per-try work is a Go upstream dynamic module filter
  29320 dynmod_tab   dynmod_go with the plan from the RoutingTable a module goroutine gets over ADS
  29321 dynmod_out   dynmod_go + per-request outcome records to a module goroutine (stream_complete)
  29322 dynmod_noop  the Go module with every hook answering Continue, route to plain (the floor of a Go module)
  29324 dynmod_async dynmod_go + a hop to a module goroutine and back (scheduler) before the request goes on
  29325 dynmod_redis dynmod_async whose goroutine does an rpm counter update in Redis (INCR+EXPIRE) first
  29323 route_only   no request filter; the same priority_group route and dep_* clusters (their per-try work)
  29308 plain_buf    plain + Envoy's buffer filter (the cost of buffering the body, no module)
"""

import sys, yaml

import os
RUN = os.environ.get("RUN", "/work/dynmod_run/run")
EXTPROC = "extproc_uds"
ALS = "als_uds"

def any_(t, **kw):
    d = {"@type": "type.googleapis.com/" + t}
    d.update(kw)
    return d

def hv(k, v, action="OVERWRITE_IF_EXISTS_OR_ADD"):
    return {"header": {"key": k, "value": v}, "append_action": action}

def grpc(cluster, **md):
    g = {"envoy_grpc": {"cluster_name": cluster}}
    if md:
        g["initial_metadata"] = [{"key": k.replace("_", "-"), "value": v} for k, v in md.items()]
    return g

def request_filter(mode, prefix=""):
    """mode: hb = headers SEND + body BUFFERED (today); body = headers SKIP + body BUFFERED;
    pipe = headers SEND + body STREAMED sent without waiting for the header response."""
    body_only = mode == "body"
    cfg = dict(
        grpc_service=grpc(EXTPROC, x_role={"hb": "req", "body": "reqbody", "pipe": "pipe"}[mode], x_cluster_prefix=prefix),
        message_timeout="5s",
        status_on_error={"code": 503},
        processing_mode={
            "request_header_mode": "SKIP" if body_only else "SEND",
            "request_body_mode": "BUFFERED",
            "request_trailer_mode": "SKIP",
            "response_header_mode": "SKIP",
            "response_body_mode": "NONE",
            "response_trailer_mode": "SKIP",
        },
        allow_mode_override=True,
        mutation_rules={"allow_all_routing": True, "allow_envoy": True},
        metadata_options={"receiving_namespaces": {"untyped": ["llmgate.plan", "llmgate.ctx"]}},
    )
    if mode == "pipe":
        cfg["processing_mode"]["request_body_mode"] = "STREAMED"
        cfg["send_body_without_waiting_for_header_response"] = True
    if mode == "body":
        cfg["processing_request_modifier"] = {
            "name": "envoy.http.ext_proc.processing_request_modifiers.mapped_attribute_builder",
            "typed_config": any_("envoy.extensions.http.ext_proc.processing_request_modifiers.mapped_attribute_builder.v3.MappedAttributeBuilder",
                mapped_request_attributes={"auth": "request.headers['authorization']", "request.path": "request.path",
                                           "request.id": "request.id", "content_type": "request.headers['content-type']"})}
    if mode != "hb":
        cfg["request_attributes"] = ["request.headers", "request.path", "request.method",
                                     "request.host", "request.id", "request.size", "source.address"]
    return {"name": "envoy.filters.http.ext_proc",
            "typed_config": any_("envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor", **cfg)}

def obs_filter():
    return {"name": "obs.ext_proc", "typed_config": any_(
        "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
        grpc_service=grpc(EXTPROC, x_role="obs"),
        observability_mode=True,
        failure_mode_allow=True,
        deferred_close_timeout="2s",
        response_attributes=["request.id", "xds.cluster_name", "response.code", "upstream.address"],
        metadata_options={"forwarding_namespaces": {"untyped": ["llmgate.ctx"]}},
        processing_mode={"request_header_mode": "SKIP", "response_header_mode": "SKIP",
                         "request_body_mode": "NONE", "response_body_mode": "STREAMED",
                         "request_trailer_mode": "SKIP", "response_trailer_mode": "SKIP"})}

def grpc_log(name):
    return {"name": "envoy.access_loggers.http_grpc", "typed_config": any_(
        "envoy.extensions.access_loggers.grpc.v3.HttpGrpcAccessLogConfig",
        common_config={"log_name": name, "transport_api_version": "V3",
                       "grpc_service": grpc(ALS),
                       "buffer_flush_interval": "0.5s", "buffer_size_bytes": 16384},
        additional_response_headers_to_log=["x-litellm-model-id", "retry-after", "x-echo-upstream"],
        additional_request_headers_to_log=["x-llmgate-group"])}

def usage_rules():
    return [{"selectors": [{"key": "usage"}, {"key": k}],
             "on_present": {"metadata_namespace": "llmgate.usage", "key": k, "type": "NUMBER"}}
            for k in ("prompt_tokens", "completion_tokens")]

def native_usage_filters():
    """usage -> dynamic metadata llmgate.usage without ext_proc: SSE streams and JSON bodies."""
    return [
        {"name": "envoy.filters.http.sse_to_metadata", "typed_config": any_(
            "envoy.extensions.filters.http.sse_to_metadata.v3.SseToMetadata",
            response_rules={"content_parser": {"name": "envoy.content_parsers.json", "typed_config": any_(
                "envoy.extensions.content_parsers.json.v3.JsonContentParser",
                rules=[{"rule": r} for r in usage_rules()])}})},
        {"name": "envoy.filters.http.json_to_metadata", "typed_config": any_(
            "envoy.extensions.filters.http.json_to_metadata.v3.JsonToMetadata",
            response_rules={"rules": usage_rules()})},
    ]

def lua_request_filter():
    """in-process stand-in for the request filter: auth, model from the body, group header, plan metadata."""
    return {"name": "envoy.filters.http.lua", "typed_config": any_("envoy.extensions.filters.http.lua.v3.Lua",
        default_source_code={"inline_string": """function envoy_on_request(h)
  if h:headers():get("authorization") ~= "Bearer sk-good" then
    h:respond({[":status"] = "401", ["content-type"] = "application/json"}, '{"error":{"message":"bad key"}}')
    return
  end
  local b = h:body()
  local s = b:getBytes(0, b:length())
  local m = string.match(s, '"model"%s*:%s*"([^"]*)"') or ""
  local plan = {{name = "attempt0", clusters = {{cluster_name = "dep_a", weight = 1}}}}
  if string.find(m, "failfirst", 1, true) then
    plan = {{name = "attempt0", clusters = {{cluster_name = "dep_f", weight = 1}}},
            {name = "attempt1", clusters = {{cluster_name = "dep_b", weight = 1}}}}
  end
  h:streamInfo():dynamicMetadata():set("llmgate.plan", "priority_groups", plan)
  h:headers():replace("x-llmgate-group", "gpt")
  h:headers():replace("x-envoy-max-retries", tostring(#plan - 1))
  h:headers():remove("authorization")
  h:clearRouteCache()
end
"""})}

def file_log(kind):
    fmt = {"k": kind, "id": "%REQ(X-REQUEST-ID)%", "cluster": "%UPSTREAM_CLUSTER%", "code": "%RESPONSE_CODE%",
           "flags": "%RESPONSE_FLAGS%", "dur_ms": "%DURATION%", "ttfb_ms": "%RESPONSE_DURATION%",
           "attempt": "%UPSTREAM_REQUEST_ATTEMPT_COUNT%", "retry_after": "%RESP(RETRY-AFTER)%",
           "upstream_failure": "%UPSTREAM_TRANSPORT_FAILURE_REASON%"}
    if kind == "req":
        fmt.update({"ctx": "%DYNAMIC_METADATA(llmgate.ctx:ctx)%", "usage": "%DYNAMIC_METADATA(llmgate.usage)%"})
    return {"name": "envoy.access_loggers.file", "typed_config": any_(
        "envoy.extensions.access_loggers.file.v3.FileAccessLog", path=RUN + "/outcomes.log",
        log_format={"json_format": fmt})}

def router(upstream_log=False, file_upstream=False):
    cfg = {}
    if file_upstream:
        cfg["upstream_log"] = [file_log("try")]
    if upstream_log:
        cfg["upstream_log"] = [grpc_log("upstream")]
        cfg["upstream_log_options"] = {"flush_upstream_log_on_upstream_stream": False}
    return {"name": "envoy.filters.http.router",
            "typed_config": any_("envoy.extensions.filters.http.router.v3.Router", **cfg)}

def pg_route(prefix):
    return {
        "name": "group:gpt",
        "match": {"prefix": "/", "headers": [{"name": "x-llmgate-group", "string_match": {"exact": "gpt"}}]},
        "route": {
            "inline_cluster_specifier_plugin": {"extension": {
                "name": "envoy.router.cluster_specifier_plugin.priority_group",
                "typed_config": any_("envoy.extensions.router.cluster_specifiers.priority_group.v3.PriorityGroupClusterSpecifier",
                    override_metadata_namespace="llmgate.plan",
                    priority_groups=[{"name": "gpt", "clusters": [
                        {"cluster_name": prefix + "dep_a", "weight": 1},
                        {"cluster_name": prefix + "dep_b", "weight": 1}]}])}},
            "timeout": "0s",
            **({"auto_host_rewrite": True} if prefix in ("l_", "e_", "m_", "g_") else {} if prefix else {"path_rewrite": "%CLUSTER_METADATA(llmgate:path)%", "auto_host_rewrite": True}),
            "retry_policy": {
                "retry_on": "5xx,reset,connect-failure,refused-stream,retriable-headers",
                "num_retries": 2,
                "per_try_timeout": "600s",
                "refresh_cluster_on_retry": True,
                "retriable_headers": [{"name": "x-llmgate-retry", "present_match": True}],
                "retry_back_off": {"base_interval": "0.005s", "max_interval": "8s"},
            },
        },
        # per-deployment headers from the cluster that served the final try
        "response_headers_to_add": [
            hv("x-litellm-model-id", "%CLUSTER_METADATA(llmgate:model_id)%"),
            hv("x-litellm-upstream-cluster", "%UPSTREAM_CLUSTER%"),
            hv("x-litellm-model-api-base", "%UPSTREAM_METADATA(llmgate:api_base)%"),
            hv("x-litellm-attempted-retries", "%UPSTREAM_REQUEST_ATTEMPT_COUNT%"),
        ] if prefix in ("", "l_", "e_", "m_", "g_") else [],
    }

def not_found():
    return {"name": "not_found", "match": {"prefix": "/"},
            "direct_response": {"status": 404, "body": {"inline_string": "{\"error\":{\"message\":\"Route not found\"}}"}}}

def hcm(name, filters, routes, access_log=None):
    h = {
        "stat_prefix": name,
        "codec_type": "AUTO",
        "route_config": {"name": name, "virtual_hosts": [{
            "name": name, "domains": ["*"], "include_request_attempt_count": True, "routes": routes}]},
        "http_filters": filters,
        "request_timeout": "0s",
        "generate_request_id": True,
    }
    if access_log:
        h["access_log"] = access_log
    return h

def listener(name, port, h):
    return {"name": name,
            "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}},
            "per_connection_buffer_limit_bytes": 33554432,
            "filter_chains": [{"filters": [{"name": "envoy.filters.network.http_connection_manager",
                "typed_config": any_("envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager", **h)}]}]}

def upstream_http(filters):
    return {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": any_(
        "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
        explicit_http_config={"http_protocol_options": {}},
        http_filters=filters + [{"name": "envoy.filters.http.upstream_codec",
            "typed_config": any_("envoy.extensions.filters.http.upstream_codec.v3.UpstreamCodec")}])}

def cluster(name, port, filters=None, metadata=None, host_md=None, hostname=None):
    c = {"name": name, "type": "STATIC", "connect_timeout": "1s",
         "per_connection_buffer_limit_bytes": 33554432,
         "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
             "address": {"socket_address": {"address": "127.0.0.1", "port_value": port}}}}]}]}}
    if hostname:
        c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["endpoint"]["hostname"] = hostname
    if host_md:
        c["load_assignment"]["endpoints"][0]["lb_endpoints"][0]["metadata"] = {"filter_metadata": {"llmgate": host_md}}
    if metadata:
        c["metadata"] = {"filter_metadata": {"llmgate": metadata}}
    if filters is not None:
        c["typed_extension_protocol_options"] = upstream_http(filters)
    return c

def attempt_filters(dep):
    return [{"name": "envoy.filters.http.ext_proc", "typed_config": any_(
        "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
        grpc_service=grpc(EXTPROC, x_role="attempt", x_llmgate_deployment=dep),
        message_timeout="5s", status_on_error={"code": 503},
        processing_mode={"request_header_mode": "SEND", "response_header_mode": "SEND",
                         "request_body_mode": "NONE", "response_body_mode": "NONE",
                         "request_trailer_mode": "SKIP", "response_trailer_mode": "SKIP"},
        allow_mode_override=True,
        mutation_rules={"allow_all_routing": True, "allow_envoy": True},
        metadata_options={"forwarding_namespaces": {"untyped": ["llmgate.ctx"]}})}]

def lua_path(path):
    return {"name": "envoy.filters.http.lua", "typed_config": any_(
        "envoy.extensions.filters.http.lua.v3.Lua",
        default_source_code={"inline_string":
            'function envoy_on_request(h)\n  local p = h:headers():get(":path")\n  local q = string.find(p, "?", 1, true)\n'
            '  h:headers():replace(":path", "%s" .. (q and string.sub(p, q) or ""))\nend\n' % path})}

def error_only_attempt(dep):
    """ext_proc injected only when the upstream answered 4xx/5xx (composite + response status matcher)."""
    return {"name": "error_attempt", "typed_config": any_(
        "envoy.extensions.common.matching.v3.ExtensionWithMatcher",
        extension_config={"name": "composite", "typed_config": any_("envoy.extensions.filters.http.composite.v3.Composite")},
        xds_matcher={"matcher_list": {"matchers": [{
            "predicate": {"single_predicate": {
                "input": {"name": "status", "typed_config": any_("envoy.type.matcher.v3.HttpResponseStatusCodeMatchInput")},
                "value_match": {"safe_regex": {"google_re2": {}, "regex": "^[45][0-9][0-9]$"}}}},
            "on_match": {"action": {"name": "errproc", "typed_config": any_(
                "envoy.extensions.filters.http.composite.v3.ExecuteFilterAction",
                typed_config={"name": "envoy.filters.http.ext_proc", "typed_config": any_(
                    "envoy.extensions.filters.http.ext_proc.v3.ExternalProcessor",
                    grpc_service=grpc(EXTPROC, x_role="err", x_llmgate_deployment=dep),
                    message_timeout="5s", status_on_error={"code": 503},
                    processing_mode={"request_header_mode": "SKIP", "response_header_mode": "SEND",
                                     "request_body_mode": "NONE", "response_body_mode": "BUFFERED",
                                     "request_trailer_mode": "SKIP", "response_trailer_mode": "SKIP"},
                    mutation_rules={"allow_all_routing": True, "allow_envoy": True},
                    metadata_options={"forwarding_namespaces": {"untyped": ["llmgate.ctx"]}})})}}}]}})}

def lua_path_model(path, model):
    return {"name": "envoy.filters.http.lua", "typed_config": any_(
        "envoy.extensions.filters.http.lua.v3.Lua",
        default_source_code={"inline_string": """function envoy_on_request(h)
  h:headers():replace(":path", "%s")
  local b = h:body()
  if b ~= nil then
    local s = b:getBytes(0, b:length())
    local n = string.gsub(s, '"model"%%s*:%%s*"[^"]*"', '"model":"%s"', 1)
    b:setBytes(n)
  end
end
""" % (path, model)})}

def static_filters(dep, path, host, secret, sds_path=None, query=None, lua=False, err=False):
    """Per-cluster static work: path, host, credential, x-litellm-* response headers."""
    req = [
        {"remove": "x-llmgate-group"},
    ]
    if dep == "f":  # does a header set by one try's upstream filter reach the next try?
        req.append({"append": hv("x-set-by-f", "yes")})
    hm = {"mutations": {
        "request_mutations": req,
        "response_mutations": [
            {"append": hv("x-litellm-model-id-hm", "%CLUSTER_METADATA(llmgate:model_id)%")},
            {"append": hv("x-litellm-cluster-hm", "%UPSTREAM_CLUSTER%")},
        ]}}
    if query:
        hm["mutations"]["query_parameter_mutations"] = [
            {"append": {"record": {"key": k, "value": v}, "action": "OVERWRITE_IF_EXISTS_OR_ADD"}} for k, v in query.items()]
    cred = {"name": secret}
    if sds_path:
        cred["sds_config"] = {"path_config_source": {"path": sds_path}, "resource_api_version": "V3"}
    return ([error_only_attempt(dep)] if err else []) + ([lua_path(path)] if lua else []) + [
        {"name": "envoy.filters.http.header_mutation",
         "typed_config": any_("envoy.extensions.filters.http.header_mutation.v3.HeaderMutation", **hm)},
        {"name": "envoy.filters.http.credential_injector",
         "typed_config": any_("envoy.extensions.filters.http.credential_injector.v3.CredentialInjector",
            overwrite=True,
            credential={"name": "envoy.http.injected_credentials.generic",
                        "typed_config": any_("envoy.extensions.http.injected_credentials.generic.v3.Generic",
                            credential=cred, header="Authorization", header_value_prefix="Bearer ")})},
    ]


MOD = "llmgate"  # libllmgate.so under ENVOY_DYNAMIC_MODULES_SEARCH_PATH

def dynmod(filter_name, cfg):
    return {"name": "envoy.filters.http.dynamic_modules", "typed_config": any_(
        "envoy.extensions.filters.http.dynamic_modules.v3.DynamicModuleFilter",
        dynamic_module_config={"name": MOD},
        filter_name=filter_name,
        filter_config=any_("google.protobuf.StringValue", value=cfg))}

def attempt_dynmod(dep, path):
    """per-try work in a Go upstream dynamic module filter (replaces header_mutation + credential_injector)."""
    return [dynmod(dep, "mode=attempt;path=" + path)]

def route_only():
    """pg_route without the group-header match: the route and cluster work of the request-filter
    variants (priority_group, path/host rewrite, x-litellm-* headers, dep_a's upstream filters)
    with no request filter at all."""
    r = pg_route("")
    r["match"] = {"prefix": "/"}
    return r

def main():
    xds = os.environ.get("XDS", "127.0.0.1:29390")
    listeners = [
        listener("plain", 29300, hcm("plain", [router()], [{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "plain", "timeout": "0s"}}])),
        listener("pipe_static", 29306, hcm("pipe_static", [request_filter("pipe"), router()], [pg_route(""), not_found()])),
        listener("lua_req", 29315, hcm("lua_req", [lua_request_filter(), router()], [pg_route(""), not_found()])),
        listener("dynmod_go", 29317, hcm("dynmod_go", [dynmod("request", "mode=request;parser=scan;panic_on=panic"), router()], [pg_route(""), not_found()])),
        listener("dynmod_json", 29318, hcm("dynmod_json", [dynmod("request", "mode=request;parser=json"), router()], [pg_route(""), not_found()])),
        listener("dynmod_att", 29319, hcm("dynmod_att", [dynmod("request", "mode=request;parser=scan;prefix=g_"), router()], [pg_route("g_"), not_found()])),
        listener("dynmod_tab", 29320, hcm("dynmod_tab", [dynmod("request", "mode=table;xds=" + xds), router()], [pg_route(""), not_found()])),
        listener("dynmod_noop", 29322, hcm("dynmod_noop", [dynmod("request", "mode=noop"), router()], [{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "plain", "timeout": "0s"}}])),
        listener("plain_buf", 29308, hcm("plain_buf", [{"name": "envoy.filters.http.buffer", "typed_config": any_(
            "envoy.extensions.filters.http.buffer.v3.Buffer", max_request_bytes=33554432)}, router()],
            [{"name": "all", "match": {"prefix": "/"}, "route": {"cluster": "plain", "timeout": "0s"}}])),
        listener("dynmod_async", 29324, hcm("dynmod_async", [dynmod("request", "mode=async"), router()], [pg_route(""), not_found()])),
        listener("dynmod_redis", 29325, hcm("dynmod_redis", [dynmod("request", "mode=redis;redis=127.0.0.1:29379"), router()], [pg_route(""), not_found()])),
        listener("route_only", 29323, hcm("route_only", [router()], [route_only()])),
        listener("dynmod_out", 29321, hcm("dynmod_out", [dynmod("request", "mode=outcomes"), router()], [pg_route(""), not_found()])),
    ]
    md = lambda d, p: {"model_id": d, "api_base": "http://api.%s.local" % d, "path": p}
    clusters = [
        cluster("plain", 29381),
        # OpenAI-style deployment, key from a static secret
        cluster("dep_a", 29381, static_filters("a", "/v1/chat/completions", "api.a.local", "key_a"), md("a", "/v1/chat/completions"), {"api_base": "http://api.a.local"}, "api.a.local"),
        # Azure-style deployment, key delivered over (file-based) SDS, api-version query parameter
        cluster("dep_b", 29382, static_filters("b", "/openai/deployments/gpt-4o/chat/completions", "b.openai.azure.local", "key_b",
                                               sds_path=RUN + "/sds_key_b.yaml", query={"api-version": "2024-10-21"}), md("b", "/openai/deployments/gpt-4o/chat/completions"), {"api_base": "http://api.b.local"}, "b.openai.azure.local"),
        # always 500
        cluster("dep_f", 29383, static_filters("f", "/v1/chat/completions", "api.f.local", "key_f"), md("f", "/f/v1/chat/completions"), {"api_base": "http://api.f.local"}, "api.f.local"),
        # the same deployments with the per-try work in a Go upstream dynamic module
        cluster("g_dep_a", 29381, attempt_dynmod("a", "/v1/chat/completions"), md("a", "/v1/chat/completions"), {"api_base": "http://api.a.local"}, "api.a.local"),
        cluster("g_dep_b", 29382, attempt_dynmod("b", "/openai/deployments/gpt-4o/chat/completions?api-version=2024-10-21"), md("b", "/x"), {"api_base": "http://api.b.local"}, "b.openai.azure.local"),
        cluster("g_dep_f", 29383, attempt_dynmod("f", "/f/v1/chat/completions"), md("f", "/f"), {"api_base": "http://api.f.local"}, "api.f.local"),
    ]
    for name, path in ((EXTPROC, "extproc.sock"),):
        clusters.append({"name": name, "type": "STATIC", "connect_timeout": "1s",
            "circuit_breakers": {"thresholds": [{"priority": "DEFAULT", "max_connections": 100000, "max_pending_requests": 100000,
                                                 "max_requests": 100000, "max_retries": 0}]},
            "typed_extension_protocol_options": {"envoy.extensions.upstreams.http.v3.HttpProtocolOptions": any_(
                "envoy.extensions.upstreams.http.v3.HttpProtocolOptions",
                explicit_http_config={"http2_protocol_options": {
                    "initial_stream_window_size": 16777216, "initial_connection_window_size": 33554432}})},
            "load_assignment": {"cluster_name": name, "endpoints": [{"lb_endpoints": [{"endpoint": {
                "address": {"pipe": {"path": RUN + "/" + path}}}}]}]}})
    boot = {
        "node": {"id": "dynmod", "cluster": "dynmod"},
        "admin": {"address": {"pipe": {"path": RUN + "/admin.sock"}}},
        "static_resources": {
            "listeners": listeners,
            "clusters": clusters,
            "secrets": [
                {"name": "key_a", "generic_secret": {"secret": {"inline_string": "sk-provider-a"}}},
                {"name": "key_f", "generic_secret": {"secret": {"inline_string": "sk-provider-f"}}},
            ],
        },
    }
    yaml.safe_dump(boot, sys.stdout, sort_keys=False, width=200)

main()
