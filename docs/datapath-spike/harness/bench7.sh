u() { echo "$1=http://127.0.0.1:$2/v1/chat/completions"; }
T="$(u plain 27100),$(u pipe_static 27106),$(u pipe_als 27104),$(u pipe_file 27116),$(u pipe_obs 27105)"
${PIN:+taskset -c 0} bin/load -t "$T" -pids "$(cat run/pids)" "$@"
