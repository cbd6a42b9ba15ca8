u() { echo "$1=http://127.0.0.1:$2/v1/chat/completions"; }
T="$(u plain 27100),$(u hdr_noop 27114),$(u lua_req 27115),$(u hb_static 27102),$(u pipe_static 27106)"
taskset -c 0 bin/load -t "$T" -pids "$(cat run/pids)" "$@"
