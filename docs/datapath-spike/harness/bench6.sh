u() { echo "$1=http://127.0.0.1:$2/v1/chat/completions"; }
T="$(u direct 27181),$(u plain 27100),$(u lua_req 27115),$(u hdr_noop 27114),$(u today 27101),$(u hb_static 27102),$(u pipe_static 27106),$(u rec 27111),$(u rec_native 27113)"
bin/load -t "$T" -pids "$(cat run/pids)" "$@"
