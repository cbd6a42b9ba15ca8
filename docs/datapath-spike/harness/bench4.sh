u() { echo "$1=http://127.0.0.1:$2/v1/chat/completions"; }
T="$(u plain 27100),$(u today 27101),$(u hb_static 27102),$(u pipe_static 27106),$(u pipe_err 27109),$(u pipe_als 27104),$(u pipe_obs 27105),$(u rec 27111),$(u rec_native 27113),$(u rec_obs 27112)"
taskset -c 0 bin/load -t "$T" -pids "$(cat run/pids)" "$@"
