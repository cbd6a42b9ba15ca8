#!/bin/bash
# usage: with.sh './bench.sh -c 64 -d 1s -rounds 2'  (runs inside with.sh, from $D)
# Every variant is measured interleaved, in the same Envoy, in the same run.
u() { echo "$1=http://127.0.0.1:$2/v1/chat/completions"; }
T="$(u plain 29300),$(u pipe_static 29306),$(u lua_req 29315),$(u dynmod_go 29317),$(u dynmod_json 29318),$(u dynmod_att 29319),$(u dynmod_out 29321),$(u dynmod_noop 29322),$(u plain_buf 29308),$(u route_only 29323),$(u dynmod_async 29324),$(u dynmod_redis 29325)"
${PIN:+taskset -c 0} bin/load -t "${TARGETS:-$T}" -pids "$(cat run/pids)" "$@"
